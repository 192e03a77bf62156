"""The published data: where the training set and the nine benchmarks come from, how large each benchmark is, the
three validated during training, and the prompt suffix JustRL's data loader appended (see recipe/README.md for the
sources). The source names themselves are the reward's (reward/sources.py)."""

from __future__ import annotations

import argparse

from reward.sources import BENCHMARKS

TRAIN_HUB_ID = "BytedTsinghua-SIA/DAPO-Math-17k"
# The hub ids the nine benchmarks are loaded from by default.
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
# The three validated during training (JustRL's training script: data.val_files).
TRAIN_VALIDATION = ("AIME24", "AIME25", "AMC23")
# Problems in each published benchmark file (the published evaluation's data/<NAME>/test.parquet): fewer is not it.
BENCHMARK_SIZES = {"AIME24": 30, "AIME25": 30, "AMC23": 40, "MATH-500": 500, "Minerva": 272, "Olympiad-Bench": 674,
                   "HMMT25": 30, "BRUMO25": 30, "CMIMC25": 40}  # fmt: skip
# JustRL's data loader appended this to the first user message, for training and for in-training validation.
# Upstream verl has no such option, so data_prep writes it into the parquet.
TRAIN_PROMPT_SUFFIX = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."


def parse_benchmarks(text: str) -> list[str]:
    """`all` or a comma-separated subset of BENCHMARKS, as an argparse `type=`; names the unknown ones."""
    names = list(BENCHMARKS) if text == "all" else [n for n in text.split(",") if n]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown benchmarks {unknown or text!r}; known: {', '.join(BENCHMARKS)}")
    return names
