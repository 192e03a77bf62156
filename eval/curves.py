"""pass@k curves of evaluations, one PNG per benchmark: does RL widen what a model can solve at large k?

    python -m eval.curves --input-dir eval_out/base --input-dir eval_out/rl --label base --label JustRL --output-dir D

For k = 1, 2, 4, ... up to N (the samples per problem), the unbiased pass@k (Chen et al. 2021) averaged over the
benchmark's problems, read from each evaluation's grades (eval.grade). This is ProRL's reasoning-boundary analysis:
the base model against a JustRL checkpoint, for example. Writes DIR/passk_<BENCHMARK>.png and prints the table.
An input folder with no grades at all is an error naming it; a benchmark graded in part, or not at all, in one of
them is a warning naming the folder and the benchmark (eval/coverage.py).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from eval.coverage import coverages, incomplete
from eval.plots import figure, save_png
from eval.run_layout import RunLayout
from eval.store import read_records
from reward.sources import BENCHMARKS


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with n samples of which c are correct."""
    from math import comb

    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def per_problem(grades: list[dict]) -> dict[int, list[bool]]:
    samples: dict[int, list[bool]] = defaultdict(list)
    for g in grades:
        samples[g["index"]].append(bool(g["correct"]))
    return samples


def curve(grades: list[dict]) -> dict[int, float]:
    """{k: mean pass@k in %} for k = 1, 2, 4, ... up to the smallest sample count of any problem."""
    samples = per_problem(grades)
    n = min(len(v) for v in samples.values())
    ks = [2**i for i in range(n.bit_length()) if 2**i <= n]
    return {k: 100 * sum(pass_at_k(len(v), sum(v), k) for v in samples.values()) / len(samples) for k in ks}


def curves(input_dirs: list[Path]) -> dict[str, list[dict[int, float] | None]]:
    """{benchmark: [curve of each evaluation, or None where it has no grades]} for benchmarks any of them graded."""
    found: dict[str, list[dict[int, float] | None]] = {}
    for name in BENCHMARKS:
        row = [curve(grades) if (grades := list(read_records(RunLayout(d).grades(name)))) else None for d in input_dirs]
        if any(row):
            found[name] = row
    return found


def plot(name: str, labels: list[str], row: list[dict[int, float] | None], path: Path) -> None:
    fig, ax = figure(6, 4)
    for label, points in zip(labels, row, strict=True):
        if points:
            ax.plot(list(points), list(points.values()), marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set(xlabel="k (samples)", ylabel="pass@k (%)", title=f"{name}: pass@k", ylim=(0, 100))
    ax.legend()
    save_png(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input-dir", action="append", required=True, type=Path, help="an eval.generate folder")
    parser.add_argument("--label", action="append", help="a name per --input-dir (default: the folder name)")
    parser.add_argument("--output-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    labels = args.label or [d.name for d in args.input_dir]
    if len(labels) != len(args.input_dir):
        parser.error("give one --label per --input-dir")
    empty = [str(d) for d in args.input_dir if not any(c.graded for c in coverages(d).values())]
    if empty:
        print(f"error: no grades under {', '.join(empty)}; run eval.grade first", file=sys.stderr)
        return 2
    for line in (line for d in args.input_dir for line in incomplete(d)):
        print(f"warning: {line}; its curve covers the graded samples only, or is missing", file=sys.stderr)
    found = curves(args.input_dir)
    for name, row in found.items():
        path = args.output_dir / f"passk_{name}.png"
        plot(name, labels, row, path)
        for label, points in zip(labels, row, strict=True):
            if points:
                print(f"{name} {label}: " + ", ".join(f"pass@{k}={v:.1f}" for k, v in points.items()))
        print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
