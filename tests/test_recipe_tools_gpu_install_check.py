"""The GPU install: launch/install_gpu.sh, requirements.txt and the resolver check agree with verl 0.9.1's own pins.

The resolution itself (pip's resolver over the whole GPU set, about a minute) is `bash launch/install_gpu.sh --dry-run`,
which .ci/run calls.
"""

from __future__ import annotations

import re
from importlib.metadata import requires

from conftest import REPO

from recipe.tools.gpu_install_check import PINS, mismatches


def pinned(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        match = re.match(r"\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([\w.]+)", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_the_pins_are_verls_own():
    """verl 0.9.1's metadata: its vllm extra pins torch/vllm/transformers, its flash-attn extra flash-attn."""
    verl = pinned(r.split(";")[0] for r in requires("verl") if "vllm" in r or "flash-attn-cu130torch211" in r)
    for name in ("torch", "vllm", "transformers", "flash-attn", "torchvision", "torchaudio"):
        if name in PINS:
            assert PINS[name] == verl[name], name
    script = (REPO / "launch" / "install_gpu.sh").read_text()
    for name in ("torch", "torchvision", "torchaudio", "flash-attn"):
        assert f"{name}=={verl[name]}" in script, name
    requirements = pinned((REPO / "requirements.txt").read_text().splitlines())
    assert all(requirements[name] == PINS[name] for name in PINS if name in requirements)


def test_flash_attn_is_installed_after_torch_and_without_build_isolation():
    steps = [line for line in (REPO / "launch" / "install_gpu.sh").read_text().splitlines() if line.startswith("pip ")]
    assert '"${TORCH[@]}"' in steps[0]
    assert steps[2] == 'pip install --no-build-isolation "$FLASH_ATTN"'
    assert steps[-1].endswith("-r requirements.txt")


def test_a_resolved_version_other_than_the_pin_is_named():
    resolved = {**PINS, "torch": "2.12.0"}
    del resolved["flash-attn"]
    assert mismatches(resolved) == [
        "torch: resolved 2.12.0, pinned 2.11.0",
        "flash-attn: resolved nothing, pinned 2.8.3",
    ]
    assert mismatches(dict(PINS)) == []
