"""The data sources the reward tells apart: the `data_source` of every row data_prep writes, which verl hands the
reward with each response. Defined here, the lowest room, so that data_prep, eval and recipe all name them alike."""

from __future__ import annotations

TRAIN_SOURCE = "math_dapo"  # DAPO-Math-17k's rows (training, and the CPU task's held-out problems)
# The nine evaluation benchmarks, in the published table's order (their files: data_prep.protocol.HUB_IDS).
BENCHMARKS = ("AIME24", "AIME25", "AMC23", "MATH-500", "Minerva", "Olympiad-Bench", "HMMT25", "BRUMO25", "CMIMC25")
