"""Symbolic answer equivalence with math-verify, under a hard process-level time limit.

math-verify bounds its own work with SIGALRM, which raises outside the main thread (verl calls rewards from executor
threads inside Ray actors) and cannot interrupt a long computation inside SymPy's C code (`9**9**9`). So every check
runs in a worker process of a small pebble pool; a check that outlives `timeout_s` has its worker killed and
replaced and counts as not equivalent. Nothing here raises on any pair of strings.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
from collections.abc import Iterable
from concurrent.futures import TimeoutError as FutureTimeout

from pebble import ProcessPool

DEFAULT_TIMEOUT_S = 5.0

_pools: dict[int, ProcessPool] = {}
_pools_lock = threading.Lock()


def _init_worker() -> None:
    # The pool enforces the time limit; silence math-verify's per-call "timeout disabled" warning.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    import math_verify  # noqa: F401  (pay the SymPy import once per worker, not on the first check)


def _boxed(answer: str) -> str:
    # math-verify's LaTeX extractor reads a boxed expression first; boxing both sides lets plain numbers, LaTeX and
    # text answers go through the same path.
    return "\\boxed{" + answer + "}"


def math_equal_unbounded(pred: str, gold: str) -> bool:
    """math-verify equivalence of two bare answers, in this process, with no time limit. Prefer `math_equal`."""
    from math_verify import parse, verify

    try:
        gold_parsed = parse(_boxed(gold), parsing_timeout=None)
        pred_parsed = parse(_boxed(pred), parsing_timeout=None)
        if not gold_parsed or not pred_parsed:
            return False
        return bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))
    except Exception:  # math-verify and SymPy raise many types on odd input; an unparseable answer is wrong
        return False


def _pool(workers: int) -> ProcessPool:
    with _pools_lock:
        pool = _pools.get(workers)
        if pool is None or not pool.active:
            # forkserver: workers are forked from a clean server, never from a threaded Ray actor or trainer.
            pool = ProcessPool(
                max_workers=workers, initializer=_init_worker, context=multiprocessing.get_context("forkserver")
            )
            _pools[workers] = pool
        return pool


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def math_equal_many(
    pairs: Iterable[tuple[str, str]], timeout_s: float = DEFAULT_TIMEOUT_S, workers: int | None = None
) -> list[bool]:
    """`math_equal` over many (pred, gold) pairs in parallel; one result per pair, in order."""
    pool = _pool(workers or default_workers())
    futures = []
    results: list[bool | None] = []
    for pred, gold in pairs:
        if pred == gold:  # exact match needs no SymPy (and no worker round trip)
            results.append(True)
            futures.append(None)
        else:
            results.append(None)
            futures.append(pool.schedule(math_equal_unbounded, args=(pred, gold), timeout=timeout_s))
    for i, future in enumerate(futures):
        if future is None:
            continue
        try:
            results[i] = bool(future.result())
        except (FutureTimeout, Exception):  # timed out (worker killed), worker died, or pool broke
            results[i] = False
    return [bool(r) for r in results]


def math_equal(pred: str, gold: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> bool:
    """Whether math-verify finds `pred` equivalent to `gold` within `timeout_s` seconds (hard limit)."""
    return math_equal_many([(pred, gold)], timeout_s=timeout_s)[0]


@atexit.register
def _shutdown() -> None:
    for pool in _pools.values():
        pool.stop()
        pool.join(timeout=5)
