"""Seconds the launch preflight takes, before anything starts (run by hand).

    python tests/bench/preflight_speed.py [--before REV] [--repeat 3]

For this checkout and, with `--before REV`, another revision (a scratch git worktree, first on PYTHONPATH), one after
the other in one invocation, times `bash launch/deepseek.sh` on three commands that the preflight stops (exit 2):
a mistyped `+key` (stopped by the key check, without importing verl), the plain recipe on a machine without its
data or GPUs (the cheap checks), and the CPU smoke's config, whose cheap checks pass, up to `preflight: ok` through
verl's `validate_config` and the extension check (`python -m recipe.tools.preflight`, which does not train). Prints
the median of `--repeat` runs of each, side by side. Target (issue 34): a mistyped key stopped in under 5 s on an idle
machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    start = time.monotonic()
    rc = subprocess.run(command, env=env, cwd=cwd, capture_output=True).returncode
    return time.monotonic() - start, rc


def cases(repo: Path, workdir: Path) -> dict[str, list[str]]:
    smoke = ["--config-path", str(repo / "recipe"), "--config-name", "justrl", "+smoke@_global_=cpu",
             f"justrl.data_dir={workdir / 'data'}", f"justrl.checkpoint_dir={workdir / 'ckpt'}",
             f"actor_rollout_ref.model.path={workdir / 'model'}"]  # fmt: skip
    return {
        "mistyped +key": ["bash", str(repo / "launch" / "deepseek.sh"), "+trainer.total_trainig_steps=1"],
        "no data, no GPU": ["bash", str(repo / "launch" / "deepseek.sh")],
        "smoke config, all checks": [sys.executable, "-m", "recipe.tools.preflight", *smoke],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="another revision to time beside this checkout")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from recipe.smoke import toy_task

    with tempfile.TemporaryDirectory(prefix="justrl-preflight-") as tmp:
        workdir = Path(tmp)
        toy_task.write_data(workdir / "data")
        toy_task.cached_base_model(workdir / "model")
        repos = {"this checkout": REPO}
        if args.before:
            other = workdir / "before"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(other), args.before],
                           check=True, capture_output=True)  # fmt: skip
            repos[args.before] = other
        try:
            results = {}
            for label, repo in repos.items():
                env = {**os.environ, "PYTHONPATH": f"{repo}:{os.environ.get('PYTHONPATH', '')}", "DATA_DIR": tmp}
                for case, command in cases(repo, workdir).items():
                    runs = [timed(command, env, repo) for _ in range(args.repeat)]
                    results[(label, case)] = (statistics.median(t for t, _ in runs), runs[0][1])
        finally:
            if args.before:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(workdir / "before")])
    print(f"{'case':<28}" + "".join(f"{label:>24}" for label in repos))
    for case in cases(REPO, Path(tmp)):
        cells = [f"{results[(label, case)][0]:.2f} s (exit {results[(label, case)][1]})" for label in repos]
        print(f"{case:<28}" + "".join(f"{c:>24}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
