"""Resolve the whole GPU install with pip's own resolver, install nothing, and check the recipe's pins.

    python -m recipe.tools.gpu_install_check REQUIREMENT... [-r FILE] -- [PIP OPTIONS]

`bash launch/install_gpu.sh --dry-run` calls it (and CI, on a CPU-only machine): one `pip install --dry-run
--ignore-installed --report` of torch, flash-attn and requirements.txt together. flash-attn is handled as the install
script handles it, without build isolation: its setup script needs torch to write its metadata, and any torch in
this environment serves, since that metadata names no torch version (`FLASH_ATTENTION_SKIP_CUDA_BUILD` keeps it
from compiling). Exit 1 on a resolver conflict, a missing build dependency, or a resolved version that is not the
pinned one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PINS = {"verl": "0.9.1", "torch": "2.11.0", "vllm": "0.24.0", "transformers": "5.9.0", "flash-attn": "2.8.3"}


def resolve(requirements: list[str], pip_options: list[str]) -> dict[str, str]:
    """{package name: version} of everything pip would install; RuntimeError with pip's last words on failure."""
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
    return {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"] for item in installs}


def mismatches(resolved: dict[str, str]) -> list[str]:
    return [
        f"{name}: resolved {resolved.get(name, 'nothing')}, pinned {version}"
        for name, version in PINS.items()
        if resolved.get(name) != version
    ]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    requirements, pip_options = argv[:split], argv[split + 1 :]
    start = time.monotonic()
    try:
        resolved = resolve(requirements, pip_options)
    except RuntimeError as err:
        print(f"gpu install check: pip cannot resolve the GPU install:\n{err}", file=sys.stderr)
        return 1
    wrong = mismatches(resolved)
    for line in wrong:
        print(f"gpu install check: {line}", file=sys.stderr)
    if wrong:
        return 1
    pins = ", ".join(f"{name} {version}" for name, version in PINS.items())
    print(f"gpu install check: ok, {len(resolved)} packages resolve ({pins}) in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
