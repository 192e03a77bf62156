"""The GPU install: launch/install_gpu.sh, requirements.txt and the resolver check agree with verl 0.9.1's own pins.

The resolution itself (pip's resolver over the whole GPU set, about a minute) is `bash launch/install_gpu.sh --dry-run`,
which .ci/run calls.
"""

from __future__ import annotations

from importlib.metadata import requires

from conftest import REPO

from recipe.tools.gpu_install_check import mismatches, pins


def test_the_pins_are_verls_own():
    """verl 0.9.1's metadata: its vllm extra pins torch/vllm/transformers, its flash-attn extra flash-attn."""
    verl = pins(r for r in requires("verl") if "vllm" in r or "flash-attn-cu130torch211" in r)
    script = (REPO / "launch" / "install_gpu.sh").read_text()
    for name in ("torch", "torchvision", "torchaudio", "flash-attn"):
        assert f"{name}=={verl[name]}" in script, name
    requirements = pins(["-r", str(REPO / "requirements.txt")])
    assert requirements["verl"] == "0.9.1"
    for name in ("torch", "vllm", "transformers"):
        assert requirements[name] == verl[name], name


def test_flash_attn_is_installed_after_torch_and_without_build_isolation():
    steps = [line for line in (REPO / "launch" / "install_gpu.sh").read_text().splitlines() if line.startswith("pip ")]
    assert '"${TORCH[@]}"' in steps[0]
    assert steps[2] == 'pip install --no-build-isolation "$FLASH_ATTN"'
    assert steps[-1].endswith("-r requirements.txt")


def test_a_resolved_version_other_than_the_pin_is_named(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\nverl[vllm]==0.9.1\ntorch==2.11.0  # why\ntqdm>=4\n-e .\n")
    pinned = pins(["flash-attn==2.8.3", "-r", str(requirements)])
    assert pinned == {"flash-attn": "2.8.3", "verl": "0.9.1", "torch": "2.11.0"}
    resolved = {**pinned, "torch": "2.12.0", "tqdm": "4.67.0"}
    del resolved["flash-attn"]
    assert mismatches(resolved, pinned) == [
        "flash-attn: resolved nothing, pinned 2.8.3",
        "torch: resolved 2.12.0, pinned 2.11.0",
    ]
    assert mismatches(dict(pinned), pinned) == []
