"""Ray worker processes forked from one that has already imported torch, transformers and verl.

A CPU run of verl starts about ten Ray actors, each a new Python process that imports torch, tensordict (which
imports torch._dynamo) and transformers, then verl and the modules of its actor: 5-9 CPU-seconds each, most of a
2-core machine's start-up. Ray's `py_executable` (a runtime_env field) names the program a worker is started with;
naming this file's client there, each worker is instead forked from a server that imported those once, then runs
Ray's own worker program, unchanged, with the worker's own argv, environment, working directory, sys.path and
standard streams.

    python -m recipe.cpu.forkserver serve SOCKET FIRST LATER  # the server: imports, then forks on request
    python -m recipe.cpu.forkserver SOCKET WORKER ARGS...     # the client Ray starts: `python WORKER ARGS...` by fork

FIRST and LATER are comma-separated modules: FIRST (PRELOAD) imported at once, LATER (verl's) before the first fork,
in that worker's environment, since the driver sets verl's and Ray's variables after the server starts. The client
stands in for the worker towards Ray: it forwards the signals it gets, ends with the worker's exit status, and the
worker is killed when the client dies; each fork leads a process group of its own, since Ray kills a worker by its
group. Where the fork cannot stand for a fresh interpreter, the client runs the worker as Ray would have (`exec python
WORKER ARGS`): no server at SOCKET, or an environment variable read when an interpreter or a library loads
(`PYTHON*` but PYTHONPATH, `OMP_*`, `LD_*`, ...; once LATER is imported, `VERL_*`, `JUSTRL_*`, `RAY_*` too) differs
from the server's. Each fork reseeds what a fresh process seeds at random (Python's `random` does so itself, numpy's
global generator here) and takes torch's thread count when Ray sets OMP_NUM_THREADS. The threads a library started in
the server (scipy's OpenBLAS pool, pyarrow's jemalloc) are not in a fork; both libraries prepare for fork themselves.
This module imports only the standard library at its top: the client is a bare interpreter.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import traceback
from contextlib import contextmanager

MODULE = "recipe.cpu.forkserver"
PRELOAD = ("torch", "tensordict", "transformers")  # what every process of a verl run imports first
# Read when an interpreter, a shared library or PRELOAD loads, so a fork inherits the server's: a worker whose value
# differs is started fresh. Not: PYTHONPATH (the worker's sys.path is set), and TORCH_CUDA_ARCH_LIST, which only
# building an extension reads (verl's megatron engine module sets it in the driver, so Ray's workers inherit it).
LOAD_TIME = ("PYTHON", "OMP_", "MKL_", "OPENBLAS_", "KMP_", "GOMP_", "LD_", "MALLOC_", "TORCH", "TRANSFORMERS_", "HF_")
# Read when verl (VERL_*), this project's plugin (JUSTRL_*) or Ray (RAY_*: its C++ core reads RAY_AUTH_MODE) loads:
# compared once the modules imported in the first worker's environment are (`serve`'s `later`). Not: what verl sets
# for each worker of a group and reads at run time.
LOAD_TIME_LATER = ("VERL_", "JUSTRL_", "RAY_")
NOT_LOAD_TIME = {"PYTHONPATH", "TORCH_CUDA_ARCH_LIST", "RAY_LOCAL_RANK", "RAY_LOCAL_WORLD_SIZE"}
HEADER = 8  # bytes of a message's length


def load_time_env(env, prefixes=LOAD_TIME) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(prefixes) and k not in NOT_LOAD_TIME}


def _read_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _send(conn: socket.socket, message: dict) -> None:
    data = json.dumps(message).encode()
    conn.sendall(len(data).to_bytes(HEADER, "little") + data)


def _receive(conn: socket.socket) -> dict:
    return json.loads(_read_exact(conn, int.from_bytes(_read_exact(conn, HEADER), "little")))


# ---------------------------------------------------------------- the server


class _Preloaded:
    """What the server has imported, and the load-time environment it imported it in: the modules `first` at once,
    in the server's own; the modules `later` before the first fork, in that worker's (verl's and Ray's variables are
    set by the driver after the server starts), so that a fork's modules were loaded as the worker would load them."""

    def __init__(self, first: list[str], later: list[str]) -> None:
        self.later = later
        self.unsafe = ""  # why no worker can be forked, if so
        self.prefixes = LOAD_TIME
        self.before = load_time_env(os.environ)
        _import(first)
        self.after = load_time_env(os.environ)  # torch sets TORCHINDUCTOR_CACHE_DIR, as it would in a fresh worker

    def differ(self, env: dict[str, str]) -> str:
        """The load-time variables in which `env` differs from the server's ('' if none)."""
        theirs, before, after = load_time_env(env, self.prefixes), self.before, self.after
        keys = sorted(k for k in {*before, *after, *theirs} if theirs.get(k) not in (before.get(k), after.get(k)))
        return ", ".join(f"{k}={theirs.get(k)} (here {after.get(k)})" for k in keys)

    def import_later(self, env: dict[str, str]) -> None:
        if not self.later:
            return
        os.environ.clear()
        os.environ.update(env)
        with _ray_ids_untouched():
            _import(self.later)
        self.later = []
        self.prefixes = LOAD_TIME + LOAD_TIME_LATER
        self.before, self.after = load_time_env(env, self.prefixes), load_time_env(os.environ, self.prefixes)
        if _forks_draw_the_same_ray_id():
            self.unsafe = "Ray's ID generator was seeded in the fork server: forks would draw the same task IDs"


@contextmanager
def _ray_ids_untouched():
    """Ray draws its IDs from one generator per process, seeded at its first draw: a draw in the server would be copied
    into every fork, and the forks would draw the same task IDs (Ray 2.60: `Check failed: erased == 1`, the actor
    dead). `@ray.remote` on a class draws its class ID, which Ray keeps and does not use, when a module is imported:
    while the server imports, that ID comes from os.urandom instead. `_forks_draw_the_same_ray_id` checks the rest."""
    import ray.actor

    real = ray.actor.ActorClassID

    class FromUrandom:
        @staticmethod
        def from_random():
            return real(os.urandom(real.size()))

    ray.actor.ActorClassID = FromUrandom
    try:
        yield
    finally:
        ray.actor.ActorClassID = real


def _forks_draw_the_same_ray_id() -> bool:
    from ray._raylet import ObjectID

    drawn = []
    for _ in range(2):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(write, ObjectID.from_random().binary())
            os._exit(0)
        os.close(write)
        drawn.append(os.read(read, 64))
        os.close(read)
        os.waitpid(pid, 0)
    return drawn[0] == drawn[1]


def _import(modules: list[str]) -> None:
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as err:  # the worker imports it itself, and meets the error there if it needs the module
            print(f"{MODULE}: {name} not preloaded: {err!r}", file=sys.stderr, flush=True)


def serve(path: str, first: list[str], later: list[str]) -> None:
    """Listen at `path`, import the modules `first`, then fork a worker for each client that connects, until
    terminated; the modules `later` are imported before the first fork (`_Preloaded`). Clients that connect while it
    imports wait in the listen queue rather than start fresh; a module that fails to import is named on stderr."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    listener.listen(64)
    preloaded = _Preloaded(first, later)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                conn, _ = listener.accept()
                held = [listener.fileno(), wake_r, wake_w, selector.fileno(), *(c.fileno() for c in children.values())]
                pid = _fork_one(conn, preloaded, held)
                if pid is None:
                    conn.close()
                else:
                    children[pid] = conn
            else:
                os.read(wake_r, 4096)
        while children:  # reap: each client learns its worker's exit status
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = children.pop(pid, None)
            if conn is not None:
                try:
                    _send(conn, {"status": status})
                except OSError:
                    pass
                conn.close()


def _fork_one(conn: socket.socket, preloaded: _Preloaded, inherited: list[int]) -> int | None:
    """Fork the worker a client asks for, or tell it why not; the worker's pid, or None. `inherited`: the server's
    descriptors, closed in the worker."""
    fds: list[int] = []
    try:
        conn.settimeout(30)  # a client sends its request at once; one that does not is dropped
        _, fds, _, _ = socket.recv_fds(conn, 1, 4)
        request = _receive(conn)
        conn.settimeout(None)
        differ = preloaded.differ(request["env"])
        if not differ:
            preloaded.import_later(request["env"])
            differ = preloaded.unsafe
        if len(fds) != 4 or differ:
            _send(conn, {"pid": None, "why": differ})
            raise ConnectionAbortedError
    except (OSError, ValueError, KeyError, ConnectionError):
        for fd in fds:
            os.close(fd)
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            for fd in inherited:
                os.close(fd)
            conn.close()
            _become_worker(request, fds)
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        else:
            code = 0
        _exit(code)
    for fd in fds:
        os.close(fd)
    try:
        _send(conn, {"pid": pid})
    except OSError:
        pass  # the client is gone: the worker ends with it (its end of the pipe is closed)
    return pid


def _become_worker(request: dict, fds: list[int]) -> None:
    """In the forked child: the worker's streams, environment, directory and path, then Ray's worker program."""
    import runpy

    os.setpgid(0, 0)  # a process group of its own, as Ray starts a worker in: Ray kills a worker by its group
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
        os.close(fd)
    alive = fds[3]  # the client holds the other end: end of file means the client died, and the worker with it
    threading.Thread(target=_die_with, args=(alive,), daemon=True).start()
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.path[:] = request["path"]
    sys.argv = request["argv"]
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()  # fresh entropy, as a new process's global generator
    _follow_rays_thread_count()
    runpy.run_path(request["argv"][0], run_name="__main__")


def _follow_rays_thread_count() -> None:
    """A Ray worker sets OMP_NUM_THREADS (to its CPUs, 1 by default) when it first runs a task, if unset; a fresh
    worker imports torch after that and takes it as torch's thread count. Here torch is already imported: apply the
    value when Ray sets it."""
    import ray._private.utils as ray_utils
    import torch

    set_if_unset = ray_utils.set_omp_num_threads_if_unset

    def set_and_apply() -> bool:
        changed = set_if_unset()
        if changed:
            torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        return changed

    ray_utils.set_omp_num_threads_if_unset = set_and_apply


def _die_with(fd: int) -> None:
    while os.read(fd, 1):
        pass
    os.kill(os.getpid(), signal.SIGKILL)


def _exit(code: int) -> None:
    import atexit

    try:
        atexit._run_exitfuncs()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def start_fork_server(path, env: dict[str, str], cwd, later: tuple[str, ...] = ()) -> subprocess.Popen:
    """The server at `path` (its folder made), with the environment the run's workers will have, once it listens
    (it imports PRELOAD after that, while clients wait, and the modules `later` before its first fork); it ends with
    the process that started it."""
    import time

    from recipe.tools.lifecycle import die_with_parent

    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    command = [sys.executable, "-m", MODULE, "serve", str(path), ",".join(PRELOAD), ",".join(later)]
    server = subprocess.Popen(command, env=env, cwd=cwd, start_new_session=True, preexec_fn=die_with_parent)
    while not os.path.exists(path) and server.poll() is None:
        time.sleep(0.01)
    return server


def fork_client(path) -> str:
    """Ray's `py_executable` for workers forked by the server at `path`."""
    return f"{sys.executable} -m {MODULE} {path}"


# ---------------------------------------------------------------- the client


def run_worker(path: str, argv: list[str]) -> None:
    """What Ray starts: the worker forked by the server at `path`, or, where it cannot be, `exec python argv`."""
    fresh = [sys.executable, *argv]
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(path)
        alive_r, alive_w = os.pipe()
        socket.send_fds(conn, [b"F"], [0, 1, 2, alive_r])
        os.close(alive_r)
        # sys.path as `python WORKER` would have it: the worker's folder first, then this interpreter's
        worker_path = [os.path.dirname(os.path.abspath(argv[0])), *sys.path[1:]]
        _send(conn, {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd(), "path": worker_path})
        answer = _receive(conn)
    except (OSError, ConnectionError, ValueError) as err:
        answer = {"pid": None, "why": f"no fork server at {path}: {err}"}
    pid = answer["pid"]
    if pid is None:
        print(f"{MODULE}: a worker started fresh: {answer['why']}", file=sys.stderr, flush=True)
        os.execv(sys.executable, fresh)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, lambda number, _: os.kill(pid, number))
    try:
        status = _receive(conn)["status"]
    except (OSError, ConnectionError, ValueError):
        status = 1 << 8
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # killed by a signal: so is the client
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], *(names.split(",") if names else [] for names in sys.argv[3:5]))
    else:
        run_worker(sys.argv[1], sys.argv[2:])
