"""Time and peak memory of preparing a full-size DAPO-Math-17k (run by hand: `python tests/bench/data_prep_speed.py`).

Builds a synthetic file shaped like the published one (a block of 17,917 rows, about 17,398 distinct problems,
repeated 100 times: 1,791,700 rows, DAPO's instruction text in every prompt), then runs `python -m data_prep.dapo_math`
on it in a subprocess, keep-all and --dedup, and prints each run's wall time and peak resident memory.
Target (issue 3): <= 60 s and <= 4 GB on a 2-core machine.
"""

from __future__ import annotations

import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

BLOCK, REPEATS, DISTINCT = 17_917, 100, 17_398
DAPO_HEAD = (
    "Solve the following math problem step by step. The last line of your response should be of the form "
    "Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\n"
)
DAPO_TAIL = '\n\nRemember to put your answer on its own line after "Answer:".'


def synthetic(path: Path) -> None:
    rng = random.Random(0)
    problems = [
        DAPO_HEAD
        + " ".join(rng.choice(["Let", "$x$", "be", "an", "integer", "such", "that"]) for _ in range(60))
        + f" (#{i})"
        + DAPO_TAIL
        for i in range(DISTINCT)
    ]
    block = [problems[i % DISTINCT] for i in range(BLOCK)]
    answers = [str(rng.randint(0, 10_000)) for _ in range(BLOCK)]
    table = pa.table(
        {
            "data_source": ["math_dapo"] * BLOCK,
            "prompt": [[{"content": p, "role": "user"}] for p in block],
            "ability": ["MATH"] * BLOCK,
            "reward_model": [{"ground_truth": a, "style": "rule-lighteval/MATH_v2"} for a in answers],
            "extra_info": [{"index": f"id-{i}"} for i in range(BLOCK)],
        }
    )
    with pq.ParquetWriter(path, table.schema) as writer:
        for _ in range(REPEATS):
            writer.write_table(table)


def run(args: list[str]) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "data_prep.dapo_math", *args], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    peak_gb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024**2
    if out.returncode:
        raise SystemExit(out.stderr)
    print(f"{' '.join(args[4:]) or 'keep-all':<10} {elapsed:6.1f} s  peak RSS {peak_gb:.2f} GB  | {out.stdout.strip()}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "dapo_full.parquet", Path(tmp) / "out.parquet"
        start = time.perf_counter()
        synthetic(src)
        rows = pq.ParquetFile(src).metadata.num_rows
        print(
            f"synthetic source: {rows:,} rows, {src.stat().st_size / 1e6:.0f} MB ({time.perf_counter() - start:.1f} s)"
        )
        run(["--input", str(src), "--output", str(dst)])
        run(["--input", str(src), "--output", str(dst), "--dedup"])


if __name__ == "__main__":
    main()
