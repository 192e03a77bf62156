"""Where a CPU learning run's time goes, beside the import floor measured in the same run (run by hand, idle machine).

    python tests/bench/startup_speed.py [--runs 1] [--study]

1. The import floor: the fastest of three fresh processes importing torch, transformers and verl (as every Ray actor
   of a run does), with and without the CPU platform (`VERL_PLATFORM=cpu`, recipe/cpu/plugin.py).
2. `bash launch/cpu_smoke.sh --learn --seed 1` in a scratch folder (the tiny model cached as usual), each line of its
   output timestamped: the seconds from the command to each start-up milestone (the preflight's line, Ray up, verl's
   actors up in the order verl starts them, the first validation, the first step), to the last step and to the closing
   line; each also as a multiple of the floor.
3. verl's own `timing_s/*` of the run's steps (TensorBoard): the median of each phase and its share of a step.
4. With --study: `bash launch/study.sh --cpu --seeds 1,2,3 --output DIR recipe w_reinforce`, its wall time.
recipe/smoke/README.md holds the figures and the targets they are read against.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from eval.dynamics import read_tensorboard  # noqa: E402

# (label, the first output line that marks it)
MILESTONES = [
    ("preflight said what runs", re.compile(r"^run: \S+ -> ")),
    ("Ray started", re.compile(r"Started a local Ray instance")),
    ("trainer actor up", re.compile(r"\(TaskRunner\S* pid=\d+\)")),
    ("TransferQueue actors up, datasets loaded", re.compile(r"train and validate dataloader initialized")),
    ("workers up, their models built", re.compile(r"actor and ref model engine initialized")),
    ("rollout server up, ready to fit", re.compile(r"all initialize finished, ready to fit")),
    ("agent and reward loop workers up, first validation done", re.compile(r"Initial validation metrics")),
    ("first step done", re.compile(r"\bstep:1 - ")),
    ("last step done", None),  # filled from the run's own step count
    ("closing line", re.compile(r"^learn: ")),
]
PHASES = ("gen", "old_log_prob", "adv", "update_actor", "update_weights", "testing", "save_checkpoint")


def import_floor(platform: bool) -> float:
    env = {k: v for k, v in os.environ.items() if k != "VERL_PLATFORM"}
    if platform:
        env["VERL_PLATFORM"] = "cpu"
    times = []
    for _ in range(3):
        start = time.monotonic()
        subprocess.run([sys.executable, "-c", "import torch, transformers, verl"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        times.append(time.monotonic() - start)
    return min(times)


def timed_lines(command: list[str], env: dict[str, str]) -> tuple[list[tuple[float, str]], int]:
    start = time.monotonic()
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = [(time.monotonic() - start, line.rstrip("\n")) for line in proc.stdout]
    return lines, proc.wait()


def milestones(lines: list[tuple[float, str]], steps: int) -> list[tuple[str, float | None]]:
    found = []
    for label, pattern in MILESTONES:
        pattern = pattern or re.compile(rf"\bstep:{steps} - ")
        found.append((label, next((t for t, line in lines if pattern.search(line)), None)))
    return found


def phase_table(logdir: Path) -> list[str]:
    series = read_tensorboard(logdir)
    step = statistics.median(series["timing_s/step"].values())
    rows = [f"| step (median of {len(series['timing_s/step'])}) | {step:.2f} s | 100% |"]
    for phase in PHASES:
        values = series.get(f"timing_s/{phase}")
        if values:
            median = statistics.median(values.values())
            rows.append(f"| {phase} ({len(values)} logged) | {median:.2f} s | {100 * median / step:.0f}% |")
    return ["| verl's timing_s | median | of a step |", "|---|---|---|", *rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1, help="learning runs to time (default: 1)")
    parser.add_argument("--study", action="store_true", help="also time a 2-arm x 3-seed study (about 10-20 min)")
    args = parser.parse_args()
    floor, floor_cpu = import_floor(False), import_floor(True)
    print(f"import floor (torch, transformers, verl): {floor:.2f} s; with the CPU platform: {floor_cpu:.2f} s")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    steps = 30  # recipe/smoke/learn.yaml
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="justrl-startup-") as tmp:
            command = ["bash", "launch/cpu_smoke.sh", "--learn", "--seed", "1"]
            lines, code = timed_lines(command, {**env, "WORKDIR": tmp})
            print(f"\nrun {run + 1}: exit {code}")
            print("| from the command to | seconds | x floor |\n|---|---|---|")
            for label, seconds in milestones(lines, steps):
                cell = "-" if seconds is None else f"{seconds:.1f} | {seconds / floor:.1f}"
                print(f"| {label} | {cell} |")
            print()
            print("\n".join(phase_table(Path(tmp) / "tensorboard_log" / "justrl" / "cpu-learn-seed1")))
    if args.study:
        with tempfile.TemporaryDirectory(prefix="justrl-study-") as tmp:
            command = ["bash", "launch/study.sh", "--cpu", "--seeds", "1,2,3", "--output", tmp, "recipe", "w_reinforce"]
            start = time.monotonic()
            code = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL).returncode
            seconds = time.monotonic() - start
            print(f"\nstudy recipe w_reinforce x 3 seeds: exit {code}, {seconds:.0f} s ({seconds / floor:.0f}x floor)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
