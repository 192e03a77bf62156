"""verl 0.4.0's policy loss as JustRL's fork computed it, written out from the fork's source for the tests to compare
with (tests/test_recipe_policy_loss.py on constructed micro-batches, tests/test_recipe_smoke_learn.py on a real run's).

`train/verl/workers/actor/dp_actor.py` of the public JustRL repository (update_policy, use_dynamic_bsz, token-mean):
per micro-batch the dual-clip PPO loss of `core_algos.compute_policy_loss`, `masked_mean` over the micro-batch's own
tokens, times len(micro-batch) / the rank's mini-batch (lines 391-426); FSDP then averages gradients over ranks.
"""

from __future__ import annotations

import torch

CLIP_LOW, CLIP_HIGH, CLIP_C = 0.2, 0.28, 10.0  # recipe/justrl.yaml, as published


def v04_rank_loss(batches: list[dict], per_rank_responses: int) -> torch.Tensor:
    """One rank's mini-batch loss; `batches` are its micro-batches as {"old", "new", "adv", "mask"} tensors."""
    total = torch.zeros(())
    for b in batches:
        ratio = torch.exp(torch.clamp(b["new"] - b["old"], -20.0, 20.0))
        loss1 = -b["adv"] * ratio
        loss2 = -b["adv"] * torch.clamp(ratio, 1 - CLIP_LOW, 1 + CLIP_HIGH)
        clipped = torch.maximum(loss1, loss2)
        dual = torch.minimum(-b["adv"] * CLIP_C, clipped)
        losses = torch.where(b["adv"] < 0, dual, clipped)
        token_mean = (losses * b["mask"]).sum() / (b["mask"].sum() + 1e-8)  # verl 0.4 verl_F.masked_mean
        total = total + token_mean * (len(b["new"]) / per_rank_responses)
    return total
