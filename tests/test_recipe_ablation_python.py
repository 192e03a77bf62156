"""The worked Python ablations: W-REINFORCE's weighting on the recipe's loss, and the format credit's shaping."""

from __future__ import annotations

import torch

from recipe.ablation.format_credit import compute_score as shaped
from recipe.ablation.w_reinforce import LAMBDA, weighted_loss
from recipe.policy_loss import compute_policy_loss_verl04
from reward.sources import TRAIN_SOURCE


class _Config:
    """verl's ActorConfig as the loss reads it: clip ratios and the mini-batch information verl's engine sets."""

    clip_ratio = 0.2
    clip_ratio_low, clip_ratio_high, clip_ratio_c = 0.2, 0.28, 10.0
    tau_pos, tau_neg = 1.0, 1.0
    global_batch_info = {"global_batch_size": 4, "dp_size": 1, "batch_num_tokens": 12}

    def get(self, key, default=None):
        return getattr(self, key, default)


def test_w_reinforce_is_the_recipes_loss_with_positive_advantages_scaled_by_lambda():
    torch.manual_seed(0)
    old, new = torch.randn(4, 3), torch.randn(4, 3, requires_grad=True)
    adv = torch.tensor([[1.0] * 3, [-1.0] * 3, [0.5] * 3, [-0.5] * 3])
    mask = torch.ones(4, 3, dtype=torch.bool)
    config = _Config()
    ours, metrics = weighted_loss(LAMBDA)(old, new, adv, mask, "token-mean", config)
    weights = torch.tensor([[LAMBDA], [1.0], [LAMBDA], [1.0]])
    want, _ = compute_policy_loss_verl04(old, new, adv * weights, mask, "token-mean", config)
    torch.testing.assert_close(ours, want)
    assert metrics["actor/w_reinforce_lambda"] == LAMBDA == 0.1
    assert metrics["actor/w_reinforce_positive_token_frac"] == 0.5
    assert "actor/verl04_micro_batch_share" in metrics  # the recipe's weighting ran underneath


def test_the_format_credit_changes_only_a_readable_wrong_training_answer():
    boxed_wrong = shaped(TRAIN_SOURCE, "so \\boxed{5}", "7", boxed_wrong_score=-0.5)
    assert (boxed_wrong["score"], boxed_wrong["raw_score"], boxed_wrong["credited"]) == (-0.5, -1.0, True)
    right = shaped(TRAIN_SOURCE, "so \\boxed{7}", "7", boxed_wrong_score=-0.5)
    unboxed = shaped(TRAIN_SOURCE, "it is 5", "7", boxed_wrong_score=-0.5)
    assert (right["score"], right["credited"]) == (1.0, False)
    assert (unboxed["score"], unboxed["credited"]) == (-1.0, False)
    validation = shaped("AIME24", "\\boxed{5}", "7", boxed_wrong_score=-0.5)
    assert validation["score"] == 0.0 and not validation["credited"]  # validation is the recipe's
    lenient = shaped(TRAIN_SOURCE, "\\boxed{7.0}", "7", verifier="lenient", boxed_wrong_score=-0.5)
    assert lenient["score"] == 1.0  # the recipe's keywords pass through
