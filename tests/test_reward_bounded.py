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

from reward.bounded import START_LIMIT_ENV, CheckerError, bounded_map, start_limit_s

# Pairs only SymPy settles: math-verify's equivalence and the published rule grader. Their limit is generous: these
# tests are about who calls, and on a loaded machine (a Ray actor on one CPU beside two busy processes) the first
# check took longer than the default 5 s and counted as "not equal", as the limit is meant to.
CHECKS = """
from reward.grading import is_correct
from reward.math_equal import math_equal
t = 60.0
verdicts = [math_equal("\\\\frac{2}{4}", "\\\\frac12", timeout_s=t),
            is_correct("so \\\\boxed{0.5}", "\\\\frac{1}{2}", timeout_s=t), math_equal("3", "\\\\frac12", timeout_s=t)]
print("VERDICTS", verdicts, flush=True)
"""
EXPECTED = "VERDICTS [True, True, False]"
CHILDREN = """
import psutil
print("CHILDREN", " ".join(str(p.pid) for p in psutil.Process().children(recursive=True)), flush=True)
"""


def run(args: list[str], stdin: str | None = None, env: dict | None = None, timeout: float | None = 900):
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
    out, seconds = run(["-c", body], env={"PYTHONPATH": f"{broken}{os.pathsep}{REPO}", START_LIMIT_ENV: "600"})
    assert out.returncode != 0
    assert "CheckerError" in out.stderr and "could not start" in out.stderr
    assert "math_verify is broken on purpose" in out.stderr
    assert "trying once more" in out.stderr  # the one retry, then the error
    assert seconds < 300  # a host that exits is reported at once, never after the 600 s start limit


# A module of checks whose import takes `seconds` (sleeping or computing), and a caller that runs one check from it
# without importing it itself (so only the checker host pays for the slow import).
SLOW_IMPORT = {
    "sleeping": "import time\ntime.sleep({seconds})\n",
    "computing": "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n",
}
CALL_SLOW = """
from reward.bounded import bounded_map
def echo(x):
    return x
echo.__module__ = "slowstart"
print("OUT", [o.value for o in bounded_map(echo, [(7,)], timeout_s=5.0, workers=1)], flush=True)
"""


def start_slowly(tmp_path: Path, kind: str, seconds: float, limit_s: float):
    (tmp_path / "slowstart.py").write_text(SLOW_IMPORT[kind].format(seconds=seconds) + "def echo(x):\n    return x\n")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}", START_LIMIT_ENV: str(limit_s)}
    return run(["-c", CALL_SLOW], env=env, timeout=None)[0]


def test_a_start_past_its_limit_is_waited_for_while_the_host_keeps_working(tmp_path):
    out = start_slowly(tmp_path, "computing", seconds=12, limit_s=2)  # a busy machine: slow, but progressing
    assert out.returncode == 0, out.stderr[-3000:]
    assert "OUT [7]" in out.stdout and "trying once more" not in out.stderr


def test_a_start_that_sits_idle_past_its_limit_is_retried_once_then_names_the_limit(tmp_path):
    out = start_slowly(tmp_path, "sleeping", seconds=120, limit_s=2)
    assert out.returncode != 0
    assert "trying once more" in out.stderr and "CheckerError" in out.stderr
    assert "no answer within 2 s and no CPU progress" in out.stderr
    assert f"the start limit was hit; on a busy machine raise it, e.g. {START_LIMIT_ENV}=8" in out.stderr


def test_the_start_limit_scales_with_the_load_and_can_be_set(monkeypatch):
    monkeypatch.delenv(START_LIMIT_ENV, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (20.0 * (os.cpu_count() or 1), 0.0, 0.0))
    assert start_limit_s() == 20 * 120
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 0.0, 0.0))
    assert start_limit_s() == 120
    monkeypatch.setenv(START_LIMIT_ENV, "900")
    assert start_limit_s() == 900


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
    assert time.monotonic() - start < 60  # 3 rounds of the 1 s limit (and replacements), never 6 x 60 s of sleep


def test_a_function_the_workers_cannot_import_is_an_error_not_a_verdict():
    def local(x):  # defined in a test function: not importable by name
        return x

    (out,) = bounded_map(local, [(1,)], timeout_s=5.0, workers=2)
    assert out.status == "error" and "cannot import" in out.detail


def test_checker_error_is_a_runtime_error():
    assert issubclass(CheckerError, RuntimeError)
