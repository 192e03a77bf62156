"""An ablation on the CPU task: each value it sets reaches the run, is carried over, or is kept by the task, and every
one of the last two is said before the run starts.

A CPU run composes the recipe, then the ablation, then the task's overlays (recipe/smoke/cpu.yaml, learn.yaml), which
win where both set a key: without this module an ablation's value for a key the task sets would be lost without a
word (a `low_lr` arm would train at the task's learning rate, as the recipe). Instead, for each key the ablation
changes (its composed value against the recipe's) that the task also sets:
- a rate (`RATES`, the learning rates) carries its ratio to the recipe's value: `lr: 1.0e-7`, the recipe's 1e-6 / 10,
  runs the learning task at its 3e-4 / 10;
- anything else (a size: `n`, batch and mini-batch sizes, lengths, steps; a setting the CPU needs) keeps the task's
  value, which the tiny model and two cores can run, and the line names the key, the ablation's and the recipe's
  values, the task's, and the override that sets it (`KEY=VALUE` after the command).
Keys the task does not set take the ablation's value as they are; keys verl interpolates from another (`max_resp_len`
from `max_response_length`) follow that key and are not named again.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from recipe.tools.compose import compose_recipe

RATES = ("actor_rollout_ref.actor.optim.lr", "critic.optim.lr")  # carried as a ratio to the recipe's value
BASE = ["base_model=deepseek"]


def carry(ablation: Sequence[str], overlays: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the overrides that carry the ablation's rates, to follow the task's overlays; one line per key the task sets
    that the ablation changes). `ablation`: its `+ablation@_global_=...` override, or nothing; `overlays`: the task's
    `+smoke@_global_=...`."""
    if not ablation:
        return [], []
    name = ablation[0].split("=", 1)[1].strip("[]").replace(",", "+")
    recipe = composed((*BASE,))
    interpolated = {k for k, v in composed((*BASE, *ablation), False).items() if isinstance(v, str) and "${" in v}
    ablated = composed((*BASE, *ablation))
    run = composed((*BASE, *ablation, *overlays))  # what the CPU run composes
    overrides, lines = [], []
    for key in sorted(ablated):
        value, was, cpu = ablated[key], recipe.get(key), run.get(key)
        if value == was or cpu == value or key in interpolated:
            continue  # unchanged, or the task does not set it: the ablation's value reaches the run as it is
        said = f"{name}: {key}={value} (recipe: {was})"
        if key in RATES and _number(value) and _number(was) and _number(cpu) and was:
            carried = cpu * value / was
            overrides.append(f"{key}={carried:g}")
            lines.append(f"{said} carried to the CPU task as its {cpu:g} x {value / was:g} = {carried:g}")
        else:
            lines.append(f"{said}: the CPU task keeps its {cpu} (set it with {key}=VALUE after the command)")
    return overrides, lines


@cache
def composed(overrides: tuple[str, ...], resolve: bool = True) -> dict[str, Any]:
    """The recipe's leaves under `overrides`, resolved or as written (interpolations kept)."""
    from omegaconf import OmegaConf

    from recipe.tools.known_keys import flatten

    return flatten(OmegaConf.to_container(compose_recipe(overrides, resolve=resolve), resolve=resolve))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
