"""Evaluate every saved checkpoint of a training run: the paper's training curves at the full evaluation budget.

    python -m eval.sweep --run-dir checkpoints/justrl/justrl-deepseek-1.5b --output-dir sweep/deepseek \\
        [--benchmarks AIME24,AIME25,AMC23] [--published JustRL-DeepSeek-1.5B] [eval.generate options ...]

In-training validation (n = 32, T = 0.7, up to 31,744 new tokens, math-verify scoring) covers AIME24/AIME25/AMC23
every 50 steps; this is the offline protocol on every checkpoint (the published template and rule grader, the model
verifier if asked, N = 32), which the published evaluation tables use. For each `global_step_N` under --run-dir, in
step order, this runs eval.generate (the checkpoint converted once with verl's merger) and eval.grade into
OUTPUT/step_<N>, then writes OUTPUT/sweep_<BENCHMARK>.png (avg@N against the step, the published final number
marked) and OUTPUT/sweep.md. It is resumable: a rerun skips what is generated and graded, and picks up new
checkpoints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data_prep.files import atomic_output
from data_prep.protocol import TRAIN_VALIDATION, parse_benchmarks
from eval.checkpoints import evaluable_steps
from eval.coverage import incomplete
from eval.curves import per_problem
from eval.plots import figure, save_png
from eval.protocol import PUBLISHED
from eval.run_layout import RunLayout
from eval.store import read_records


def checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, directory) of every verl checkpoint under `run_dir` with a model, in step order: its actor, or the
    Hugging Face weights the recipe keeps of every saved step (recipe/checkpoint_retention.py)."""
    return [(step, run_dir / f"global_step_{step}") for step in evaluable_steps(run_dir)]


def avg_at_n(output_dir: Path, name: str) -> float | None:
    grades = list(read_records(RunLayout(output_dir).grades(name)))
    if not grades:
        return None
    samples = per_problem(grades)
    return 100 * sum(sum(v) / len(v) for v in samples.values()) / len(samples)


def plot(name: str, points: dict[int, float], published: str | None, path: Path) -> None:
    from matplotlib.ticker import MaxNLocator

    fig, ax = figure()
    ax.plot(list(points), list(points.values()), marker="o", label="this run (avg@N)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    if published and name in PUBLISHED[published]:
        ax.axhline(PUBLISHED[published][name], color="gray", linestyle="--", label=f"{published} (published)")
    ax.set(xlabel="training step", ylabel="avg@N (%)", title=f"{name} over training", ylim=(0, 100))
    ax.legend()
    save_png(fig, path)


def main(argv: list[str] | None = None) -> int:
    from eval.generate import main as generate
    from eval.grade import main as grade

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", required=True, type=Path, help="trainer.default_local_dir of the run")
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--benchmarks", type=parse_benchmarks, default=",".join(TRAIN_VALIDATION))
    parser.add_argument("--published", choices=sorted(PUBLISHED), help="published final numbers to mark")
    parser.add_argument("--protocol", default="published", help="eval.grade --protocol")
    args, generate_args = parser.parse_known_args(argv)
    steps = checkpoints(args.run_dir)
    if not steps:
        print(f"error: no global_step_* checkpoint under {args.run_dir}", file=sys.stderr)
        return 2
    table: dict[int, dict[str, float | None]] = {}
    for step, path in steps:
        out = args.output_dir / f"step_{step}"
        print(f"sweep: step {step} ({path}) -> {out}", flush=True)
        status = generate(["--model", str(path), "--output-dir", str(out), "--benchmarks", ",".join(args.benchmarks),
                           *generate_args])  # fmt: skip
        status = status or grade(["--input-dir", str(out), "--protocol", args.protocol])
        if status:
            return status
        unfinished = incomplete(out)
        if unfinished:  # generate and grade both finished, so this is a folder changed under the sweep
            print("error: " + "; ".join(unfinished), file=sys.stderr)
            return 1
        table[step] = {name: avg_at_n(out, name) for name in args.benchmarks}
    lines = ["| step | " + " | ".join(args.benchmarks) + " |", "|---|" + "---|" * len(args.benchmarks)]
    lines += [f"| {s} | " + " | ".join(f"{v:.2f}" if v is not None else "" for v in row.values()) + " |"
              for s, row in table.items()]  # fmt: skip
    with atomic_output(args.output_dir / "sweep.md") as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")
    for name in args.benchmarks:
        points = {s: row[name] for s, row in table.items() if row[name] is not None}
        plot(name, points, args.published, args.output_dir / f"sweep_{name}.png")
    print("\n".join(lines))
    print(f"written: {args.output_dir / 'sweep.md'} and sweep_<benchmark>.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
