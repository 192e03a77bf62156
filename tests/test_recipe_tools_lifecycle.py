"""recipe/tools/lifecycle.py: one run a working directory, and a trainer that does not outlive its launcher."""

from __future__ import annotations

import subprocess
import sys

import psutil

from recipe.tools.lifecycle import workdir_lock

HOLDER = """
import sys, time
from pathlib import Path
from recipe.tools.lifecycle import workdir_lock
with workdir_lock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()  # until the test closes our stdin
"""

PARENT = """
import subprocess, sys, time
from recipe.tools.lifecycle import die_with_parent
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], preexec_fn=die_with_parent,
                         start_new_session=True)
print(child.pid, flush=True)
time.sleep(600)
"""


def test_a_second_run_in_a_folder_waits_for_the_first_and_says_so(tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    import threading

    threading.Timer(2.0, holder.stdin.close).start()  # the first run ends a little later
    with workdir_lock(tmp_path, poll_s=0.1):
        out = capsys.readouterr().out
        assert f"smoke: waiting for the run already in {tmp_path} (pid {holder.pid}) to end" in out
        assert "the earlier run ended after" in out
        assert holder.wait(timeout=60) == 0
    with workdir_lock(tmp_path):  # released: taken at once, without a word
        assert capsys.readouterr().out == ""


def test_a_killed_lock_holder_releases_the_folder(tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    with workdir_lock(tmp_path):
        assert "waiting" not in capsys.readouterr().out


def test_the_child_of_a_killed_launcher_ends_with_it():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    parent.kill()  # SIGKILL: no handler of the parent's runs
    parent.wait()
    _, alive = psutil.wait_procs([child], timeout=60)
    assert not alive


def test_a_killed_stage_runner_takes_its_stages_launch_with_it(tmp_path):
    """launch/stages.sh runs each stage's launch script under recipe.tools.stages: killing the runner (a preempted
    job) must not leave that stage's trainer running."""
    stages = tmp_path / "one.yaml"
    stages.write_text("stages:\n  - {name: a, steps: 1}\n")
    marker = tmp_path / "launched"
    stage = f"import time, pathlib; pathlib.Path({str(marker)!r}).write_text('x'); time.sleep(600)"
    runner = subprocess.Popen([sys.executable, "-m", "recipe.tools.stages", str(stages), "--checkpoint-dir",
                               str(tmp_path / "ckpt"), "--", sys.executable, "-c", stage])  # fmt: skip
    while not marker.exists():
        assert runner.poll() is None
    children = psutil.Process(runner.pid).children(recursive=True)
    assert children
    runner.kill()
    runner.wait()
    _, alive = psutil.wait_procs(children, timeout=60)
    assert not alive
