"""A shaped reward: partial credit for a wrong answer the verifier could read (recipe/ablation/format_credit.yaml).

`reward.custom_reward_function.path=pkg://recipe.ablation.format_credit`. It wraps the recipe's reward
(`reward.score.compute_score`, every verifier and keyword of it unchanged) and changes one case on training rows: a
wrong answer that the verifier did extract (a `\\boxed{}` where the verifier looks) scores `boxed_wrong_score`
(`reward_kwargs`, -0.5 in the overlay) instead of -1, so a response in the answer format beats one without it, as
the format rewards of R1-style training do (DeepSeek-AI, 2025, "DeepSeek-R1", Sec. 2.2.2: accuracy and format
rewards). JustRL's reward has no such term. Validation rows are scored as the recipe scores them.

The result keeps the recipe's keys and adds `raw_score`, the recipe's own score, and `credited`, whether the credit
applied. verl keeps every key of a reward's
result with its trajectory, and recipe/smoke/replay_buffer.py logs their means as training metrics, so each step shows
`training/reward/raw_score/mean` (what JustRL's reward would have given) beside `training/reward/score/mean` (what
this one gave, also verl's `critic/score/mean`) and `training/reward/credited/mean`, the share of responses credited:
the shaping ran wherever these are logged, and changed the reward where the two scores differ.
"""

from __future__ import annotations

from typing import Any

from reward.score import compute_score as recipe_score
from reward.sources import TRAIN_SOURCE


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: dict | None = None,
    boxed_wrong_score: float = -1.0,
    **kwargs: Any,
) -> dict[str, Any]:
    """verl's custom-reward signature: the recipe's score, shaped on training rows (see the module doc)."""
    result = recipe_score(data_source, solution_str, ground_truth, extra_info, **kwargs)
    credited = data_source == TRAIN_SOURCE and not result["acc"] and result["pred"] is not None
    shaped = float(boxed_wrong_score) if credited else result["score"]
    return {**result, "score": shaped, "raw_score": result["score"], "credited": credited}
