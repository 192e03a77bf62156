"""recipe/cpu/forkserver.py: a worker program run by the client is forked from the server (torch already imported)
with the client's argv, environment, directory and streams, ends with its exit status, dies with the client, and is
started fresh, saying why, where a fork cannot stand for a new interpreter; Ray's workers, named by `py_executable`,
are its forks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import psutil
import pytest

from recipe.cpu.forkserver import fork_client, start_fork_server

WORKER = """
import json, os, sys, time
preloaded = "torch" in sys.modules  # a fresh interpreter has not imported it
probe = getattr(sys.modules.get("fork_probe"), "SEEN", None)  # a module the server imported later, if any
import numpy
from ray._raylet import ObjectID
print(json.dumps({"argv": sys.argv, "foo": os.environ.get("FOO"), "cwd": os.getcwd(), "path": sys.path[:2],
                  "preloaded": preloaded, "pid": os.getpid(), "draw": numpy.random.random(), "probe": probe,
                  "ray_id": ObjectID.from_random().hex()}), flush=True)
print("to stderr", file=sys.stderr, flush=True)
if sys.argv[1] == "sleep":
    time.sleep(60)
sys.exit(int(sys.argv[2]))
"""


ENV = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # the server's and the clients'


@contextmanager
def serving(folder, later=()):
    """A fork server at `folder`/fork.sock (its directory `folder`): its socket and process, stopped afterwards."""
    path = folder / "fork.sock"
    proc = start_fork_server(path, ENV, folder, later=later)
    try:
        yield path, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("fork")) as served:
        yield served


def client(path, worker, *args, env=None, cwd=None, **kw):
    command = [*fork_client(path).split(), str(worker), *args]
    return subprocess.Popen(command, env={**ENV, **(env or {})}, cwd=cwd, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)  # fmt: skip


def finished(proc) -> tuple[dict, str, int]:
    out, err = proc.communicate(timeout=120)
    return json.loads(out.strip().splitlines()[-1]), err, proc.returncode


def test_a_worker_is_forked_with_the_clients_argv_environment_directory_and_streams(server, tmp_path):
    path, _ = server
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    first = finished(client(path, worker, "run", "3", env={"FOO": "bar"}, cwd="/"))
    second = finished(client(path, worker, "run", "0", env={"FOO": "baz"}, cwd=tmp_path))
    seen, err, code = first
    assert code == 3 and second[2] == 0  # the worker's exit status is the client's
    assert seen["preloaded"] and second[0]["preloaded"], (err, second[1])  # forked from the server, torch imported
    # as `python WORKER ...`: its folder first on sys.path, behind what `import ray` puts before it (Ray's workers
    # import ray first; here the fork imports it to follow its thread count)
    assert seen["argv"] == [str(worker), "run", "3"] and str(tmp_path) in seen["path"]
    assert (seen["foo"], seen["cwd"]) == ("bar", "/") and (second[0]["foo"], second[0]["cwd"]) == ("baz", str(tmp_path))
    assert err == "to stderr\n"  # the client's own streams, nothing else on them
    assert seen["draw"] != second[0]["draw"]  # numpy's global generator reseeded, as in a new process


def test_a_worker_dies_with_its_client_and_a_signal_to_the_client_reaches_it(server, tmp_path):
    path, _ = server
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    for sig in (signal.SIGKILL, signal.SIGTERM):
        proc = client(path, worker, "sleep", "0")
        pid = json.loads(proc.stdout.readline())["pid"]
        assert pid != proc.pid and psutil.pid_exists(pid)
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == -sig
        deadline = time.monotonic() + 30
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, f"the worker outlived its client ({sig.name})"
            time.sleep(0.05)
        proc.communicate()


def test_a_worker_whose_load_time_environment_differs_or_without_a_server_starts_fresh_saying_why(server, tmp_path):
    path, _ = server
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    seen, err, code = finished(client(path, worker, "run", "0", env={"OMP_NUM_THREADS": "1"}))
    assert code == 0 and not seen["preloaded"]
    assert err.startswith("recipe.cpu.forkserver: a worker started fresh: OMP_NUM_THREADS=1 (here None)\n"), err
    seen, err, code = finished(client(tmp_path / "absent.sock", worker, "run", "4"))
    assert code == 4 and not seen["preloaded"] and "no fork server at" in err


def test_modules_imported_later_load_in_the_first_workers_environment_and_a_worker_that_differs_starts_fresh(tmp_path):
    """`later`: imported before the first fork, in that worker's environment (verl's and Ray's variables are set by
    the driver after the server starts); from then on a worker whose VERL_, JUSTRL_ or RAY_ variables differ from the
    first's starts fresh, saying which. A Ray actor class defined at import (as verl's modules do) leaves the forks
    drawing different Ray IDs (a shared generator gave two workers the same task IDs)."""
    probe = "import os, ray\nSEEN = os.environ.get('JUSTRL_PROBE')\n@ray.remote\nclass Probe:\n    pass\n"
    (tmp_path / "fork_probe.py").write_text(probe)
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    with serving(tmp_path, later=("fork_probe",)) as (path, _):
        first = finished(client(path, worker, "run", "0", env={"JUSTRL_PROBE": "first"}))
        second = finished(client(path, worker, "run", "0", env={"JUSTRL_PROBE": "first"}))
        third = finished(client(path, worker, "run", "0", env={"JUSTRL_PROBE": "third"}))
    assert [first[0]["probe"], second[0]["probe"]] == ["first", "first"], (first[1], second[1])
    assert first[0]["ray_id"] != second[0]["ray_id"]
    assert first[0]["preloaded"] and second[0]["preloaded"] and not third[0]["preloaded"]
    assert third[0]["probe"] is None and third[2] == 0
    assert third[1].startswith("recipe.cpu.forkserver: a worker started fresh: JUSTRL_PROBE=third (here first)\n")


def test_a_server_that_drew_a_ray_id_forks_no_worker_saying_why(tmp_path):
    """Any other draw from Ray's generator while the server imports would be shared by the forks: checked, and then
    every worker starts fresh."""
    (tmp_path / "fork_probe.py").write_text("import ray\nray.ObjectID.from_random()\n")
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    with serving(tmp_path, later=("fork_probe",)) as (path, _):
        seen, err, code = finished(client(path, worker, "run", "0"))
    assert code == 0 and not seen["preloaded"]
    assert "a worker started fresh: Ray's ID generator was seeded in the fork server" in err, err


PROBE = """
import json, os, sys, ray
runtime_env = {"py_executable": sys.argv[1]} if len(sys.argv) > 1 else {}
ray.init(address="local", num_cpus=2, include_dashboard=False, runtime_env=runtime_env)
@ray.remote
class Probe:
    def where(self):
        import torch
        return os.getppid(), os.environ.get("FOO"), torch.get_num_threads()
probes = [Probe.options(runtime_env={"env_vars": {"FOO": "actor"}}).remote(), Probe.options(num_cpus=2).remote()]
print(json.dumps(ray.get([p.where.remote() for p in probes])))
ray.shutdown()
"""


def test_ray_starts_its_workers_through_it_each_with_torchs_threads_as_a_fresh_worker(server):
    """`py_executable` in the job's runtime_env: an actor's process is the server's child, with the actor's own
    runtime_env variables, and torch's thread count is the one Ray gives a fresh worker: its CPUs (Ray's local
    instance, started twice, about 20 s)."""
    path, proc = server
    seen = []
    for extra in ([fork_client(path)], []):
        out = subprocess.run([sys.executable, "-c", PROBE, *extra], env=ENV, capture_output=True, text=True,
                             timeout=300)  # fmt: skip
        assert out.returncode == 0 and "started fresh" not in out.stderr, out.stderr[-3000:]
        seen.append(json.loads(out.stdout.strip().splitlines()[-1]))
    (forked, forked_2), (fresh, fresh_2) = seen
    assert forked[0] == forked_2[0] == proc.pid and fresh[0] != proc.pid
    assert [forked[1:], forked_2[1:]] == [fresh[1:], fresh_2[1:]] == [["actor", 1], [None, 2]]
