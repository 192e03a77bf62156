"""reward.bounded: the same verdicts from every kind of caller, clear errors when workers cannot start, a deadline for
every batch, and no process left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from conftest import REPO

from reward.bounded import CheckerError, bounded_map

# Pairs only SymPy settles: math-verify's equivalence and the published rule grader.
CHECKS = """
from reward.grading import is_correct
from reward.math_equal import math_equal
verdicts = [math_equal("\\\\frac{2}{4}", "\\\\frac12"), is_correct("so \\\\boxed{0.5}", "\\\\frac{1}{2}"),
            math_equal("3", "\\\\frac12")]
print("VERDICTS", verdicts, flush=True)
"""
EXPECTED = "VERDICTS [True, True, False]"
CHILDREN = """
import psutil
print("CHILDREN", " ".join(str(p.pid) for p in psutil.Process().children(recursive=True)), flush=True)
"""


def run(args: list[str], stdin: str | None = None, env: dict | None = None, timeout: float = 120):
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, *args], input=stdin, capture_output=True, text=True, timeout=timeout, cwd=REPO,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    return out, time.monotonic() - start


def children_left(stdout: str) -> list[int]:
    line = next(line for line in stdout.splitlines() if line.startswith("CHILDREN"))
    pids = [int(pid) for pid in line.split()[1:]]
    assert pids, "the checker started no process"
    time.sleep(1)
    return [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]


def script(tmp_path: Path, body: str, guarded: bool) -> str:
    path = tmp_path / "caller.py"
    if guarded:
        body = "def main():\n" + textwrap.indent(body, "    ") + "\n\nif __name__ == '__main__':\n    main()\n"
    path.write_text(body)
    return str(path)


CALLERS = {
    "guarded script": lambda tmp: ([script(tmp, CHECKS + CHILDREN, guarded=True)], None),
    "unguarded script": lambda tmp: ([script(tmp, CHECKS + CHILDREN, guarded=False)], None),
    "stdin": lambda tmp: (["-"], CHECKS + CHILDREN),
    "-c": lambda tmp: (["-c", CHECKS + CHILDREN], None),
    "a thread": lambda tmp: (["-c", "import threading\ndef work():\n" + textwrap.indent(CHECKS, "    ")
                              + "\nt = threading.Thread(target=work)\nt.start()\nt.join()\n" + CHILDREN], None),
    "interactive (notebook-like)": lambda tmp: (["-i", "-q"], CHECKS + CHILDREN + "\nexit()\n"),
}  # fmt: skip


@pytest.mark.parametrize("caller", CALLERS)
def test_same_verdicts_from_every_caller_and_no_process_left(caller, tmp_path):
    args, stdin = CALLERS[caller](tmp_path)
    out, seconds = run(args, stdin)
    assert out.returncode == 0, out.stderr[-3000:]
    assert EXPECTED in out.stdout, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    assert seconds < 60
    assert children_left(out.stdout) == []


def test_a_ray_actor_gets_the_same_verdicts(tmp_path):
    body = (
        "import ray\nray.init(address='local', num_cpus=1, include_dashboard=False)\n"
        "@ray.remote\nclass Grader:\n    def run(self):\n" + textwrap.indent(CHECKS, "        ")
        + "\n        return verdicts\n"
        "print('VERDICTS', ray.get(Grader.remote().run.remote()), flush=True)\nray.shutdown()\n"
    )  # fmt: skip
    out, _ = run(["-c", body], timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    assert EXPECTED in out.stdout


def test_workers_that_cannot_start_raise_a_clear_error_within_seconds(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "math_verify.py").write_text("raise ImportError('math_verify is broken on purpose')\n")
    body = "from reward.math_equal import math_equal\nmath_equal('\\\\frac{2}{4}', '\\\\frac12')\n"
    out, seconds = run(["-c", body], env={"PYTHONPATH": f"{broken}{os.pathsep}{REPO}"})
    assert out.returncode != 0
    assert "CheckerError" in out.stderr and "could not start" in out.stderr
    assert "math_verify is broken on purpose" in out.stderr
    assert seconds < 30


def slow(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def crash() -> None:
    os._exit(3)


def test_outcomes_tell_a_timeout_an_error_and_a_crash_from_a_result():
    assert [o.status for o in bounded_map(slow, [(0.1,), (30,)], timeout_s=2.0, workers=2)] == ["ok", "timeout"]
    (raised,) = bounded_map(int, [("x",)], timeout_s=5.0, workers=2)
    assert raised.status == "error" and "ValueError" in raised.detail
    (died,) = bounded_map(crash, [()], timeout_s=5.0, workers=2)
    assert died.status == "error" and "died" in died.detail


def test_a_batch_ends_within_its_rounds_of_the_limit_even_when_every_worker_is_killed():
    start = time.monotonic()
    outcomes = bounded_map(slow, [(60,)] * 6, timeout_s=1.0, workers=2)
    assert [o.status for o in outcomes] == ["timeout"] * 6
    assert time.monotonic() - start < 3 * (1.0 + 2.0) + 5  # ceil(6/2) rounds of (limit + replacement) + slack


def test_a_function_the_workers_cannot_import_is_an_error_not_a_verdict():
    def local(x):  # defined in a test function: not importable by name
        return x

    (out,) = bounded_map(local, [(1,)], timeout_s=5.0, workers=2)
    assert out.status == "error" and "cannot import" in out.detail


def test_checker_error_is_a_runtime_error():
    assert issubclass(CheckerError, RuntimeError)
