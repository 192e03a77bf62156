"""The published facts: each has one home, in the room that owns it (reward/sources.py, data_prep/protocol.py,
eval/protocol.py); YAML values are read from the YAML (recipe/protocol.py), not restated."""

from __future__ import annotations

import argparse
import subprocess

import pytest
from conftest import REPO

from data_prep.dapo_math import MAX_PROMPT_TOKENS
from data_prep.protocol import BENCHMARK_SIZES, TRAIN_VALIDATION, parse_benchmarks
from eval.protocol import PUBLISHED, TOKEN_BUDGETS, published_for
from recipe import protocol
from recipe.tools.compose import compose_recipe, recipe_overrides
from reward.sources import BENCHMARKS

# Text that only its home (and the YAML, for hyperparameters) may hold, outside tests and docs.
ONE_HOME = [
    ("\\n\\nPlease reason step by step", "data_prep/protocol.py"),  # the training prompt's suffix
    ("} Please reason step by step", "eval/protocol.py"),  # the evaluation prompt
    ("math-ai/aime24", "data_prep/protocol.py"),  # hub ids
    ('DAPO-Math-17k"', "data_prep/protocol.py"),  # the training set's hub id
    ("31_744", "eval/protocol.py"),  # the evaluation budget
    ("52.60", "eval/protocol.py"),  # the published table
    ("1.4e11", "eval/protocol.py"),  # the token budget
    ('"Olympiad-Bench", "HMMT25"', "reward/sources.py"),  # the benchmarks' names, in order
]


def python_sources() -> list[str]:
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [f for f in files.split() if not f.startswith("tests/")]


@pytest.mark.parametrize(("text", "home"), ONE_HOME)
def test_each_published_fact_is_written_in_one_module(text, home):
    holders = [f for f in python_sources() if text in (REPO / f).read_text()]
    assert holders == [home]


def test_code_reads_lengths_and_steps_from_the_yaml():
    for base_model in protocol.base_models():
        cfg = compose_recipe(recipe_overrides(base_model))
        assert protocol.training_steps(base_model) == cfg.trainer.total_training_steps
        assert MAX_PROMPT_TOKENS == cfg.data.max_prompt_length == 1024
    assert protocol.training_steps("deepseek") == 4380 and protocol.training_steps("nemotron") == 3440
    # the published runs' lengths, as eval states them for the compute budget, are the recipe's
    assert {model: steps for model, (_, _, steps) in TOKEN_BUDGETS.items()} == {
        model: protocol.training_steps(model) for model in protocol.base_models()
    }


def test_benchmarks_are_the_nine_of_the_published_table_in_its_order():
    from data_prep.protocol import HUB_IDS

    assert BENCHMARKS == (
        "AIME24", "AIME25", "AMC23", "MATH-500", "Minerva", "Olympiad-Bench", "HMMT25", "BRUMO25", "CMIMC25",
    )  # fmt: skip
    assert tuple(HUB_IDS) == BENCHMARKS and tuple(BENCHMARK_SIZES) == BENCHMARKS
    assert set(TRAIN_VALIDATION) < set(BENCHMARKS)
    assert all(set(row) == set(BENCHMARKS) for row in PUBLISHED.values())


def test_benchmark_lists_parse_or_name_the_unknown_ones():
    assert parse_benchmarks("all") == list(BENCHMARKS)
    assert parse_benchmarks("AIME24,AMC23") == ["AIME24", "AMC23"]
    with pytest.raises(argparse.ArgumentTypeError, match="AIME26"):
        parse_benchmarks("AIME24,AIME26")


def test_published_rows_are_found_from_a_path_or_hub_id():
    assert published_for("hbx/JustRL-DeepSeek-1.5B") == "JustRL-DeepSeek-1.5B"
    assert published_for("/models/justrl-nemotron-1.5b/") == "JustRL-Nemotron-1.5B"
    assert published_for("my-model") is None


def test_benchmark_sizes_are_the_published_files_row_counts(shared_benchmarks):
    import pyarrow.parquet as pq

    sizes = {name: pq.read_metadata(shared_benchmarks / name / "test.parquet").num_rows for name in BENCHMARKS}
    assert sizes == BENCHMARK_SIZES
