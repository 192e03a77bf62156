"""Resolve the whole GPU install with pip's own resolver, install nothing, and check the recipe's pins.

    python -m recipe.tools.gpu_install_check REQUIREMENT... [-r FILE] -- [PIP OPTIONS]

`bash launch/install_gpu.sh --dry-run` calls it (and CI, on a CPU-only machine): one `pip install --dry-run
--ignore-installed --report` of torch, flash-attn and requirements.txt together. flash-attn is handled as the install
script handles it, without build isolation: its setup script needs torch to write its metadata, and any torch in
this environment serves, since that metadata names no torch version (`FLASH_ATTENTION_SKIP_CUDA_BUILD` keeps it
from compiling). Exit 1 on a resolver conflict, a missing build dependency, or a resolved version other than an
`==` pin of the arguments or the requirement files.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PREREQUISITES = ["packaging", "setuptools", "wheel", "psutil", "einops", "ninja"]  # what flash-attn's setup imports


def pins(requirements: Iterable[str]) -> dict[str, str]:
    """{name: version} of every exact pin (`name==version`) among requirement strings and `-r FILE` arguments: what
    the install asks for, so the check compares the resolution with the install's own pins and keeps no copy."""
    lines, args = [], iter(requirements)
    for arg in args:
        lines.extend(Path(next(args)).read_text().splitlines() if arg == "-r" else [arg])
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found = {}
    for line in lines:
        line = line.split(" #")[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        requirement = Requirement(line)
        for spec in requirement.specifier:
            if spec.operator == "==":
                found[canonicalize_name(requirement.name)] = spec.version
    return found


def resolve(requirements: list[str], pip_options: list[str]) -> dict[str, str]:
    """{package name: version} of everything pip would install; RuntimeError with pip's last words on failure."""
    from packaging.utils import canonicalize_name

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-build-isolation",
            "--quiet", "--report", str(report), *pip_options, *requirements,
        ]  # fmt: skip
        env = {**os.environ, "FLASH_ATTENTION_SKIP_CUDA_BUILD": "TRUE", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        out = subprocess.run(command, capture_output=True, text=True, env=env)
        if out.returncode != 0:
            raise RuntimeError("\n".join((out.stdout + out.stderr).strip().splitlines()[-25:]))
        installs = json.loads(report.read_text())["install"]
    return {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"] for item in installs}


def mismatches(resolved: dict[str, str], pinned: dict[str, str]) -> list[str]:
    return [
        f"{name}: resolved {resolved.get(name, 'nothing')}, pinned {version}"
        for name, version in pinned.items()
        if resolved.get(name) != version
    ]


def in_scratch_environment(argv: list[str], requirements: list[str], pip_options: list[str]) -> int:
    """Run this check in a scratch virtual environment with its prerequisites, then remove it (see module doc)."""
    torch = os.environ.get("DRY_RUN_TORCH") or next((r for r in requirements if r.startswith("torch==")), "torch")
    scratch = Path(tempfile.mkdtemp(prefix="justrl-gpu-check-"))
    try:
        print(f"gpu install check: this environment lacks packaging or torch; preparing a scratch one in {scratch} "
              f"with {torch} and {', '.join(PREREQUISITES)} (removed afterwards)...", flush=True)  # fmt: skip
        subprocess.run([sys.executable, "-m", "venv", str(scratch)], check=True)
        python = str(scratch / "bin" / "python")
        install = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *pip_options]
        done = subprocess.run([*install, *torch.split(), *PREREQUISITES])
        if done.returncode != 0:
            print(f"gpu install check: could not prepare the scratch environment (pip exit {done.returncode}); set "
                  "DRY_RUN_TORCH to a torch pip can install here", file=sys.stderr)  # fmt: skip
            return 1
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        return subprocess.run([python, "-m", "recipe.tools.gpu_install_check", *argv], env=env).returncode
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    requirements, pip_options = argv[:split], argv[split + 1 :]
    if not all(importlib.util.find_spec(name) for name in ("packaging", "torch")):
        return in_scratch_environment(argv, requirements, pip_options)
    start = time.monotonic()
    print(f"gpu install check: resolving {' '.join(requirements)} with pip (1-4 minutes, measured)...", flush=True)
    try:
        resolved = resolve(requirements, pip_options)
    except RuntimeError as err:
        print(f"gpu install check: pip cannot resolve the GPU install:\n{err}", file=sys.stderr)
        return 1
    pinned = pins(requirements)
    wrong = mismatches(resolved, pinned)
    for line in wrong:
        print(f"gpu install check: {line}", file=sys.stderr)
    if wrong:
        return 1
    listed = ", ".join(f"{name} {version}" for name, version in pinned.items())
    print(
        f"gpu install check: ok, {len(resolved)} packages resolve, every pin held ({listed}) in "
        f"{time.monotonic() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
