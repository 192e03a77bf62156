"""Did an ablation change anything? A paired comparison of two evaluations of the same benchmarks.

    python -m eval.compare eval_out/justrl eval_out/ablation [--resamples 10000] [--seed 0] [--output compare.md]

Per benchmark and on the average over benchmarks: avg@N of A and of B, the difference B - A, and its 95% confidence
interval from a paired bootstrap over problems (problems resampled with replacement, the same draw for A and B; for
the average, every benchmark resampled in each draw), seeded; then the problems that one solved at least once and the
other never did. Both evaluations must cover the same problems of a benchmark (it is compared on the ones they share).
A benchmark graded in part or not at all in either folder is a warning naming the folder (eval/coverage.py), and one
that is not complete in both is left out of the comparison.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from data_prep.files import atomic_output
from eval.coverage import coverages, incomplete
from eval.curves import per_problem
from eval.run_layout import RunLayout
from eval.store import one_line_errors, read_records
from reward.sources import BENCHMARKS


def accuracies(input_dir: Path, name: str) -> dict[int, float]:
    """{problem index: share of its samples graded correct}."""
    return {i: sum(v) / len(v) for i, v in per_problem(list(read_records(RunLayout(input_dir).grades(name)))).items()}


def paired(a: dict[int, float], b: dict[int, float]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    shared = sorted(a.keys() & b.keys())
    return np.array([a[i] for i in shared]), np.array([b[i] for i in shared]), shared


def bootstrap(pairs: list[tuple[np.ndarray, np.ndarray]], resamples: int, seed: int) -> np.ndarray:
    """The bootstrap distribution of mean over benchmarks of (mean B - mean A), problems resampled per benchmark."""
    rng = np.random.default_rng(seed)
    diffs = np.zeros(resamples)
    for a, b in pairs:
        draws = rng.integers(0, len(a), size=(resamples, len(a)))
        diffs += (b[draws] - a[draws]).mean(axis=1)
    return 100 * diffs / len(pairs)


def compare(dir_a: Path, dir_b: Path, resamples: int = 10_000, seed: int = 0) -> tuple[list[dict], dict | None]:
    """One row per benchmark both graded, and the row of their average (None if they share no benchmark)."""
    rows, pairs = [], []
    complete_a, complete_b = ({n for n, c in coverages(d).items() if c.status == "complete"} for d in (dir_a, dir_b))
    for k, name in enumerate(BENCHMARKS):
        if name not in complete_a & complete_b:
            continue
        acc_a, acc_b = accuracies(dir_a, name), accuracies(dir_b, name)
        a, b, shared = paired(acc_a, acc_b)
        if not shared:
            continue
        pairs.append((a, b))
        low, high = np.percentile(bootstrap([(a, b)], resamples, seed + k), [2.5, 97.5])
        rows.append({
            "benchmark": name, "problems": len(shared), "a": 100 * a.mean(), "b": 100 * b.mean(),
            "diff": 100 * (b.mean() - a.mean()), "low": low, "high": high,
            "only_a": [i for i, x, y in zip(shared, a, b, strict=True) if x > 0 and y == 0],
            "only_b": [i for i, x, y in zip(shared, a, b, strict=True) if y > 0 and x == 0],
        })  # fmt: skip
    if not rows:
        return rows, None
    low, high = np.percentile(bootstrap(pairs, resamples, seed), [2.5, 97.5])
    mean = {key: sum(r[key] for r in rows) / len(rows) for key in ("a", "b", "diff")}
    return rows, {
        "benchmark": "average",
        "problems": sum(r["problems"] for r in rows),
        **mean,
        "low": low,
        "high": high,
    }


def markdown(dir_a: Path, dir_b: Path, rows: list[dict], average: dict) -> str:
    starred = any(r["low"] > 0 or r["high"] < 0 for r in [*rows, average])
    lines = [f"# {dir_b} (B) against {dir_a} (A)", "",
             "| benchmark | problems | A avg@N | B avg@N | B - A | 95% CI | solved only by A | solved only by B |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in [*rows, average]:
        only = [", ".join(map(str, r[k])) if k in r else "" for k in ("only_a", "only_b")]
        sign = " *" if r["low"] > 0 or r["high"] < 0 else ""
        lines.append(f"| {r['benchmark']} | {r['problems']} | {r['a']:.2f} | {r['b']:.2f} | {r['diff']:+.2f}{sign} | "
                     f"[{r['low']:+.2f}, {r['high']:+.2f}] | {only[0]} | {only[1]} |")  # fmt: skip
    note = "* the interval excludes 0. " if starred else ""
    return "\n".join(lines) + f"\n\n{note}Problems are listed by index.\n"


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="the reference evaluation (an eval.generate folder)")
    parser.add_argument("b", type=Path, help="the evaluation compared with it")
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, help="also write the table here (Markdown)")
    args = parser.parse_args(argv)
    for line in (line for folder in (args.a, args.b) for line in incomplete(folder)):
        print(f"warning: {line}; left out of the comparison", file=sys.stderr)
    rows, average = compare(args.a, args.b, args.resamples, args.seed)
    if average is None:
        print(
            f"error: {args.a} and {args.b} have no completely graded benchmark in common; run eval.grade",
            file=sys.stderr,
        )
        return 2
    table = markdown(args.a, args.b, rows, average)
    print(table)
    if args.output:
        with atomic_output(args.output) as tmp:
            Path(tmp).write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
