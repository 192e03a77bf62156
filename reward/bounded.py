"""Run pure functions under a hard, process-level time limit, in parallel, from any caller and any thread.

Answer checkers (math-verify, SymPy) can run for minutes on adversarial answers (`100000000!`), and their own
timeouts rely on SIGALRM, which raises outside the main thread and cannot interrupt C code. Here each call runs in
a worker process with a hard limit: a call that outlives it has its worker killed and replaced.

The workers belong to a host process started from this project's own entry module (`reward/checker_host.py`), never
from the caller's: the caller may be a guarded or unguarded script, `python -` or `-c`, a notebook, a thread, a Ray
actor or verl's reward loop, and the checks give the same answers from each. One host per pool size per calling
process, started on first use; it stops when the caller exits (normally, on SIGTERM, or killed), its workers with it.

Every call gets an `Outcome`: "ok" with the function's value, "timeout" when it ran out of time, or "error" when it
raised or its process died; a crash is never a verdict. If workers cannot start at all, or a batch gets no answer
within its deadline, `CheckerError` says why.

A slow machine is not a broken one: the host's start (importing SymPy and the checks, starting the first worker) may
take minutes when the cores are busy. So the start has a limit that scales with the machine's load (120 s at one
runnable process a core, `JUSTRL_CHECKER_START_S` sets it) and, past it, the wait goes on as long as the host and
its workers keep using CPU (`_wait`); only a host that exits, or that sits idle past the limit, is an error, which
says which limit it hit and how to raise it. A start that fails is tried once more before the error is raised, so a
reward worker or a grading run does not die of one bad start. A batch's deadline works the same way.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 120.0  # for the host and its first worker to import SymPy and the checks' modules, on an idle machine
START_LIMIT_ENV = "JUSTRL_CHECKER_START_S"  # sets the start limit, in seconds, instead
RESPAWN_S = 2.0  # per round of calls: replacing a killed worker, and IPC
# The host is this package's checker_host, found from the folder its top-level package is in, wherever the package
# sits (`reward` here, or a copy inside another package).
HOST_MODULE = f"{__package__}.checker_host"
PROJECT_ROOT = str(Path(__file__).resolve().parents[__package__.count(".") + 1])
logger = logging.getLogger(__name__)


def start_limit_s() -> float:
    """How long the host's start may take before it must show progress: `JUSTRL_CHECKER_START_S`, or 120 s times the
    machine's load per core when that is above 1."""
    if os.environ.get(START_LIMIT_ENV):
        return float(os.environ[START_LIMIT_ENV])
    return START_TIMEOUT_S * max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


def _cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process and its descendants (0 when it is gone)."""
    import psutil

    try:
        procs = [psutil.Process(pid)]
        procs += procs[0].children(recursive=True)
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            continue
    return total


BUSY = 0.1  # of a core: what counts as working (a pool's polling threads use far less, an import all of one)


def _wait(ready: Callable[[float], bool], pid: int, limit_s: float, alive: Callable[[], bool]) -> str | None:
    """Wait until `ready(timeout)` is true; past `limit_s`, only while process `pid` and its children keep working
    (at least `BUSY` of a core over the last `max(5 s, limit/4)`). Returns None when ready, else why the wait ended."""
    start = time.monotonic()
    window = max(5.0, limit_s / 4)
    samples = [(start, _cpu_seconds(pid))]
    while not ready(1.0):
        if not alive():
            return "exited"
        now = time.monotonic()
        samples.append((now, _cpu_seconds(pid)))
        while len(samples) > 2 and samples[1][0] <= now - window:
            samples.pop(0)  # keep one sample at least `window` old
        (then, used_then), (_, used_now) = samples[0], samples[-1]
        if now - start > limit_s and now - then >= window and used_now - used_then < BUSY * (now - then):
            return f"no answer within {limit_s:.0f} s and no CPU progress for {window:.0f} s"
    return None


class CheckerError(RuntimeError):
    """The checker processes could not start, or stopped answering."""


@dataclass(frozen=True)
class Outcome:
    status: str  # "ok", "timeout" or "error"
    value: Any = None
    detail: str | None = None  # what raised or died, for "error"


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def _tail(file) -> str:
    file.seek(0)
    lines = file.read().decode(errors="replace").strip().splitlines()
    return "\n".join(lines[-15:])


class _Host:
    """A `reward.checker_host` process and the thread that reads its answers."""

    def __init__(self, workers: int, preload: Sequence[str]):
        self.workers, self.pid = workers, os.getpid()
        ours, theirs = socket.socketpair()
        self.stderr = tempfile.TemporaryFile()
        # The host imports checks by module name, from this project and from wherever the caller imports them.
        path = [PROJECT_ROOT, *(p for p in sys.path if p and os.path.isdir(p))]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(path))}
        command = [sys.executable, "-m", HOST_MODULE, "--fd", str(theirs.fileno()), "--workers", str(workers)]
        command += [arg for module in preload for arg in ("--preload", module)]
        self.proc = subprocess.Popen(
            command,
            pass_fds=(theirs.fileno(),),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
        )  # fmt: skip  (no inherited stdout: a stray child would hold the caller's pipe open)
        theirs.close()
        self.conn = Connection(ours.detach())
        self._await_ready()
        self.ids, self.pending, self.lock, self.send_lock = itertools.count(), {}, threading.Lock(), threading.Lock()
        threading.Thread(target=self._read, name="checker-host-reader", daemon=True).start()

    def _await_ready(self) -> None:
        def poll(timeout: float) -> bool:
            try:
                return self.conn.poll(timeout)
            except (EOFError, OSError):
                return True  # the recv below says what happened

        limit = start_limit_s()
        stopped = _wait(poll, self.proc.pid, limit, lambda: self.proc.poll() is None)
        message = None
        if stopped is None:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                stopped = "exited"
        if message == ("ready", None):
            return
        self.close(wait_s=0 if stopped not in (None, "exited") else 15)  # a stuck start is stopped at once
        if message:
            cause = message[1]
        elif stopped == "exited":
            cause = f"the host exited with code {self.proc.returncode}"
        else:
            cause = (f"{stopped}: the start limit was hit; on a busy machine raise it, e.g. {START_LIMIT_ENV}="
                     f"{4 * limit:.0f}")  # fmt: skip
        raise CheckerError(
            f"answer-check worker processes could not start ({cause}).\n{_tail(self.stderr)}\n"
            f"Command: {' '.join(self.proc.args)}"
        )

    def _read(self) -> None:
        while True:
            try:
                request_id, results = self.conn.recv()
            except (EOFError, OSError):
                break
            with self.lock:
                future = self.pending.pop(request_id, None)
            if future is not None:
                future.set_result(results)
        with self.lock:
            pending, self.pending = list(self.pending.values()), {}
        for future in pending:
            future.set_exception(CheckerError(f"the checker host stopped (exit code {self.proc.poll()})"))

    def map(self, fn: Callable, calls: list[Sequence[Any]], timeout_s: float) -> list[Outcome]:
        future: Future = Future()
        with self.lock:
            request_id = next(self.ids)
            self.pending[request_id] = future
        with self.send_lock:
            self.conn.send((request_id, fn.__module__, fn.__qualname__, [tuple(c) for c in calls], timeout_s))
        rounds = math.ceil(len(calls) / self.workers)
        deadline = rounds * (timeout_s + RESPAWN_S) + start_limit_s()
        stopped = _wait(lambda t: _done(future, t), self.proc.pid, deadline, self.alive)
        if stopped is not None and not future.done():
            why = f"the checker host exited (code {self.proc.poll()})" if stopped == "exited" else stopped
            raise CheckerError(f"{len(calls)} checks got no answer: {why}")
        results = future.result()
        return [Outcome(status, value if status == "ok" else None, value if status == "error" else None)
                for status, value in results]  # fmt: skip

    def alive(self) -> bool:
        return self.proc.poll() is None and self.pid == os.getpid()

    def close(self, wait_s: float = 15) -> None:
        # Shut the socket down before closing it: the reader thread's pending read holds the socket open (so the
        # host would never see end-of-file); a shutdown ends both the read here and the host's, at once.
        try:
            with socket.socket(fileno=os.dup(self.conn.fileno())) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()  # the host sees end-of-file, stops its pool and exits
        try:
            self.proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:  # stuck: the host, its forkserver and workers
            import psutil

            try:
                tree = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
            except psutil.Error:
                tree = []
            for proc in tree:
                try:
                    proc.kill()
                except psutil.Error:
                    pass
            self.proc.wait()


def _done(future: Future, timeout: float) -> bool:
    try:
        future.exception(timeout=timeout)
    except FutureTimeout:
        return False
    return True


# One host per (workers, module of the checks): its workers fork with that module imported, so no check's time limit
# pays for importing it (a host started for another module imported it inside the first call's limit).
_hosts: dict[tuple[int, str], _Host] = {}
_hosts_lock = threading.Lock()


def _host(workers: int, preload: str) -> _Host:
    with _hosts_lock:
        host = _hosts.get((workers, preload))
        if host is None or not host.alive():
            if host is not None and host.pid == os.getpid():
                host.close()
            try:
                host = _Host(workers, [preload])
            except CheckerError as err:  # one more try before a reward worker or a grading run gives up
                logger.warning("answer-check workers did not start (%s); trying once more", str(err).splitlines()[0])
                host = _Host(workers, [preload])
            _hosts[workers, preload] = host
        return host


def bounded_map(
    fn: Callable[..., Any], calls: Iterable[Sequence[Any]], timeout_s: float, workers: int | None = None
) -> list[Outcome]:
    """`fn(*args)` for each of `calls`, each under `timeout_s` seconds, in parallel; one `Outcome` per call, in order.
    `fn` must be a module-level function of an importable module (it runs in the checker host's workers)."""
    calls = list(calls)
    if not calls:  # nothing to check: do not start a host
        return []
    return _host(workers or default_workers(), fn.__module__).map(fn, calls, timeout_s)


def bounded_decide(
    items: Iterable[Sequence[Any]],
    decide_here: Callable[..., bool | None],
    check: Callable[..., Any],
    timeout_s: float,
    workers: int | None = None,
) -> list[tuple[bool, str]]:
    """(verdict, how) for each item: `decide_here(*item)` settles the cheap cases in this process (a bool, or None to
    defer; how = "here"); the rest run as `check(*item)` under `timeout_s` (how = "checked"), where a timeout or an
    error gives (False, "timeout") or (False, "error: ...")."""
    items = list(items)
    verdicts = [decide_here(*item) for item in items]
    todo = [i for i, verdict in enumerate(verdicts) if verdict is None]
    results = [(bool(verdict), "here") for verdict in verdicts]
    for i, out in zip(todo, bounded_map(check, [items[i] for i in todo], timeout_s, workers), strict=True):
        how = {"ok": "checked", "timeout": "timeout"}.get(out.status, f"error: {out.detail}")
        results[i] = (bool(out.value), how)
    return results


@atexit.register
def _shutdown() -> None:
    for host in _hosts.values():
        if host.pid == os.getpid():
            host.close()
