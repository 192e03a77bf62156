"""recipe/cpu/plugin.py through verl's own `verl.plugins` entry-point loading: the `hf` rollout name always, the CPU
platform only with VERL_PLATFORM=cpu, and never the platform on a machine that did not ask for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

PROBE = """
import json, sys
import verl
from verl.workers.rollout import base
from verl.workers.rollout.replica import RolloutReplicaRegistry
from verl.utils.device import get_device_name
try:
    device = get_device_name()
except Exception as err:  # VERL_PLATFORM names a platform nobody registered
    device = f"error: {err}"
print(json.dumps({
    "platform_module": "recipe.cpu.platform" in sys.modules,
    "hf_module": "recipe.cpu.hf_rollout" in sys.modules,
    "hf_registered": "hf" in RolloutReplicaRegistry._registry and ("hf", "async") in base._ROLLOUT_REGISTRY,
    "device": device,
}))
"""


def probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ("VERL_PLATFORM", "VERL_USE_EXTERNAL_MODULES")}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env={**clean, **env},
                         check=True, cwd="/")  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_project_declares_its_verl_plugin():
    assert [ep.value for ep in entry_points(group="verl.plugins") if ep.name == "justrl"] == ["recipe.cpu.plugin"]


def test_without_verl_platform_cpu_only_the_hf_rollout_name_is_registered():
    seen = probe()
    assert seen["hf_registered"] and not seen["hf_module"]  # by name: its module is imported only when selected
    assert not seen["platform_module"] and seen["device"] != "cpu"  # verl's own detection chose


def test_with_verl_platform_cpu_every_verl_process_gets_the_cpu_platform():
    seen = probe(VERL_PLATFORM="cpu")
    assert seen["platform_module"] and seen["device"] == "cpu" and seen["hf_registered"]


def test_verls_switch_turns_the_plugin_off():
    seen = probe(VERL_PLATFORM="cpu", VERL_USE_EXTERNAL_PLUGINS="none")
    assert not seen["platform_module"] and not seen["hf_registered"] and seen["device"].startswith("error: ")
