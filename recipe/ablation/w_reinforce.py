"""W-REINFORCE as a policy loss: `actor.policy_loss.loss_mode=w_reinforce` (recipe/ablation/w_reinforce.yaml).

Zhu et al., 2025, "The Surprising Effectiveness of Negative Reinforcement in LLM Reasoning" (arXiv 2506.01347), split
the RLVR objective into positive-sample and negative-sample reinforcement and found that training on the negative
samples alone keeps pass@k high; their W-REINFORCE weights the positive samples' term by lambda = 0.1 (`LAMBDA`). Here
the same weighting is applied to the recipe's objective: every token with a positive advantage has its advantage
multiplied by lambda, the rest are unchanged, and the recipe's loss (verl's clipped objective, weighted per
micro-batch as verl 0.4 did: recipe/policy_loss.py) does the rest. Scaling a token's advantage by lambda > 0 scales
its clipped-surrogate term by lambda (the clip region depends only on the advantage's sign), so this is the paper's
weighting on JustRL's loss, not a different estimator.

lambda is a constant of this module, not a YAML key: verl 0.9.1 builds `actor.policy_loss` into a dataclass
(`PolicyLossConfig`) that rejects keys it does not declare, and a loss function receives only that config. Another
lambda is another registered name (a line at the bottom).

Evidence that it ran, at every step (verl averages a loss's metrics over micro-batches): `actor/w_reinforce_lambda`
(the weight of positive tokens) and `actor/w_reinforce_positive_token_frac` (the share of response tokens it weighted).
"""

from __future__ import annotations

from typing import Any

import torch
from verl.trainer.ppo.core_algos import register_policy_loss

from recipe.policy_loss import compute_policy_loss_verl04

LAMBDA = 0.1  # Zhu et al. 2025, W-REINFORCE: the weight of the positive samples' term


def weighted_loss(lam: float):
    """The recipe's loss with positive advantages weighted by `lam` (see the module doc)."""

    def compute_policy_loss_w_reinforce(
        old_log_prob: torch.Tensor,
        log_prob: torch.Tensor,
        advantages: torch.Tensor,
        response_mask: torch.Tensor,
        loss_agg_mode: str = "token-mean",
        config: Any = None,
        rollout_is_weights: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        positive = advantages > 0
        weighted = torch.where(positive, advantages * lam, advantages)
        loss, metrics = compute_policy_loss_verl04(
            old_log_prob, log_prob, weighted, response_mask, loss_agg_mode, config, rollout_is_weights
        )
        tokens = response_mask.sum()
        share = (positive & response_mask.bool()).sum() / tokens if tokens > 0 else torch.tensor(0.0)
        metrics["actor/w_reinforce_lambda"] = lam
        metrics["actor/w_reinforce_positive_token_frac"] = float(share)
        return loss, metrics

    return compute_policy_loss_w_reinforce


register_policy_loss("w_reinforce")(weighted_loss(LAMBDA))
