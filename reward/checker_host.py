"""The process that runs answer checks for `reward.bounded`: `python -m reward.checker_host --fd N --workers W`.

It is started by `reward.bounded` with one end of a socket pair, and runs a pebble process pool whose workers fork
from a forkserver in this process. Because this module is the host's `__main__`, the workers never re-run the
caller's main module (a script without a main guard, stdin, `-c`, a notebook): they only import this one, which does
nothing on import. Each request is one batch: (id, module, function name, argument tuples, time limit); the answer
is one (status, value) per call: ("ok", result), ("timeout", None) or ("error", "what raised or died").

The host exits, stopping its workers, when the caller closes its end (at exit, on SIGTERM or SIGKILL alike).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import multiprocessing
import socket
import sys
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.connection import Connection

from pebble import ProcessExpired, ProcessPool


def init_worker(modules: list[str]) -> None:
    """Import what the checks need (already imported in the forkserver, unless that failed: then fail here, loudly)."""
    for module in modules:
        importlib.import_module(module)
    # The pool enforces the time limit; silence math-verify's per-call "timeout disabled" warning.
    logging.getLogger("math_verify").setLevel(logging.ERROR)


def ready() -> bool:
    """A task every worker can run: proves that workers start and import the preloaded modules."""
    return True


def call(module: str, name: str, args: tuple):
    """Run `module.name(*args)` in a worker: the host itself never imports the checks (nor verl, nor SymPy)."""
    try:
        fn = getattr(importlib.import_module(module), name)
    except Exception as err:
        raise ImportError(f"cannot import {module}.{name}: {err}") from None
    return fn(*args)


def outcome(future) -> tuple[str, object]:
    try:
        return "ok", future.result()
    except FutureTimeout:
        return "timeout", None
    except ProcessExpired as err:
        return "error", f"checker process died (exit code {err.exitcode})"
    except Exception as err:  # the check raised: an error, not a verdict
        return "error", f"{type(err).__name__}: {err}"[:500]


class Host:
    def __init__(self, conn: Connection, workers: int, preload: list[str]):
        self.conn, self.send_lock = conn, threading.Lock()
        context = multiprocessing.get_context("forkserver")
        # Workers killed for a timeout are replaced by a fork of the server, where SymPy and the checks' modules are
        # already imported: a replacement is ready at once.
        modules = ["math_verify", *preload]
        context.set_forkserver_preload(modules)
        self.pool = ProcessPool(max_workers=workers, initializer=init_worker, initargs=(modules,), context=context)

    def send(self, message) -> None:
        with self.send_lock:
            self.conn.send(message)

    def answer(self, request_id: int, futures: list) -> None:
        self.send((request_id, [outcome(f) for f in futures]))

    def serve(self) -> None:
        status, detail = outcome(self.pool.schedule(ready, timeout=300))
        self.send(("ready", detail if status != "ok" else None))
        if status != "ok":
            return
        while True:
            try:
                request_id, module, name, calls, timeout_s = self.conn.recv()
            except (EOFError, OSError):  # the caller is gone
                return
            futures = [self.pool.schedule(call, args=(module, name, tuple(args)), timeout=timeout_s) for args in calls]
            threading.Thread(target=self.answer, args=(request_id, futures), daemon=True).start()

    def close(self) -> None:
        self.pool.stop()
        self.pool.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fd", type=int, required=True, help="this end of the caller's socket pair")
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--preload", action="append", default=[], help="modules the checks live in")
    args = parser.parse_args()
    conn = Connection(socket.socket(fileno=args.fd).detach())
    host = Host(conn, args.workers, args.preload)
    try:
        host.serve()
    finally:
        host.close()


if __name__ == "__main__":
    sys.exit(main())
