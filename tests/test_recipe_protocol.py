"""recipe.protocol: each published fact has one home; YAML values are read from the YAML, not restated."""

from __future__ import annotations

import argparse
import subprocess

import pytest
from conftest import REPO

from data_prep.dapo_math import MAX_PROMPT_TOKENS
from recipe import protocol
from recipe.tools.compose import compose_recipe, recipe_overrides

# Text that only recipe/protocol.py (and the YAML, for hyperparameters) may hold, outside tests and docs.
ONE_HOME = [
    "Please reason step by step",  # the prompts
    "math-ai/aime24",  # hub ids
    'DAPO-Math-17k"',  # the training set's hub id
    "31_744",  # the evaluation budget
    "52.60",  # the published table
    "1.4e11",  # the token budget
]


def python_sources() -> list[str]:
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [f for f in files.split() if not f.startswith("tests/")]


@pytest.mark.parametrize("text", ONE_HOME)
def test_each_published_fact_is_written_in_one_module(text):
    holders = [f for f in python_sources() if text in (REPO / f).read_text()]
    assert holders == ["recipe/protocol.py"]


def test_code_reads_lengths_and_steps_from_the_yaml():
    for base_model in protocol.base_models():
        cfg = compose_recipe(recipe_overrides(base_model))
        assert protocol.training_steps(base_model) == cfg.trainer.total_training_steps
        assert MAX_PROMPT_TOKENS == cfg.data.max_prompt_length == 1024
    assert protocol.training_steps("deepseek") == 4380 and protocol.training_steps("nemotron") == 3440


def test_benchmarks_are_the_nine_of_the_published_table_in_its_order():
    assert protocol.BENCHMARKS == (
        "AIME24", "AIME25", "AMC23", "MATH-500", "Minerva", "Olympiad-Bench", "HMMT25", "BRUMO25", "CMIMC25",
    )  # fmt: skip
    assert set(protocol.TRAIN_VALIDATION) < set(protocol.BENCHMARKS)
    assert all(set(row) == set(protocol.BENCHMARKS) for row in protocol.PUBLISHED.values())
    assert set(protocol.TOKEN_BUDGETS) == set(protocol.base_models())


def test_benchmark_lists_parse_or_name_the_unknown_ones():
    assert protocol.parse_benchmarks("all") == list(protocol.BENCHMARKS)
    assert protocol.parse_benchmarks("AIME24,AMC23") == ["AIME24", "AMC23"]
    with pytest.raises(argparse.ArgumentTypeError, match="AIME26"):
        protocol.parse_benchmarks("AIME24,AIME26")


def test_published_rows_are_found_from_a_path_or_hub_id():
    assert protocol.published_for("hbx/JustRL-DeepSeek-1.5B") == "JustRL-DeepSeek-1.5B"
    assert protocol.published_for("/models/justrl-nemotron-1.5b/") == "JustRL-Nemotron-1.5B"
    assert protocol.published_for("my-model") is None


def test_benchmark_sizes_are_the_published_files_row_counts(shared_benchmarks):
    import pyarrow.parquet as pq

    sizes = {name: pq.read_metadata(shared_benchmarks / name / "test.parquet").num_rows for name in protocol.BENCHMARKS}
    assert sizes == protocol.BENCHMARK_SIZES
