"""data_prep.benchmarks on JustRL's published files (../shared/benchmarks, a mirror of them): both schemas, clean
answers, the in-training validation sets as the published preprocess.py built them, checksums, verl's loader."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from conftest import verl_config
from verl.trainer.ppo.utils import create_rl_dataset

from data_prep.benchmarks import clean_ground_truth, main
from data_prep.protocol import TRAIN_PROMPT_SUFFIX, TRAIN_VALIDATION
from reward.sources import BENCHMARKS

EXPECTED_ROWS = {
    "AIME24": 30,
    "AIME25": 30,
    "AMC23": 40,
    "MATH-500": 500,
    "Minerva": 272,
    "Olympiad-Bench": 674,
    "BRUMO25": 30,
    "CMIMC25": 40,
    "HMMT25": 30,
}


@pytest.fixture
def prepared(prepared_benchmarks):
    return prepared_benchmarks


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\\boxed{204}", "204"),
        ("$2^{1009}$", "2^{1009}"),
        ("$(1,8,19), (2,7,13)$", "(1,8,19), (2,7,13)"),
        (" 27 ", "27"),
        ("\\boxed{1}, \\boxed{2}", "\\boxed{1}, \\boxed{2}"),  # not one whole box: left alone
        ("\\$5", "\\$5"),  # an escaped dollar sign is part of the answer
    ],
)
def test_clean_ground_truth(raw, clean):
    assert clean_ground_truth(raw) == clean


def test_all_nine_written_with_their_row_counts(prepared):
    for name in BENCHMARKS:
        rows = pq.read_table(prepared / f"{name}.parquet").to_pylist()
        assert len(rows) == EXPECTED_ROWS[name], name
        assert {r["data_source"] for r in rows} == {name}


def test_ground_truths_are_clean(prepared):
    aime24 = pq.read_table(prepared / "AIME24.parquet").to_pylist()
    assert aime24[0]["reward_model"]["ground_truth"] == "204"
    olympiad = pq.read_table(prepared / "Olympiad-Bench.parquet").to_pylist()
    assert not any("$" in r["reward_model"]["ground_truth"] for r in olympiad)
    assert olympiad[2]["reward_model"]["ground_truth"] == "2^{1009}"


def test_matharena_schema_keeps_the_raw_problem(prepared):
    brumo = pq.read_table(prepared / "BRUMO25.parquet").to_pylist()
    first = brumo[0]
    assert first["reward_model"]["ground_truth"] == "2^{99}"
    assert first["extra_info"]["problem"].startswith("One hundred concentric circles")
    assert first["prompt"] == [{"content": first["extra_info"]["problem"] + TRAIN_PROMPT_SUFFIX, "role": "user"}]


def test_validation_files_load_together_in_verl(prepared, tiny_tokenizer):
    files = [str(prepared / "validation" / f"{n}.parquet") for n in TRAIN_VALIDATION]
    config = verl_config("data.max_prompt_length=1024")
    dataset = create_rl_dataset(files, config.data, tiny_tokenizer, None, is_train=False)
    assert len(dataset) == 100
    item = dataset[0]
    assert item["data_source"] == "AIME24"
    assert item["raw_prompt"][0]["content"].endswith(TRAIN_PROMPT_SUFFIX)


def test_unknown_benchmark_is_rejected(tmp_path):
    with pytest.raises(SystemExit):
        main(["--output-dir", str(tmp_path), "--benchmarks", "AIME24,GSM8K"])


def test_validation_sets_are_the_published_json_as_its_preprocess_built_them(prepared, shared_benchmarks):
    """train/data/preprocess.py: one user message with `prompt`, `ground_truth = str(answer)`, data_source = NAME; the
    fork's loader appended the training suffix. These texts differ from the evaluation copies in places."""
    import json

    for name in TRAIN_VALIDATION:
        published = json.loads((shared_benchmarks / name / "validation.json").read_text())
        rows = pq.read_table(prepared / "validation" / f"{name}.parquet").to_pylist()
        assert [r["prompt"] for r in rows] == [[{"content": p["prompt"] + TRAIN_PROMPT_SUFFIX, "role": "user"}]
                                              for p in published]  # fmt: skip
        assert [r["reward_model"]["ground_truth"] for r in rows] == [str(p["answer"]) for p in published]
        assert {r["data_source"] for r in rows} == {name}
        assert rows[3]["extra_info"]["published_index"] == f"{name}-3"
    evaluation = {r["prompt"][0]["content"] for r in pq.read_table(prepared / "AIME24.parquet").to_pylist()}
    validation = {
        r["prompt"][0]["content"] for r in pq.read_table(prepared / "validation" / "AIME24.parquet").to_pylist()
    }
    assert len(evaluation - validation) == 12  # of the 30 AIME24 statements, in another order too


def test_a_file_whose_checksum_is_not_the_published_one_is_an_error_naming_it(tmp_path, shared_benchmarks, capsys):
    import shutil

    mirror = tmp_path / "mirror"
    shutil.copytree(shared_benchmarks / "AIME24", mirror / "AIME24")
    with (mirror / "AIME24" / "validation.json").open("a") as f:
        f.write(" ")
    assert main(["--output-dir", str(tmp_path / "out"), "--mirror", str(mirror), "--benchmarks", "AIME24"]) == 2
    err = capsys.readouterr().err
    assert (
        f"{mirror}/AIME24/validation.json: sha256 " in err
        and "is not that of JustRL's train/data/AIME24/test.json" in err
    )
    assert not (tmp_path / "out" / "validation" / "AIME24.parquet").exists()


def test_the_default_source_is_justrls_repository_at_the_pinned_commit(tmp_path, monkeypatch, capsys):
    import urllib.request

    from data_prep import published

    asked = []

    def unreachable(url, timeout):
        asked.append(url)
        raise OSError("no network here")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    assert main(["--output-dir", str(tmp_path), "--benchmarks", "AIME25"]) == 2
    assert asked == [f"https://raw.githubusercontent.com/thunlp/JustRL/{published.COMMIT}/data/AIME25/test.parquet"]
    assert "pass --mirror DIR" in capsys.readouterr().err
