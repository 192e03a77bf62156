"""A run's identity: its experiment name, and with it its checkpoint, TensorBoard and rollout folders, follows from
what changes the run, so that a rerun resumes only the same run and an ablation never reuses the recipe's folder.

    trainer.experiment_name = ${justrl.run_name}${justrl.variant}          (recipe/justrl.yaml)

`justrl.run_name` is the base run's (recipe/base_model/*.yaml: `justrl-deepseek-1.5b`; the smoke overlays:
`cpu-smoke`, `cpu-learn`), and `justrl.variant` is set from the command by `variant_overrides` (recipe/tools/train.py,
the launch scripts' and the smoke's one entry point), in this order:
- the ablations selected with `+ablation@_global_=NAME` or `=[A,B]`: `-A+B`;
- a control reward of the learning run (`+reward.custom_reward_function.reward_kwargs.control=NAME`): `-NAME`;
- `justrl.seed=S`: `-seedS`, and S seeds the data order, the mini-batch order and the rollout (`SEED_KEYS`).
So `bash launch/ablate.sh kl_loss` trains `justrl-deepseek-1.5b-kl_loss`, `--learn --control random --seed 2` trains
`cpu-learn-random-seed2`. An explicit `trainer.experiment_name=...` wins. Everything else a command changes is
checked when the run resumes (recipe/tools/run_config.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

ABLATION = re.compile(r"^\+{1,2}ablation@_global_=(.*)$")
CONTROL = re.compile(r"^\+{0,2}reward\.custom_reward_function\.reward_kwargs\.control=(.*)$")
SEED = re.compile(r"^\+{0,2}justrl\.seed=(.*)$")
# what justrl.seed=S sets: verl's training sampler, the actor's mini-batch shuffling and the rollout's sampling
SEED_KEYS = ("data.seed", "actor_rollout_ref.actor.data_loader_seed", "actor_rollout_ref.rollout.seed")


def _last(pattern: re.Pattern, overrides: Sequence[str]) -> str | None:
    values = [m.group(1).strip().strip("'\"") for o in overrides if (m := pattern.match(o))]
    return values[-1] if values else None


def ablations(overrides: Sequence[str]) -> list[str]:
    """The ablation names an override list selects, in order (`+ablation@_global_=A` or `=[A,B]`)."""
    value = _last(ABLATION, overrides)
    if not value:
        return []
    return [name.strip().strip("'\"") for name in value.strip("[]").split(",") if name.strip()]


def seed(overrides: Sequence[str]) -> int | None:
    """`justrl.seed=S` of an override list; a ValueError for anything but an integer (or null)."""
    value = _last(SEED, overrides)
    if value is None or value.lower() in ("null", "none", ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"justrl.seed={value}: a seed is an integer") from None


def variant(overrides: Sequence[str]) -> str:
    """The experiment-name suffix of an override list (see the module doc); '' for the base run."""
    parts = ["+".join(ablations(overrides)), _last(CONTROL, overrides) or ""]
    seed_value = seed(overrides)
    parts.append(f"seed{seed_value}" if seed_value is not None else "")
    return "".join(f"-{part}" for part in parts if part)


def variant_overrides(overrides: Sequence[str]) -> list[str]:
    """What `overrides` needs added for its run's identity: `justrl.variant` (none for the base run), and the seed's
    keys for `justrl.seed`.
    Appended after the command's own, except that a key the command sets itself keeps the command's value."""
    given = {o.lstrip("+").split("=", 1)[0] for o in overrides}
    suffix = variant(overrides)
    added = [f"justrl.variant='{suffix}'"] if suffix and "justrl.variant" not in given else []
    seed_value = seed(overrides)
    if seed_value is not None:
        added += [f"{key}={seed_value}" for key in SEED_KEYS if key not in given]
    return added
