"""Time to the first useful line: how long the user's commands take to say what is wrong (run by hand).

    python tests/bench/first_line_speed.py [--dry-run]

Each command is run in a scratch folder as a user would first meet it: no generations to grade, no benchmark data,
a model directory that does not exist, training without a GPU or data, the fidelity check, and (with --dry-run) the
GPU install's dry run. Prints, per command, the seconds to its first line of output, to its end, and its exit code.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def timed(command: list[str], cwd: Path) -> tuple[float, float, int, str]:
    start = time.monotonic()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    first, line = None, ""
    for out in proc.stdout:
        if first is None and out.strip():
            first, line = time.monotonic() - start, out.strip()
    proc.wait()
    end = time.monotonic() - start
    return (first if first is not None else end), end, proc.returncode, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="also time `bash launch/install_gpu.sh --dry-run`")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="justrl-first-line-") as tmp:
        work = Path(tmp)
        from recipe.smoke.toy_task import write_data

        write_data(work / "data")  # benchmark files for the bad-model case
        py = sys.executable
        commands = {
            "eval.grade, no generations": [py, "-m", "eval.grade", "--input-dir", "empty"],
            "eval.report, no grades": [py, "-m", "eval.report", "--input-dir", "empty"],
            "eval.generate, no data": [py, "-m", "eval.generate", "--model", "x/y", "--output-dir", "out",
                                       "--data-dir", "empty", "--backend", "hf"],
            "eval.generate, no such model": [py, "-m", "eval.generate", "--model", str(work / "no_model"),
                                             "--output-dir", "out", "--data-dir", "data/benchmarks", "--backend", "hf",
                                             "--benchmarks", "AIME24"],
            "launch/deepseek.sh, no GPU or data": ["bash", str(REPO / "launch" / "deepseek.sh")],
            "recipe.tools.fidelity": [py, "-m", "recipe.tools.fidelity"],
        }  # fmt: skip
        if args.dry_run:
            commands["launch/install_gpu.sh --dry-run"] = ["bash", str(REPO / "launch" / "install_gpu.sh"), "--dry-run"]
        (work / "empty").mkdir()
        print("| command | first line, s | done, s | exit | first line |\n|---|---|---|---|---|")
        for name, command in commands.items():
            first, end, code, line = timed(command, work)
            print(f"| {name} | {first:.1f} | {end:.1f} | {code} | {line[:90]} |", flush=True)


if __name__ == "__main__":
    main()
