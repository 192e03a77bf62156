"""Run pure functions under a hard, process-level time limit, in parallel, from any thread.

Answer checkers (math-verify, SymPy) can run for minutes on adversarial answers (`100000000!`), and their own
timeouts rely on SIGALRM, which raises outside the main thread and cannot interrupt C code. Here each call runs in
a worker of a pebble process pool; a call that outlives its limit has its worker killed and replaced, and its
result is None. Workers are started by a forkserver (never forked from a threaded trainer or Ray actor) and shared
per pool size for the life of the process.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from pebble import ProcessPool

_pools: dict[int, ProcessPool] = {}
_pools_lock = threading.Lock()


def _init_worker() -> None:
    # The pool enforces the time limit; silence math-verify's per-call "timeout disabled" warning.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    import math_verify  # noqa: F401  (pay the SymPy import once per worker, not on the first check)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def _pool(workers: int, preload: str) -> ProcessPool:
    with _pools_lock:
        pool = _pools.get(workers)
        if pool is None or not pool.active:
            context = multiprocessing.get_context("forkserver")
            # Workers killed for a timeout are replaced by a fork of the server: with SymPy and the task's module
            # (which may import verl and torch, seconds each) already imported there, a replacement is ready at once.
            # The preload list counts only before the process's forkserver starts, i.e. for the first pool.
            context.set_forkserver_preload(["math_verify", preload])
            pool = ProcessPool(max_workers=workers, initializer=_init_worker, context=context)
            _pools[workers] = pool
        return pool


def bounded_map(
    fn: Callable[..., Any], calls: Iterable[Sequence[Any]], timeout_s: float, workers: int | None = None
) -> list[Any]:
    """`[fn(*args) for args in calls]`, each under `timeout_s` seconds; None where a call timed out or raised."""
    calls = list(calls)
    if not calls:  # nothing to check: do not start (or import into) a pool
        return []
    pool = _pool(workers or default_workers(), fn.__module__)
    futures = [pool.schedule(fn, args=tuple(args), timeout=timeout_s) for args in calls]
    results = []
    for future in futures:
        try:
            results.append(future.result())
        except (FutureTimeout, Exception):  # timed out (worker killed), raised, or the worker died
            results.append(None)
    return results


def bounded_decide(
    items: Iterable[Sequence[Any]],
    decide_here: Callable[..., bool | None],
    check: Callable[..., Any],
    timeout_s: float,
    workers: int | None = None,
) -> list[tuple[bool, bool]]:
    """(verdict, timed_out) for each item: `decide_here(*item)` settles the cheap cases in this process (a bool, or
    None to defer); the rest run as `check(*item)` in the pool under `timeout_s`, where a timeout is (False, True)."""
    items = list(items)
    verdicts = [decide_here(*item) for item in items]
    todo = [i for i, verdict in enumerate(verdicts) if verdict is None]
    results = [(bool(verdict), False) for verdict in verdicts]
    for i, ok in zip(todo, bounded_map(check, [items[i] for i in todo], timeout_s, workers), strict=True):
        results[i] = (bool(ok), ok is None)
    return results


@atexit.register
def _shutdown() -> None:
    for pool in _pools.values():
        pool.stop()
        pool.join(timeout=5)
