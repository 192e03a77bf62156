"""data_prep.benchmarks on the published files (../shared/benchmarks): both schemas, clean answers, verl's loader."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from conftest import verl_config
from verl.trainer.ppo.utils import create_rl_dataset

from data_prep.benchmarks import clean_ground_truth, main
from recipe.protocol import BENCHMARKS, TRAIN_PROMPT_SUFFIX, TRAIN_VALIDATION

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
    files = [str(prepared / f"{n}.parquet") for n in TRAIN_VALIDATION]
    config = verl_config("data.max_prompt_length=1024")
    dataset = create_rl_dataset(files, config.data, tiny_tokenizer, None, is_train=False)
    assert len(dataset) == 100
    item = dataset[0]
    assert item["data_source"] == "AIME24"
    assert item["raw_prompt"][0]["content"].endswith(TRAIN_PROMPT_SUFFIX)


def test_unknown_benchmark_is_rejected(tmp_path):
    with pytest.raises(SystemExit):
        main(["--output-dir", str(tmp_path), "--benchmarks", "AIME24,GSM8K"])
