"""Where a CPU learning run's time goes, beside the import floor measured in the same run (run by hand, idle machine).

    python tests/bench/startup_speed.py [--runs 1] [--study]

1. The import floor: the fastest of three fresh processes importing torch, transformers and verl (as every Ray actor
   of a run does), with and without the CPU platform (`VERL_PLATFORM=cpu`, recipe/cpu/plugin.py).
2. `bash launch/cpu_smoke.sh --learn --seed 1` in a scratch folder (the tiny model cached as usual), twice: with Ray's
   workers forked (recipe/cpu/forkserver.py) and started fresh (`JUSTRL_FORKSERVER=0`), each line of its output
   timestamped: the seconds from the command to each start-up milestone (the preflight's line, Ray up, verl's
   actors up in the order verl starts them, the first validation, the first step), to the last step and to the closing
   line; each also as a multiple of the floor.
3. verl's own `timing_s/*` of the run's steps (TensorBoard): the median of each phase and its share of a step.
4. The CPU seconds each process of the run spent (psutil, sampled as it runs), grouped by Ray actor class or program,
   up to the first step and in all, against what the machine's cores could give in that wall time: start-up that
   keeps the cores busy gains nothing from starting actors side by side, only from doing less.
5. With --study: `bash launch/study.sh --cpu --seeds 1,2,3 --output DIR recipe w_reinforce`, its wall time.
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
import threading
import time
from collections import defaultdict
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from eval.dynamics import read_tensorboard  # noqa: E402

FIRST_STEP = re.compile(r"\bstep:1 - ")
# (label, the first output line that marks it)
MILESTONES = [
    ("preflight said what runs", re.compile(r"^run: \S+ -> ")),
    ("Ray started", re.compile(r"Started a local Ray instance")),
    ("trainer actor up", re.compile(r"\(TaskRunner\S* pid=\d+\)")),
    ("TransferQueue actors up, datasets loaded", re.compile(r"train and validate dataloader initialized")),
    ("workers up, their models built", re.compile(r"actor and ref model engine initialized")),
    ("rollout server up, ready to fit", re.compile(r"all initialize finished, ready to fit")),
    ("agent and reward loop workers up, first validation done", re.compile(r"Initial validation metrics")),
    ("first step done", FIRST_STEP),
    ("last step done", None),  # filled from the run's own step count
    ("closing line", re.compile(r"^learn: ")),
]
# each run twice, one after the other: Ray's workers forked from the fork server (recipe/cpu/forkserver.py), then
# each started as Ray starts it
MODES = {"forked": "1", "fresh": "0"}
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


def process_group(cmdline: list[str]) -> str:
    """A Ray actor by its class (Ray titles its process `ray::Class` or `ray::name:Class.method`), else the program."""
    title = " ".join(cmdline)
    if title.startswith("ray::"):
        return "actor " + re.split(r"[.\s]", title[5:].split(":")[-1])[0]
    words = [w for w in cmdline if not w.startswith("-")]
    if len(cmdline) > 2 and cmdline[1] == "-m":
        return "python -m " + cmdline[2]
    return Path(words[1] if len(words) > 1 and "python" in words[0] else words[0]).name if words else "?"


class CpuByProcess(threading.Thread):
    """Samples the CPU seconds (user + system) of every process started after it, each under its last title."""

    def __init__(self, interval: float = 0.3):
        super().__init__(daemon=True)
        self.start_time, self.interval, self.done = time.time(), interval, threading.Event()
        self.seen: dict[int, tuple[str, float]] = {}
        self.at_first_step: dict[int, tuple[str, float]] | None = None

    def run(self) -> None:
        while not self.done.wait(self.interval):
            for proc in psutil.process_iter(["pid", "cmdline", "create_time", "cpu_times"]):
                info = proc.info
                if info["create_time"] < self.start_time - 1 or not info["cmdline"] or info["cpu_times"] is None:
                    continue
                group = process_group(info["cmdline"])
                if group == "actor IDLE" and info["pid"] in self.seen:
                    group = self.seen[info["pid"]][0]  # between calls: keep the actor's class
                self.seen[info["pid"]] = (group, info["cpu_times"].user + info["cpu_times"].system)

    def mark_first_step(self) -> None:
        self.at_first_step = dict(self.seen)

    def table(self, first_step_s: float | None, wall_s: float) -> list[str]:
        totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        for pid, (group, cpu) in self.seen.items():
            totals[group][0] += 1
            totals[group][1] += (self.at_first_step or {}).get(pid, ("", 0.0))[1]
            totals[group][2] += cpu
        cores = psutil.cpu_count()
        rows = [f"| {g} | {n} | {a:.1f} | {b:.1f} |" for g, (n, a, b) in sorted(totals.items(), key=lambda x: -x[1][2])]
        spent = [sum(t[1] for t in totals.values()), sum(t[2] for t in totals.values())]
        could = [cores * (first_step_s or 0), cores * wall_s]
        return ["| process | count | CPU s to the first step | CPU s in all |", "|---|---|---|---|", *rows,
                f"| all | {len(self.seen)} | {spent[0]:.1f} | {spent[1]:.1f} |",
                f"| what {cores} cores give in that wall time | | {could[0]:.1f} | {could[1]:.1f} |"]  # fmt: skip


def timed_lines(command: list[str], env: dict[str, str], cpu: CpuByProcess) -> tuple[list[tuple[float, str]], int]:
    start = time.monotonic()
    cpu.start()
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append((time.monotonic() - start, line.rstrip("\n")))
        if cpu.at_first_step is None and FIRST_STEP.search(line):
            cpu.mark_first_step()
    code = proc.wait()
    cpu.done.set()
    cpu.join()
    return lines, code


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
    # the launch scripts call `python`: this interpreter's, activated or not
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    steps = 30  # recipe/smoke/learn.yaml
    for run in range(args.runs):
        found = {}
        for mode, switch in MODES.items():
            with tempfile.TemporaryDirectory(prefix="justrl-startup-") as tmp:
                command = ["bash", "launch/cpu_smoke.sh", "--learn", "--seed", "1"]
                cpu = CpuByProcess()
                lines, code = timed_lines(command, {**env, "WORKDIR": tmp, "JUSTRL_FORKSERVER": switch}, cpu)
                print(f"\nrun {run + 1}, {mode}: exit {code}; {lines[-1][1] if lines else ''}")
                if code != 0:
                    print("\n".join(line for _, line in lines[-40:]))
                    return code
                found[mode] = milestones(lines, steps)
                print("\n".join(phase_table(Path(tmp) / "tensorboard_log" / "justrl" / "cpu-learn-seed1")))
                print()
                print("\n".join(cpu.table(dict(found[mode])["first step done"], lines[-1][0])))
        print(f"\nrun {run + 1}: | from the command to | {' | '.join(f'{m} s | x floor' for m in MODES)} |")
        print(f"|---|{'---|---|' * len(MODES)}")
        for i, (label, _) in enumerate(found[next(iter(MODES))]):
            cells = ("- | -" if c is None else f"{c:.1f} | {c / floor:.1f}" for c in (found[m][i][1] for m in MODES))
            print(f"| {label} | {' | '.join(cells)} |")
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
