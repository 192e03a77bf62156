"""data_prep.questa: QuestA's hinted prompts exactly as its add_prefix.py builds them, in verl's schema."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from data_prep.questa import hinted_prompt, main

SOLUTION = "First add 3 and 4 to get 7. So the answer is \\boxed{7}."
ROW = {"problem": "What is 3 + 4?", "generation": "<think>3 plus 4...</think>" + SOLUTION, "answer": "7"}


def test_the_hint_is_the_first_ratio_percent_of_the_solution_after_the_last_think():
    prompt, solution = hinted_prompt(ROW["problem"], ROW["generation"], 50)
    assert solution == SOLUTION
    assert prompt == "What is 3 + 4?\n\n## Hint." + SOLUTION[: int(len(SOLUTION) * 0.5)]
    assert hinted_prompt(ROW["problem"], "<think>a</think>b</think>" + SOLUTION, 25)[1] == SOLUTION  # the last one


def test_a_quoted_generation_loses_its_quotes_and_a_short_hint_is_no_hint():
    assert hinted_prompt("P", '"<think>x</think>' + SOLUTION + '"', 100) == ("P\n\n## Hint." + SOLUTION, SOLUTION)
    assert hinted_prompt("P", "<think>x</think>" + SOLUTION, 10)[0] == "P\n\n"  # 5 characters: under 10


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_rows_whose_answer_is_not_in_the_solution_are_dropped_and_counted(tmp_path, capsys):
    source, out = tmp_path / "questa.jsonl", tmp_path / "questa_50.parquet"
    write_jsonl(source, [ROW, {**ROW, "answer": "8"}, {**ROW, "problem": "Again: what is 3 + 4?"}])
    assert main(["--input", str(source), "--ratio", "50", "--output", str(out)]) == 0
    assert "rows read: 3; dropped (answer not in the solution): 1; rows written: 2" in capsys.readouterr().out
    rows = pq.read_table(out).to_pylist()
    assert [r["prompt"][0]["content"] for r in rows] == [
        hinted_prompt(r["problem"], r["generation"], 50)[0] for r in (ROW, {**ROW, "problem": "Again: what is 3 + 4?"})
    ]
    assert {r["data_source"] for r in rows} == {"math_dapo"}
    assert rows[0]["reward_model"] == {"ground_truth": "7", "style": "rule"}
    assert rows[1]["extra_info"] == {"index": 2, "split": "train", "hint_ratio": 50}


@pytest.mark.parametrize(
    ("rows", "suffix", "message"),
    [([{"problem": "P", "answer": "7"}], "jsonl", "missing column(s) ['generation']"),
     ([ROW, {**ROW, "answer": 7}], "jsonl", "changed from string to number in row 1"),
     ([{**ROW, "answer": 7}], "parquet", "row 0: column 'answer' is int, expected a string")],
)  # fmt: skip
def test_bad_input_is_an_error_naming_the_file_and_row_and_writes_nothing(tmp_path, capsys, rows, suffix, message):
    import pyarrow as pa

    source, out = tmp_path / f"bad.{suffix}", tmp_path / "out.parquet"
    if suffix == "jsonl":
        write_jsonl(source, rows)
    else:
        pq.write_table(pa.Table.from_pylist(rows), source)
    assert main(["--input", str(source), "--ratio", "50", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: {source}" in err and message in err
    assert not out.exists()


def test_the_hinted_rows_load_in_verls_dataset(tmp_path, tiny_tokenizer):
    from conftest import verl_config
    from verl.trainer.ppo.utils import create_rl_dataset

    source, out = tmp_path / "questa.jsonl", tmp_path / "questa_25.parquet"
    write_jsonl(source, [ROW])
    assert main(["--input", str(source), "--ratio", "25", "--output", str(out)]) == 0
    dataset = create_rl_dataset([str(out)], verl_config("data.max_prompt_length=1024").data, tiny_tokenizer, None)
    assert dataset[0]["raw_prompt"][0]["content"].startswith("What is 3 + 4?\n\n## Hint.First add")
