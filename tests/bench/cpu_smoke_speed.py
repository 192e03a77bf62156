"""Wall time and peak memory of `bash launch/cpu_smoke.sh` (run by hand: `python tests/bench/cpu_smoke_speed.py`).

Samples the machine's used memory every 0.5 s while the smoke runs (the trainer is a tree of Ray processes, so one
process's peak says little) and prints the peak above the idle baseline. Target (issue 5): <= 5 min, <= 12 GB.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    baseline = psutil.virtual_memory().used
    start = time.monotonic()
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe: verl prints far more than a pipe buffers
        proc = subprocess.Popen(["bash", str(REPO / "launch" / "cpu_smoke.sh")], stdout=log, stderr=subprocess.STDOUT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, psutil.virtual_memory().used - baseline)
            time.sleep(0.5)
        elapsed = time.monotonic() - start
        log.seek(0)
        last = log.read().strip().splitlines()[-1:] or ["(no output)"]
    print(last[0])
    print(f"exit {proc.returncode}; wall {elapsed:.0f} s; peak memory above baseline {peak / 2**30:.2f} GiB")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
