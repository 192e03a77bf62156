"""Running launch/cpu_smoke.sh from the tests, and reading what it printed (tests/test_recipe_smoke_*.py)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from conftest import REPO

from recipe.smoke.run import RUN_MARKER, parse_metrics, ray_temp_dir, stop_ray

# verl 0.9.1's vLLM rollout syncs weights over /tmp/rl-colocate-zmq-<Ray job id>-replica-<r>-rank-<k>.sock, and the
# first job of every Ray cluster is 01000000: two runs on one machine, each with its own Ray, bind the same socket and
# both hang at their first weight sync (recipe/upstream/README.md). Runs through verl's vLLM rollout are therefore one
# xdist_group: one at a time, beside the lane's other tests.
ONE_VLLM_ROLLOUT_AT_A_TIME = pytest.mark.xdist_group("vllm_rollout")


def ray_like_pids(workdir: str) -> set[int]:
    """Processes of the smoke run in `workdir`: Ray's (`ray::...`, raylet, gcs_server, its dashboard and agents)
    that carry the run's marker in their environment (RUN_MARKER, which Ray's processes inherit) or name the run's
    Ray directory on their command line, and any process naming `workdir`. Another run's Ray (the lanes run two
    tests side by side) is not this one's."""
    ray_dir = str(ray_temp_dir(Path(workdir)))
    pids = set()
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        try:
            ours = proc.environ().get(RUN_MARKER) == ray_dir or ray_dir in cmdline
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            ours = ray_dir in cmdline
        ray_like = cmdline.startswith(("ray::", "ray-dashboard")) or proc.info["name"] in ("raylet", "gcs_server")
        if (ray_like and ours) or workdir in cmdline:
            pids.add(proc.info["pid"])
    return pids


def smoke_command(workdir: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "WORKDIR": str(workdir)}
    return ["bash", str(REPO / "launch" / "cpu_smoke.sh"), *args], env


SILENCE_S = 600  # a run that prints nothing for this long is stuck; a slow machine only prints more slowly


def kill_run(proc: subprocess.Popen, workdir: str | None) -> None:
    """A stuck run, whole: the command and everything below it, and what of the run's Ray and trainer has left it
    (a trainer whose parent died keeps its CPUs busy under the tests that follow)."""
    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for victim in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            victim.kill()
    psutil.wait_procs(family, timeout=30)
    if workdir:  # the run's own stop: every process carrying its marker, as the smoke stops them
        stop_ray(str(ray_temp_dir(Path(workdir))))
    proc.wait()


def run_with_progress(command: list[str], env: dict[str, str], silence_s: float = SILENCE_S):
    """`subprocess.run(command, capture_output=True, text=True)`, but with a limit on silence instead of on wall time:
    the run is killed, and the test fails, only when it has printed nothing for `silence_s` seconds."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    chunks: dict[str, list[str]] = {"out": [], "err": []}
    last = [time.monotonic()]

    def pump(stream, key):
        for line in stream:
            chunks[key].append(line)
            last[0] = time.monotonic()

    readers = [threading.Thread(target=pump, args=(proc.stdout, "out"), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, "err"), daemon=True)]  # fmt: skip
    for reader in readers:
        reader.start()
    while proc.poll() is None:
        if time.monotonic() - last[0] > silence_s:
            kill_run(proc, env.get("WORKDIR"))
            raise AssertionError(f"{command}: no output for {silence_s:.0f} s; killed. Last lines:\n"
                                 + "".join(chunks["out"][-30:] + chunks["err"][-30:]))  # fmt: skip
        time.sleep(1)
    for reader in readers:
        reader.join()
    return subprocess.CompletedProcess(command, proc.returncode, "".join(chunks["out"]), "".join(chunks["err"]))


def smoke(
    workdir: Path, *args: str, env: dict[str, str] | None = None, silence_s: float = SILENCE_S
) -> subprocess.CompletedProcess:
    command, full_env = smoke_command(workdir, *args)
    return run_with_progress(command, {**full_env, **(env or {})}, silence_s)


def logged_steps(stdout: str) -> list[int]:
    """Training steps verl logged, in order (validation-only lines carry no grad_norm)."""
    return [p[0] for p in map(parse_metrics, stdout.splitlines()) if p and "actor/grad_norm" in p[1]]


def validation_steps(logdir: Path) -> list[int]:
    """The steps at which a run's TensorBoard files (every attempt's) hold a held-out accuracy, repeats kept: a step
    validated twice, as by a restart's start validation, is there twice (TensorBoard's own reader would drop one)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    steps = []
    for events in sorted(logdir.rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events), size_guidance={"scalars": 0}, purge_orphaned_data=False)
        acc.Reload()
        tags = [tag for tag in acc.Tags()["scalars"] if tag.startswith("val-core/") and "/acc/mean@" in tag]
        steps += [event.step for event in acc.Scalars(tags[0])] if tags else []
    return steps
