"""The `verl.plugins` entry point of this project (pyproject.toml): verl loads it at `import verl`, in the driver and
in every Ray worker, so no launch script or Ray runtime environment names the CPU layer.

- With `VERL_PLATFORM=cpu` it loads the CPU platform (`recipe/cpu/platform.py`) and registers the rollout name `hf`.
- With `JUSTRL_HF_ROLLOUT=1` (the smoke's own setting, recipe/smoke/run.py: the GPU smoke generates with transformers
  too) it registers the rollout name `hf` alone.
- Otherwise it does nothing: on a GPU machine `import verl` leaves every verl registry as verl built it, and verl's own
  detection chooses the platform, as if this project were not installed.
`hf` is registered by module path only (`recipe/cpu/hf_rollout.py` is imported when a config selects
`actor_rollout_ref.rollout.name=hf`), so the other names are untouched and nothing heavy is imported. verl 0.9.1 has
no public call that adds a rollout name to `workers/rollout/base.py`'s `_ROLLOUT_REGISTRY`, so it is written there.

verl logs a plugin's exception at debug level only, and the platform would then silently be verl's default; so a
failure here is also printed, naming this module.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

PLATFORM = "recipe.cpu.platform"
HF_ROLLOUT = "recipe.cpu.hf_rollout"
HF_SWITCH = "JUSTRL_HF_ROLLOUT"


def _hf_replica():
    return importlib.import_module(HF_ROLLOUT).HFReplica


def load() -> None:
    cpu = os.environ.get("VERL_PLATFORM", "").strip().lower() == "cpu"
    if not cpu and os.environ.get(HF_SWITCH) != "1":
        return
    from verl.workers.rollout import base as rollout_base
    from verl.workers.rollout.replica import RolloutReplicaRegistry

    rollout_base._ROLLOUT_REGISTRY.setdefault(("hf", "async"), f"{HF_ROLLOUT}.HFServerAdapter")
    RolloutReplicaRegistry.register("hf", _hf_replica)
    if cpu:
        importlib.import_module(PLATFORM)


try:
    load()
except Exception:
    print(f"{__name__}: the verl plugin of this project failed to load:\n{traceback.format_exc()}", file=sys.stderr)
    raise
