"""Start-up, per-step seconds, wall time and peak memory of `bash launch/cpu_smoke.sh` (run by hand).

    python tests/bench/cpu_smoke_speed.py [--before REV] [smoke arguments: --learn, trainer.total_training_steps=4]

Runs the smoke of this checkout and, with `--before REV`, the same smoke of another revision of the repository
(checked out in a scratch git worktree and put first on PYTHONPATH, so that verl's Ray workers import its code), one
after the other in one invocation, and prints a table side by side: seconds until the first training step began
(start-up: the model and data, the preflight, Ray, verl's workers and the first validation), the mean seconds of a
training step and of its generation (verl's `timing_s/step`, `timing_s/gen`), the whole wall time, and the peak memory
above the idle baseline (the machine's used memory sampled every 0.5 s: the trainer is a tree of Ray processes).
Target (issue 24): the whole `--learn` run under 5 minutes on an idle 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
STEP_LINE = re.compile(r"(?<![\w/])step:(\d+) - .*timing_s/step:(?:np\.float64\()?([\d.]+)")
GEN = re.compile(r"timing_s/gen:(?:np\.float64\()?([\d.]+)")


def measure(repo: Path, args: list[str]) -> dict[str, float | str]:
    baseline = psutil.virtual_memory().used
    env = {**os.environ, "PYTHONPATH": f"{repo}:{os.environ.get('PYTHONPATH', '')}"}
    start = time.monotonic()
    first_step_end = None
    steps, gens, peak, last = [], [], 0, "(no output)"
    with tempfile.TemporaryDirectory(prefix="justrl-bench-") as workdir:
        proc = subprocess.Popen(["bash", str(repo / "launch" / "cpu_smoke.sh"), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env={**env, "WORKDIR": workdir})  # fmt: skip
        for line in proc.stdout:
            peak = max(peak, psutil.virtual_memory().used - baseline)
            if match := STEP_LINE.search(line):
                steps.append(float(match.group(2)))
                if first_step_end is None:
                    first_step_end = time.monotonic() - start
                gens += [float(g) for g in GEN.findall(line)[:1]]
            if line.strip():
                last = line.strip()
        proc.wait()
    wall = time.monotonic() - start
    return {
        "exit": proc.returncode,
        "start-up s": (first_step_end - steps[0]) if steps else float("nan"),
        "step s": sum(steps) / len(steps) if steps else float("nan"),
        "gen s": sum(gens) / len(gens) if gens else float("nan"),
        "steps": len(steps),
        "wall s": wall,
        "peak GiB": peak / 2**30,
        "last line": last[:100],
    }


def worktree(rev: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="justrl-before-"))
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), rev], check=True,
                   capture_output=True)  # fmt: skip
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="a git revision to measure beside this checkout")
    args, smoke_args = parser.parse_known_args()
    runs = [("this checkout", REPO)]
    if args.before:
        runs.insert(0, (f"before ({args.before})", worktree(args.before)))
    results = []
    for label, repo in runs:
        results.append((label, measure(repo, smoke_args)))
        print(f"{label}: {results[-1][1]}", flush=True)
    keys = ["exit", "start-up s", "step s", "gen s", "steps", "wall s", "peak GiB"]
    print("\n| run | " + " | ".join(keys) + " |\n|---|" + "---|" * len(keys))
    for label, r in results:
        cells = [f"{r[k]:.2f}" if isinstance(r[k], float) else str(r[k]) for k in keys]
        print(f"| {label} | " + " | ".join(cells) + " |")
    for _, repo in runs:
        if repo != REPO:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(repo)], check=False)
    sys.exit(max(int(r["exit"]) for _, r in results))


if __name__ == "__main__":
    main()
