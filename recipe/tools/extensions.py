"""Every registered name and class a run's config selects, resolved before anything starts, as verl's workers will.

verl's workers import the modules listed in `actor_rollout_ref.model.external_lib` (workers/config/model.py), which
register policy losses and advantage estimators by name (`register_policy_loss`, `register_adv_est`) and agent loops
(`agent_loop.register`); the reward function, the sampler and the reward manager's module are loaded from their
`pkg://` paths, and the agent-loop manager and checkpoint callback from their class names. A name nothing registers
fails only inside a worker, after Ray has started and, on GPU, after the first validation (`Unsupported loss mode`).
`problems(cfg)` imports the same modules here, in the launch preflight, and names each key whose value does not
resolve, with the modules it imported. It imports verl (the preflight's second stage).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable

from omegaconf import DictConfig

LOSS_KEY = "actor_rollout_ref.actor.policy_loss.loss_mode"
LIBS_KEY = "actor_rollout_ref.model.external_lib"


def external_libs(cfg: DictConfig) -> list[str]:
    libs = cfg.actor_rollout_ref.model.get("external_lib")
    if not libs:
        return []
    return [str(libs)] if isinstance(libs, str) else [str(lib) for lib in libs]


def _registry_check(key: str, value: str, registry: dict, what: str, libs: list[str]) -> str | None:
    if value in registry:
        return None
    names = sorted(map(str, registry))
    near = difflib.get_close_matches(value, names, n=1)
    if near:
        return f"{key}={value} is not a registered {what} (did you mean {near[0]}?); registered: {', '.join(names)}"
    imported = ", ".join(libs) if libs else "none"
    return (
        f"{key}={value} is not a registered {what}; modules imported from {LIBS_KEY}: [{imported}]; registered: "
        f"{', '.join(names)}. Add the module that registers it to {LIBS_KEY}, restating the "
        "whole list (a Hydra override replaces a list)"
    )


def _loads(key: str, value: str, load: Callable[[], object]) -> str | None:
    try:
        load()
    except Exception as err:  # an import error of the user's module is reported, whatever it is
        return f"{key}={value} does not load: {type(err).__name__}: {err}"
    return None


def agent_loop_registry() -> dict | None:
    """verl 0.9.1's registry of agent-loop names, which it keeps private (`agent_loop.register` fills it, nothing
    public reads it); None where another verl moved it, and the agent-loop check is then left to verl's workers."""
    try:
        from verl.experimental.agent_loop.agent_loop import _agent_loop_registry
    except ImportError:
        return None
    return _agent_loop_registry if isinstance(_agent_loop_registry, dict) else None


def problems(cfg: DictConfig) -> list[str]:
    """One line per selected name or class that does not resolve (see the module doc)."""
    from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER
    from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY, POLICY_LOSS_REGISTRY
    from verl.utils.import_utils import load_class_from_fqn, load_extern_object

    found = []
    libs = external_libs(cfg)
    for lib in libs:
        found.append(_loads(LIBS_KEY, lib, lambda lib=lib: importlib.import_module(lib)))
    loss = str(cfg.actor_rollout_ref.actor.policy_loss.loss_mode)
    found.append(_registry_check(LOSS_KEY, loss, POLICY_LOSS_REGISTRY, "policy loss", libs))
    adv = str(cfg.algorithm.adv_estimator)
    found.append(_registry_check("algorithm.adv_estimator", adv, ADV_ESTIMATOR_REGISTRY, "advantage estimator", libs))
    agent = cfg.actor_rollout_ref.rollout.get("agent", {})
    agent_loops = agent_loop_registry()
    if agent.get("default_agent_loop") and agent_loops is not None:
        name = str(agent.default_agent_loop)
        key = "actor_rollout_ref.rollout.agent.default_agent_loop"
        found.append(_registry_check(key, name, agent_loops, "agent loop", libs))
    classes = {
        "actor_rollout_ref.rollout.agent.agent_loop_manager_class": agent.get("agent_loop_manager_class"),
        "trainer.checkpoint_callback_class": cfg.trainer.get("checkpoint_callback_class"),
    }
    for key, fqn in classes.items():
        if fqn:
            found.append(_loads(key, fqn, lambda fqn=fqn: load_class_from_fqn(str(fqn))))
    objects = {
        "reward.custom_reward_function": cfg.reward.get("custom_reward_function"),
        "trainer.v1.sampler.custom_sampler": cfg.trainer.get("v1", {}).get("sampler", {}).get("custom_sampler"),
    }
    manager = cfg.reward.get("reward_manager", {})
    if manager.get("source") == "importlib":
        objects["reward.reward_manager.module"] = manager.get("module")
    elif manager.get("name"):
        found.append(_registry_check("reward.reward_manager.name", str(manager.name), REWARD_MANAGER,
                                     "reward manager", libs))  # fmt: skip
    for key, spec in objects.items():
        if spec and spec.get("path"):
            value = f"{spec.path}:{spec.get('name')}"
            found.append(_loads(key, value, lambda spec=spec: load_extern_object(str(spec.path), str(spec.name))))
    return [problem for problem in found if problem]
