"""recipe/cpu/plugin.py through verl's own `verl.plugins` entry-point loading: the CPU platform and the `hf` rollout
name with VERL_PLATFORM=cpu, the `hf` name alone with the smoke's JUSTRL_HF_ROLLOUT=1, and nothing at all on a machine
that asked for neither (a GPU machine's `import verl`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

PROBE = """
import json, sys
import verl
from verl.experimental.agent_loop.agent_loop import _agent_loop_registry
from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY, POLICY_LOSS_REGISTRY
from verl.utils.device import get_device_name
from verl.workers.rollout import base
from verl.workers.rollout.replica import RolloutReplicaRegistry
try:
    device = get_device_name()
except Exception as err:  # VERL_PLATFORM names a platform nobody registered
    device = f"error: {err}"
registries = {  # verl's registries of names, private ones included
    "rollouts": sorted(map(str, base._ROLLOUT_REGISTRY.items())),
    "replicas": sorted(RolloutReplicaRegistry._registry),
    "agent_loops": sorted(_agent_loop_registry),
    "losses": sorted(POLICY_LOSS_REGISTRY),
    "advantages": sorted(ADV_ESTIMATOR_REGISTRY),
}
print(json.dumps({
    "registries": registries,
    "platform_module": "recipe.cpu.platform" in sys.modules,
    "hf_module": "recipe.cpu.hf_rollout" in sys.modules,
    "hf_registered": "hf" in RolloutReplicaRegistry._registry and ("hf", "async") in base._ROLLOUT_REGISTRY,
    "device": device,
}))
"""


def probe(**env: str) -> dict:
    unset = ("VERL_PLATFORM", "VERL_USE_EXTERNAL_MODULES", "VERL_USE_EXTERNAL_PLUGINS", "JUSTRL_HF_ROLLOUT")
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env={**clean, **env},
                         check=True, cwd="/")  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_project_declares_its_verl_plugin():
    assert [ep.value for ep in entry_points(group="verl.plugins") if ep.name == "justrl"] == ["recipe.cpu.plugin"]


def test_without_verl_platform_cpu_import_verl_changes_no_verl_registry_and_loads_nothing():
    seen = probe()
    assert seen["registries"] == probe(VERL_USE_EXTERNAL_PLUGINS="none")["registries"]  # as if not installed
    assert not seen["hf_registered"] and not seen["hf_module"] and not seen["platform_module"]
    assert seen["device"] != "cpu"  # verl's own detection chose


def test_the_smokes_switch_registers_the_hf_rollout_name_alone():
    seen = probe(JUSTRL_HF_ROLLOUT="1")
    assert seen["hf_registered"] and not seen["hf_module"]  # by name: its module is imported only when selected
    assert not seen["platform_module"] and seen["device"] != "cpu"


def test_with_verl_platform_cpu_every_verl_process_gets_the_cpu_platform():
    seen = probe(VERL_PLATFORM="cpu")
    assert seen["platform_module"] and seen["device"] == "cpu" and seen["hf_registered"]


def test_verls_switch_turns_the_plugin_off():
    seen = probe(VERL_PLATFORM="cpu", VERL_USE_EXTERNAL_PLUGINS="none")
    assert not seen["platform_module"] and not seen["hf_registered"] and seen["device"].startswith("error: ")
