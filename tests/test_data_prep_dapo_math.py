"""data_prep.dapo_math: JustRL's prompt byte for byte, dedup, filtering, errors, atomic writes, verl's loader."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
from conftest import verl_config
from verl.trainer.ppo.utils import create_rl_dataset

from data_prep.dapo_math import main
from data_prep.protocol import TRAIN_PROMPT_SUFFIX

SUFFIX_BYTES = b"\n\nPlease reason step by step, and put your final answer within \\boxed{}."
DAPO_INSTRUCTION = 'Solve it.\n\nRemember to put your answer on its own line after "Answer:".'


def dapo_rows(block: int = 5, repeats: int = 3) -> list[dict]:
    rows = []
    for _ in range(repeats):
        for i in range(block):
            prompt = [{"content": f"Problem {i}: what is {i}+{i}? {DAPO_INSTRUCTION}", "role": "user"}]
            if i == 0:
                prompt = [{"content": "You are helpful.", "role": "system"}, *prompt]
            rows.append(
                {
                    "data_source": "math_dapo",
                    "prompt": prompt,
                    "ability": "MATH",
                    "reward_model": {"ground_truth": str(2 * i), "style": "rule-lighteval/MATH_v2"},
                    "extra_info": {"index": f"uuid-{i}"},
                }
            )
    return rows


def write_source(tmp_path, rows, name="src.parquet"):
    path = tmp_path / name
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_suffix_is_byte_exact():
    assert TRAIN_PROMPT_SUFFIX.encode() == SUFFIX_BYTES


def test_each_row_is_one_user_message_with_the_suffix(tmp_path, capsys):
    src, out = write_source(tmp_path, dapo_rows()), tmp_path / "out.parquet"
    assert main(["--input", str(src), "--output", str(out)]) == 0
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == 15
    first = rows[0]
    assert first["data_source"] == "math_dapo"
    assert first["prompt"] == [
        {"content": f"Problem 0: what is 0+0? {DAPO_INSTRUCTION}" + TRAIN_PROMPT_SUFFIX, "role": "user"}
    ]  # the system message is dropped
    assert first["reward_model"] == {"ground_truth": "0", "style": "rule"}
    assert [r["extra_info"]["index"] for r in rows] == list(range(15))
    assert (
        "rows read: 15; duplicates dropped: 0; over 1024 tokens dropped: 0; rows written: 15" in capsys.readouterr().out
    )


def test_dedup_keeps_the_first_row_of_each_problem(tmp_path, capsys):
    src, out = write_source(tmp_path, dapo_rows(block=5, repeats=4)), tmp_path / "out.parquet"
    assert main(["--input", str(src), "--output", str(out), "--dedup"]) == 0
    rows = pq.read_table(out).to_pylist()
    assert [r["extra_info"]["index"] for r in rows] == [0, 1, 2, 3, 4]
    assert "duplicates dropped: 15; over 1024 tokens dropped: 0; rows written: 5" in capsys.readouterr().out


def test_jsonl_input_gives_the_same_rows(tmp_path):
    rows = dapo_rows()
    jsonl = tmp_path / "src.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["--input", str(jsonl), "--output", str(tmp_path / "a.parquet")]) == 0
    assert main(["--input", str(write_source(tmp_path, rows)), "--output", str(tmp_path / "b.parquet")]) == 0
    assert pq.read_table(tmp_path / "a.parquet").equals(pq.read_table(tmp_path / "b.parquet"))


def test_tokenizer_drops_prompts_over_1024_tokens(tmp_path, tiny_model_dir, capsys):
    rows = dapo_rows(block=3, repeats=2)
    rows[1]["prompt"][0]["content"] = "x " * 3000
    src, out = write_source(tmp_path, rows), tmp_path / "out.parquet"
    assert main(["--input", str(src), "--output", str(out), "--tokenizer", tiny_model_dir]) == 0
    assert pq.read_table(out).num_rows == 5
    assert "over 1024 tokens dropped: 1; rows written: 5" in capsys.readouterr().out


def test_missing_column_names_file_and_column(tmp_path, capsys):
    rows = [{k: v for k, v in r.items() if k != "reward_model"} for r in dapo_rows()]
    src, out = write_source(tmp_path, rows), tmp_path / "out.parquet"
    assert main(["--input", str(src), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(src) in err and "missing column 'reward_model'" in err
    assert not out.exists()


def test_non_string_ground_truth_is_an_error(tmp_path, capsys):
    rows = dapo_rows()
    for r in rows:
        r["reward_model"]["ground_truth"] = int(r["reward_model"]["ground_truth"])
    assert main(["--input", str(write_source(tmp_path, rows)), "--output", str(tmp_path / "o.parquet")]) == 2
    assert "'reward_model.ground_truth' has type int64, expected string" in capsys.readouterr().err


def test_row_without_user_message_is_named_and_nothing_is_written(tmp_path, capsys):
    rows = dapo_rows(block=5, repeats=1)
    rows[3]["prompt"] = [{"content": "only a system prompt", "role": "system"}]
    out = tmp_path / "out.parquet"
    out.write_bytes(b"previous good file")
    assert main(["--input", str(write_source(tmp_path, rows)), "--output", str(out)]) == 2
    assert "row 3: column 'prompt' has no user message" in capsys.readouterr().err
    assert out.read_bytes() == b"previous good file"  # the old file survives a failed run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet", "src.parquet"]  # no temporary left


def test_verl_dataset_loads_the_output_and_sees_the_exact_prompt(tmp_path, tiny_tokenizer):
    src, out = write_source(tmp_path, dapo_rows()), tmp_path / "out.parquet"
    assert main(["--input", str(src), "--output", str(out)]) == 0
    config = verl_config(f"data.train_files={out}", "data.max_prompt_length=1024", "data.filter_overlong_prompts=True")
    dataset = create_rl_dataset([str(out)], config.data, tiny_tokenizer, None, is_train=True)
    assert len(dataset) == 15
    item = dataset[1]
    assert item["raw_prompt"] == [
        {"content": f"Problem 1: what is 1+1? {DAPO_INSTRUCTION}" + TRAIN_PROMPT_SUFFIX, "role": "user"}
    ]
    assert item["data_source"] == "math_dapo"
    assert item["reward_model"]["ground_truth"] == "2"
    assert item["index"] == 1
