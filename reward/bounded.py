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
"""

from __future__ import annotations

import atexit
import itertools
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 120.0  # for the host and its first worker to import SymPy and the checks' modules
RESPAWN_S = 2.0  # per round of calls: replacing a killed worker, and IPC
PROJECT_ROOT = str(Path(__file__).resolve().parents[1])


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
        command = [sys.executable, "-m", "reward.checker_host", "--fd", str(theirs.fileno()), "--workers", str(workers)]
        command += [arg for module in preload for arg in ("--preload", module)]
        self.proc = subprocess.Popen(
            command, pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL, stderr=self.stderr
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self._await_ready()
        self.ids, self.pending, self.lock, self.send_lock = itertools.count(), {}, threading.Lock(), threading.Lock()
        threading.Thread(target=self._read, name="checker-host-reader", daemon=True).start()

    def _await_ready(self) -> None:
        message = None
        try:
            if self.conn.poll(START_TIMEOUT_S):
                message = self.conn.recv()
        except (EOFError, OSError):
            pass
        if message == ("ready", None):
            return
        self.close()
        cause = message[1] if message else f"the host exited with code {self.proc.returncode}"
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
        deadline = rounds * (timeout_s + RESPAWN_S) + START_TIMEOUT_S
        try:
            results = future.result(timeout=deadline)
        except FutureTimeout:
            raise CheckerError(f"{len(calls)} checks got no answer within {deadline:.0f} s") from None
        return [Outcome(status, value if status == "ok" else None, value if status == "error" else None)
                for status, value in results]  # fmt: skip

    def alive(self) -> bool:
        return self.proc.poll() is None and self.pid == os.getpid()

    def close(self) -> None:
        # Shut the socket down before closing it: the reader thread's pending read holds the socket open (so the
        # host would never see end-of-file); a shutdown ends both the read here and the host's, at once.
        try:
            with socket.socket(fileno=os.dup(self.conn.fileno())) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()  # the host sees end-of-file, stops its pool and exits
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_hosts: dict[int, _Host] = {}
_hosts_lock = threading.Lock()


def _host(workers: int, preload: str) -> _Host:
    with _hosts_lock:
        host = _hosts.get(workers)
        if host is None or not host.alive():
            if host is not None and host.pid == os.getpid():
                host.close()
            host = _hosts[workers] = _Host(workers, [preload])
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
