"""The `verl.plugins` entry point of this project (pyproject.toml): verl loads it at `import verl`, in the driver and
in every Ray worker, so no launch script or Ray runtime environment names the CPU layer.

- With `VERL_PLATFORM=cpu` it loads the CPU platform (`recipe/cpu/platform.py`). Without it, it loads nothing of the
  platform: on a GPU machine verl's own detection chooses, as if this project were not installed.
- Always, it registers the rollout name `hf` by module path only (`recipe/cpu/hf_rollout.py` is imported when a
  config selects `actor_rollout_ref.rollout.name=hf`), so the other names are untouched and nothing heavy is imported.

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


def _hf_replica():
    return importlib.import_module(HF_ROLLOUT).HFReplica


def load() -> None:
    from verl.workers.rollout import base as rollout_base
    from verl.workers.rollout.replica import RolloutReplicaRegistry

    rollout_base._ROLLOUT_REGISTRY.setdefault(("hf", "async"), f"{HF_ROLLOUT}.HFServerAdapter")
    RolloutReplicaRegistry.register("hf", _hf_replica)
    if os.environ.get("VERL_PLATFORM", "").strip().lower() == "cpu":
        importlib.import_module(PLATFORM)


try:
    load()
except Exception:
    print(f"{__name__}: the verl plugin of this project failed to load:\n{traceback.format_exc()}", file=sys.stderr)
    raise
