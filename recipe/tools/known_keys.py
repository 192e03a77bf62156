"""Which configuration keys exist: every key of a composed run must be one that verl 0.9.1 declares or reads, or one
the recipe declares (`justrl.*` in recipe/justrl.yaml). Anything else, from the YAML, an ablation or a command line's
`+key=value`, would be ignored without a word; the launch preflight rejects it and names the nearest real key. So it
does a key verl declares but ignores, set to another value than its default (`IGNORED_VALUES`).

Keys verl's packaged `ppo_trainer` does not declare but verl 0.9.1 reads (`UNDECLARED_BUT_READ`):
- reward.reward_kwargs.*: DAPORewardManager (experimental/reward_loop/reward_manager/dapo.py);
- reward.custom_reward_function.reward_kwargs.*: get_custom_reward_fn (trainer/ppo/reward.py), passed to the function;
- actor_rollout_ref.model.override_config.*: merged into the Hugging Face model config (recipe/smoke/);
- ray_kwargs.ray_init.*: passed whole to ray.init by main_ppo (recipe/smoke/);
- actor_rollout_ref.rollout.engine_kwargs.vllm.*: passed to vLLM after verl's own arguments (vllm_async_server.py;
  recipe/smoke/vllm_cpu.yaml);
- actor_rollout_ref.rollout.enable_sleep_mode: a field of verl's RolloutConfig (workers/config/rollout.py) that the
  packaged YAML leaves out (recipe/smoke/vllm_cpu.yaml);
- actor_rollout_ref.rollout.agent.agent_loop_manager_class: a field of verl's AgentLoopConfig
  (workers/config/rollout.py) that main_ppo reads (`init_agent_loop_manager`) and the packaged YAML leaves out;
- trainer.v1.sampler.sampler_kwargs.*: passed whole to a custom sampler's constructor (trainer/ppo/v1/trainer_base.py
  `_build_replay_buffer`; recipe/smoke/replay_buffer.py);
- actor_rollout_ref.actor.optim.override_optimizer_config.*: passed to the optimizer's constructor
  (workers/config/optimizer.py `build_optimizer`; recipe/ablation/questa.yaml's Adam eps).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from functools import cache

from omegaconf import DictConfig, OmegaConf

from recipe.protocol import RECIPE_DIR

UNDECLARED_BUT_READ = (
    "reward.reward_kwargs.",
    "reward.custom_reward_function.reward_kwargs.",
    "actor_rollout_ref.model.override_config.",
    "actor_rollout_ref.rollout.engine_kwargs.vllm.",
    "actor_rollout_ref.rollout.enable_sleep_mode",
    "actor_rollout_ref.rollout.agent.agent_loop_manager_class",
    "ray_kwargs.ray_init.",
    "trainer.v1.sampler.sampler_kwargs.",
    "actor_rollout_ref.actor.optim.override_optimizer_config.",
)


def flatten(node, prefix: str = "") -> dict:
    """A nested mapping as {"dotted.key": leaf value}."""
    if isinstance(node, dict):
        return {key: leaf for k, v in node.items() for key, leaf in flatten(v, f"{prefix}{k}.").items()}
    return {prefix[:-1]: node}


@cache
def justrl_keys() -> frozenset[str]:
    """The recipe's own keys: those under `justrl:` in recipe/justrl.yaml."""
    node = OmegaConf.to_container(OmegaConf.load(RECIPE_DIR / "justrl.yaml"))["justrl"]
    return frozenset(f"justrl.{key}" for key in flatten(node))


@cache
def verl_default() -> DictConfig:
    from recipe.tools.compose import compose_verl

    return compose_verl()


def declared(key: str) -> bool:
    """Whether verl 0.9.1's packaged ppo_trainer declares `key` (a leaf, or a mapping it may hold), or verl reads it
    although undeclared, or the recipe declares it."""
    if key in justrl_keys() or key.startswith(UNDECLARED_BUT_READ):
        return True
    if key.startswith("justrl."):
        return False
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(verl_default(), parent_key) if parent_key else verl_default()
    return isinstance(parent, DictConfig) and leaf in parent.keys()  # keys() includes `???` (mandatory)


def unknown(keys: Iterable[str]) -> list[str]:
    """The keys, of `keys`, that nothing declares or reads."""
    return [key for key in sorted(keys) if not declared(key)]


@cache
def _all_known() -> tuple[str, ...]:
    return tuple(sorted({*flatten(OmegaConf.to_container(verl_default())), *justrl_keys()}))


def nearest(key: str) -> str | None:
    """The real key closest to a mistyped one (difflib's similarity over all of verl's and the recipe's keys)."""
    known = _all_known()
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    if not close:  # a mistyped segment under a long prefix: compare within the same parent
        parent = key.rpartition(".")[0]
        close = difflib.get_close_matches(key, [k for k in known if k.startswith(parent + ".")], n=1, cutoff=0.5)
    return close[0] if close else None


def describe(key: str) -> str:
    hint = nearest(key)
    return f"{key} is not a key of verl 0.9.1 or the recipe" + (f" (did you mean {hint}?)" if hint else "")


# Keys verl 0.9.1 declares but whose value its v1 trainer ignores (with a log line at most): the default, and what a
# value other than it loses.
IGNORED_VALUES = {
    "algorithm.filter_groups.max_num_gen_batches": (
        0,
        "is ignored by verl 0.9.1's v1 sampler, which refills dropped groups until the batch is full, without a cap "
        "(trainer/ppo/v1/trainer_base.py `_resolve_filter_groups_metric`); drop it, or bound the generation batches in "
        "flight with algorithm.filter_groups.max_inflight_gen_batches (default 1)",
    ),
}


def unknown_key_problems(cfg: DictConfig) -> list[str]:
    """One line per key of the composed run that verl 0.9.1 neither declares nor reads and the recipe does not read,
    and per key set to a value verl 0.9.1 ignores (IGNORED_VALUES)."""
    keys = flatten(OmegaConf.to_container(cfg))
    ignored = [f"{key}={keys[key]} {why}" for key, (dflt, why) in IGNORED_VALUES.items() if keys.get(key, dflt) != dflt]
    return [f"{describe(key)}: verl would ignore it; fix the name, or drop it" for key in unknown(keys)] + ignored


OVERRIDE = re.compile(r"Could not override '([^']+)'")


def composition_problem(err: Exception) -> str:
    """Hydra's composition error as one line: for an override of a key that is not in the config (Hydra's advice is
    to add `+`), whether the key exists at all."""
    message = str(err)
    match = OVERRIDE.search(message)
    if match:
        key = match.group(1)
        if declared(key):
            return f"{key} is read by verl but not in the composed config: add it with a leading + (+{key}=...)"
        return f"{describe(key)}, so it cannot be set (with or without +)"
    lines = message.splitlines() or [type(err).__name__]
    options = next((i for i, line in enumerate(lines) if line.startswith("Available options")), None)
    if options is not None:  # an unknown config group option (an ablation, a model): the known ones, same line
        known = []
        for line in lines[options + 1 :]:
            if not line.startswith("\t"):
                break
            known.append(line.strip())
        return f"{lines[0]}; known: {', '.join(known)}"
    return lines[0]
