"""Control rewards for the learning run: `launch/cpu_smoke.sh --learn --control constant|random`.

A learning curve means something only beside runs that must not learn. These replace the reward of the training
rows (`extra_info.split == "train"`) and nothing else, so validation still measures the policy with the recipe's own
reward:
- `constant`: every training response scores -1.0. Every group's rewards are equal, so every GRPO advantage is 0 and
  the policy gradient is exactly zero; whatever still changes comes from the optimizer alone (decoupled weight decay).
- `random`: +1.0 or -1.0 with equal odds, drawn independently of the response. The advantages are noise with the
  right scale; there is nothing to learn from them.

Each result keeps the true verdict of `reward.score` in `acc` and `pred` (and `true_score`), so the run's logs still
say how well the policy actually did. Wired with `reward.custom_reward_function.path=pkg://recipe.smoke.controls` and
`reward_kwargs.control=NAME` (recipe/smoke/run.py does it).
"""

from __future__ import annotations

import random
from typing import Any

from reward.score import compute_score as recipe_score

CONTROLS = ("constant", "random")


def control_overrides(control: str) -> list[str]:
    """The Hydra overrides that train on the control `control` (the wiring above)."""
    return [
        "reward.custom_reward_function.path=pkg://recipe.smoke.controls",
        f"+reward.custom_reward_function.reward_kwargs.control={control}",
    ]


_draws = random.SystemRandom()  # independent of the response, the call order and every seed in the run


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: dict | None = None,
    control: str = "",
    **kwargs: Any,
) -> dict[str, Any]:
    """verl's custom-reward signature: the recipe's score, replaced by the control's on training rows."""
    if control not in CONTROLS:
        raise ValueError(f"reward_kwargs.control={control!r} is not one of {CONTROLS}")
    result = recipe_score(data_source, solution_str, ground_truth, extra_info, **kwargs)
    if (extra_info or {}).get("split") != "train":
        return result
    score = -1.0 if control == "constant" else _draws.choice((-1.0, 1.0))
    return {**result, "score": score, "true_score": result["score"]}
