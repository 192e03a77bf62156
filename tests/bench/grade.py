"""Grading throughput on a full run's worth of responses (run by hand: `python tests/bench/grade.py`).

Builds responses shaped like a full evaluation (the protocol's N for each of the nine benchmarks' ground truths, read
from the published benchmark files beside the checkout, ../shared/benchmarks): 12,000+ samples of ~16,000 characters
ending in a boxed answer: half the ground truth, a fifth an equivalent form, the rest wrong, a few pathological. It
grades them with eval.grading on every core and prints the wall time. Target (issue 6): <= 60 s on 2 cores.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from data_prep.benchmarks import main as prepare_benchmarks
from eval.grading import grade_many
from recipe.protocol import EVAL_SAMPLES

SHARED = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"
FILLER = "Let me think about this step by step, checking each case carefully. " * 230


def variant(gt: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return gt
    if roll < 0.7:
        return f"\\frac{{2 \\cdot ({gt})}}{{2}}" if gt.isdigit() else f" {gt} "
    if roll < 0.999:
        return str(rng.randint(0, 999))
    return rng.choice(["100000000!", "10^{10^{10}}", "(" * 3000 + "1" + ")" * 3000])


def main() -> None:
    if not SHARED.exists():
        sys.exit(f"{SHARED} not found")
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        prepare_benchmarks(["--output-dir", tmp, "--input-dir", str(SHARED)])
        pairs = []
        for name, n in EVAL_SAMPLES.items():
            for row in pq.read_table(Path(tmp) / f"{name}.parquet").to_pylist():
                gt = row["reward_model"]["ground_truth"]
                pairs += [(FILLER + f"So the answer is $\\boxed{{{variant(gt, rng)}}}$.", gt) for _ in range(n)]
    start = time.perf_counter()
    results = grade_many(pairs)
    elapsed = time.perf_counter() - start
    correct = sum(ok for _, ok, _ in results)
    timeouts = sum(t for _, _, t in results)
    print(
        f"graded {len(pairs):,} responses in {elapsed:.1f} s ({len(pairs) / elapsed:,.0f}/s); "
        f"{correct:,} correct, {timeouts} timed out (5 s limit)"
    )


if __name__ == "__main__":
    main()
