"""JustRL's published protocol: every fact that code needs, defined once (see recipe/README.md for the sources).

Training data, validation and offline evaluation share these names, texts and numbers: data_prep writes them,
the reward dispatches on them, eval generates, grades and reports with them. Hyperparameters that verl reads live in
the YAML (recipe/justrl.yaml, recipe/base_model/*.yaml); code that needs one reads it from there
(`recipe_value`, `training_steps`) instead of restating it. This module imports nothing heavy, so that Ray reward
workers can import it cheaply.
"""

from __future__ import annotations

import argparse
from functools import cache
from pathlib import Path
from typing import Any

RECIPE_DIR = Path(__file__).resolve().parent

# --- data sources --------------------------------------------------------------------------------------------------
# The `data_source` names written into the parquets; the reward dispatches on them.
TRAIN_SOURCE = "math_dapo"
TRAIN_HUB_ID = "BytedTsinghua-SIA/DAPO-Math-17k"

# The nine evaluation benchmarks, in the published table's order, with the hub ids they are loaded from by default.
HUB_IDS = {
    "AIME24": "math-ai/aime24",
    "AIME25": "math-ai/aime25",
    "AMC23": "math-ai/amc23",
    "MATH-500": "HuggingFaceH4/MATH-500",
    "Minerva": "math-ai/minervamath",
    "Olympiad-Bench": "math-ai/olympiadbench",
    "HMMT25": "MathArena/hmmt_feb_2025",
    "BRUMO25": "MathArena/brumo_2025",
    "CMIMC25": "MathArena/cmimc_2025",
}
BENCHMARKS = tuple(HUB_IDS)
# The three validated during training (JustRL's training script: data.val_files).
TRAIN_VALIDATION = ("AIME24", "AIME25", "AMC23")

# --- prompts -------------------------------------------------------------------------------------------------------
# JustRL's data loader appended this to the first user message, for training and for in-training validation.
# Upstream verl has no such option, so data_prep writes it into the parquet.
TRAIN_PROMPT_SUFFIX = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."
# The offline evaluation's one user message. Note the single space before "Please" (training uses two newlines).
EVAL_PROMPT_TEMPLATE = "{problem} Please reason step by step, and put your final answer within \\boxed{{}}."

# --- offline evaluation ---------------------------------------------------------------------------------------------
EVAL_TEMPERATURE = 0.7
EVAL_TOP_P = 0.9
EVAL_MAX_NEW_TOKENS = 31_744
# N independent samples per problem; the score is avg@N, the mean accuracy over all samples.
EVAL_SAMPLES = {name: 32 for name in BENCHMARKS} | {"MATH-500": 4, "Minerva": 4, "Olympiad-Bench": 4}
# Problems in each published benchmark file (the published evaluation's data/<NAME>/test.parquet): fewer is not it.
BENCHMARK_SIZES = {"AIME24": 30, "AIME25": 30, "AMC23": 40, "MATH-500": 500, "Minerva": 272, "Olympiad-Bench": 674,
                   "HMMT25": 30, "BRUMO25": 30, "CMIMC25": 40}  # fmt: skip

# avg@N of the published table, in BENCHMARKS order.
PUBLISHED: dict[str, dict[str, float]] = {
    name: dict(zip(BENCHMARKS, scores, strict=True))
    for name, scores in {
        "DeepSeek-R1-Distill-Qwen-1.5B": (29.90, 22.40, 63.82, 84.90, 34.65, 45.95, 13.44, 30.94, 12.89),
        "JustRL-DeepSeek-1.5B": (52.60, 38.75, 91.02, 91.65, 51.47, 67.99, 21.98, 52.71, 25.63),
        "OpenMath-Nemotron-1.5B": (58.75, 48.44, 90.55, 92.40, 26.93, 71.70, 30.10, 61.67, 30.08),
        "JustRL-Nemotron-1.5B": (69.69, 62.92, 96.02, 94.15, 30.24, 76.59, 40.63, 66.88, 41.72),
        "ProRL-V2": (51.87, 35.73, 88.75, 92.00, 49.03, 67.84, 19.38, 47.29, 25.86),
        "QuestA-Nemotron-1.5B": (71.56, 62.08, 93.44, 92.95, 32.08, 72.28, 40.94, 67.50, 41.48),
    }.items()
}

# --- training dynamics ----------------------------------------------------------------------------------------------
ENTROPY_BAND = (1.2, 1.4)  # DeepSeek base: policy entropy oscillates in this band, no drift, no collapse
# Published token budgets (upper bounds: steps x 256 prompts x 8 samples x 16k), per base model overlay.
TOKEN_BUDGETS = {"deepseek": ("JustRL-DeepSeek-1.5B", 1.4e11), "nemotron": ("JustRL-Nemotron-1.5B", 1.1e11)}


def eval_prompt(problem: str) -> str:
    return EVAL_PROMPT_TEMPLATE.format(problem=problem)


def published_for(model: str) -> str | None:
    """The published row matching a model path or hub id (case-insensitive, by its last path part), if any."""
    tail = model.rstrip("/").split("/")[-1].lower()
    return next((name for name in PUBLISHED if name.lower() == tail), None)


def parse_benchmarks(text: str) -> list[str]:
    """`all` or a comma-separated subset of BENCHMARKS, as an argparse `type=`; names the unknown ones."""
    names = list(BENCHMARKS) if text == "all" else [n for n in text.split(",") if n]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown benchmarks {unknown or text!r}; known: {', '.join(BENCHMARKS)}")
    return names


@cache
def _yaml(relative: str) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.load(RECIPE_DIR / relative)


def recipe_value(key: str, overlay: str = "justrl.yaml") -> Any:
    """A literal value of the recipe's YAML (e.g. `data.max_prompt_length`), read from the file, not restated."""
    from omegaconf import OmegaConf

    value = OmegaConf.select(_yaml(overlay), key, throw_on_missing=True)
    if value is None:
        raise KeyError(f"recipe/{overlay} sets no {key}")
    return value


def base_models() -> list[str]:
    """The model overlays in recipe/base_model/ (select with `base_model=NAME`)."""
    return sorted(p.stem for p in (RECIPE_DIR / "base_model").glob("*.yaml"))


def training_steps(base_model: str) -> int:
    """`trainer.total_training_steps` of a model overlay: the published run's length."""
    return int(recipe_value("trainer.total_training_steps", f"base_model/{base_model}.yaml"))
