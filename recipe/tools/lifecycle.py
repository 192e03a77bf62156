"""One run per working directory, and a trainer that dies with its launcher.

- `workdir_lock(workdir)`: the launcher holds an exclusive lock on `<workdir>/.justrl-run.lock` while its run lives.
  A second launch in the same folder waits for the first to end (saying so), instead of putting two trainers on one
  checkpoint folder, or stopping the other's processes when it cleans up its own (both carry the folder's marker).
  The kernel releases the lock when its holder dies, SIGKILL included.
- `die_with_parent`: given to `subprocess.Popen(preexec_fn=...)`, asks Linux to send the child SIGTERM when the
  launcher dies (`PR_SET_PDEATHSIG`), so a killed launcher never leaves its trainer (verl's driver) running. Ray's
  own processes of such a run (verl's training loop runs in one of them) may still finish the step under way and save
  it; the next launch in the folder stops them (recipe/smoke/run.py `stop_ray` by marker) before it reads the
  checkpoints to decide where to resume.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies (Linux; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def workdir_lock(workdir: Path, poll_s: float = 1.0) -> Iterator[None]:
    """Hold `<workdir>/.justrl-run.lock` for the duration; wait (with one line saying so) while another run holds it."""
    path = workdir / ".justrl-run.lock"
    with open(path, "a+") as handle:
        waited = None
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if waited is None:
                    handle.seek(0)
                    holder = handle.read().strip() or "?"
                    print(f"smoke: waiting for the run already in {workdir} (pid {holder}) to end", flush=True)
                    waited = time.monotonic()
                time.sleep(poll_s)
        if waited is not None:
            print(f"smoke: the earlier run ended after {time.monotonic() - waited:.0f} s; starting", flush=True)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
