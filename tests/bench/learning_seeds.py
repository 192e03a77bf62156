"""Does the recipe learn, across seeds, beside controls that must not? (run by hand, about 4-5 minutes a run)

    python tests/bench/learning_seeds.py [--seeds 1 2 3] [--controls constant random] [--workdir DIR]

Runs `bash launch/cpu_smoke.sh --learn --seed S` for each seed and `--learn --control C --seed S` for each control
and seed, in one working directory (one toy data set and base model; each variant its own experiment, so a rerun
only runs what is missing), then prints each run's closing `learn:` line and, per variant, the mean and the
seed-to-seed spread (max - min) of the held-out accuracy's rise.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LEARN = re.compile(r"learn: steps=(\d+) val_acc=([\d.]+)->([\d.]+) score=(-?[\d.]+)->(-?[\d.]+) wall=(\d+)s")


def learn(workdir: Path, *args: str) -> tuple[float, float, str]:
    out = subprocess.run(["bash", str(REPO / "launch" / "cpu_smoke.sh"), "--learn", *args], capture_output=True,
                         text=True, env={**os.environ, "WORKDIR": str(workdir)})  # fmt: skip
    last = (out.stdout.strip().splitlines() or ["(no output)"])[-1]
    match = LEARN.fullmatch(last)
    if out.returncode != 0 or not match:
        raise SystemExit(f"{' '.join(args)}: exit {out.returncode}: {last}\n{out.stderr[-2000:]}")
    return float(match.group(2)), float(match.group(3)), last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--controls", nargs="*", default=["constant", "random"])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "justrl-learning-seeds")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    rises: dict[str, list[float]] = {}
    for control in [None, *args.controls]:
        name = control or "recipe"
        for seed in args.seeds:
            extra = ["--seed", str(seed), *(["--control", control] if control else [])]
            a0, a1, line = learn(args.workdir, *extra)
            rises.setdefault(name, []).append(a1 - a0)
            print(f"{name:8s} seed {seed}: {line}", flush=True)
    print("\n| run | seeds | held-out accuracy rise, mean | spread (max - min) |\n|---|---|---|---|")
    for name, values in rises.items():
        print(f"| {name} | {len(values)} | {sum(values) / len(values):+.3f} | {max(values) - min(values):.3f} |")


if __name__ == "__main__":
    main()
