"""recipe.policy_loss: verl 0.4's per-micro-batch token-mean, against the formula of the published fork's dp_actor
(written out in tests/verl04_reference.py), and against verl 0.9's global token-mean, which must differ."""

from __future__ import annotations

import copy

import pytest
import torch
from verl.trainer.ppo.core_algos import get_policy_loss_fn
from verl.utils.config import omega_conf_to_dataclass
from verl04_reference import CLIP_C, CLIP_HIGH, CLIP_LOW, v04_rank_loss

from recipe import policy_loss
from recipe.tools.compose import compose_recipe, recipe_overrides

# Two data-parallel ranks, 4 responses each (global mini-batch 8); micro-batches of unequal sizes and lengths, as
# dynamic batch size packs them.
RANKS = [[(1, 9), (3, 2)], [(2, 5), (2, 12)]]  # per rank: (responses, max length) of each micro-batch


@pytest.fixture(scope="module")
def actor_config():
    cfg = compose_recipe(recipe_overrides("deepseek"))
    actor = omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)
    assert (actor.clip_ratio_low, actor.clip_ratio_high, actor.clip_ratio_c) == (CLIP_LOW, CLIP_HIGH, CLIP_C)
    return actor


def micro_batches(seed: int = 0) -> list[list[dict[str, torch.Tensor]]]:
    gen = torch.Generator().manual_seed(seed)
    ranks = []
    for shapes in RANKS:
        batches = []
        for n, length in shapes:
            lengths = torch.randint(1, length + 1, (n,), generator=gen)
            mask = (torch.arange(length)[None, :] < lengths[:, None]).float()
            old = -torch.rand(n, length, generator=gen) * 2
            new = (old + torch.randn(n, length, generator=gen) * 0.4).requires_grad_()
            adv = torch.randn(n, 1, generator=gen).expand(n, length).contiguous()
            batches.append({"old": old, "new": new, "adv": adv, "mask": mask})
        ranks.append(batches)
    return ranks


def verl_rank_loss(loss_fn, config, batches: list[dict], dp_size: int, global_tokens: int, global_batch: int):
    """A registered verl 0.9.1 policy loss called per micro-batch as verl's ppo_loss calls it."""
    config.global_batch_info.update(
        dp_size=dp_size, batch_num_tokens=global_tokens, global_batch_size=global_batch, loss_scale_factor=None
    )
    total = torch.zeros(())
    for b in batches:
        loss, _ = loss_fn(b["old"], b["new"], b["adv"], b["mask"].bool(), "token-mean", config, None)
        total = total + loss
    return total


def gradients(rank_losses: list[torch.Tensor], ranks) -> torch.Tensor:
    """The gradient FSDP applies: the mean over data-parallel ranks, on every micro-batch's log-probs."""
    grads = []
    for rank_loss, batches in zip(rank_losses, ranks, strict=True):
        leaves = [b["new"] for b in batches]
        grads += [g.flatten() for g in torch.autograd.grad(rank_loss, leaves)]
    return torch.cat(grads) / len(rank_losses)


def run(loss: str, config):
    ranks = micro_batches()
    dp, global_batch = len(ranks), sum(n for shapes in RANKS for n, _ in shapes)
    global_tokens = int(sum(b["mask"].sum() for batches in ranks for b in batches))
    if loss == "v04 formula":
        losses = [v04_rank_loss(batches, global_batch // dp) for batches in ranks]
    else:
        fn = get_policy_loss_fn(loss)
        losses = [verl_rank_loss(fn, config, batches, dp, global_tokens, global_batch) for batches in ranks]
    return torch.stack(losses).detach(), gradients(losses, ranks)


def test_the_recipe_selects_the_verl04_loss_and_every_worker_can_import_it():
    cfg = compose_recipe(recipe_overrides("deepseek"))
    assert cfg.actor_rollout_ref.actor.policy_loss.loss_mode == policy_loss.NAME
    assert "recipe.policy_loss" in cfg.actor_rollout_ref.model.external_lib
    assert get_policy_loss_fn(policy_loss.NAME) is policy_loss.compute_policy_loss_verl04


def test_loss_and_gradient_equal_verl04_on_unequal_micro_batches(actor_config):
    want_loss, want_grad = run("v04 formula", actor_config)
    loss, grad = run(policy_loss.NAME, actor_config)
    torch.testing.assert_close(loss, want_loss, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grad, want_grad, rtol=1e-5, atol=1e-8)
    assert grad.abs().sum() > 0


def v09_rank_loss(batches: list[dict], global_tokens: int, dp_size: int) -> torch.Tensor:
    """verl 0.9.1's token-mean (core_algos.agg_loss): every token's loss over the mini-batch's tokens on all ranks."""
    total = torch.zeros(())
    for b in batches:
        ratio = torch.exp(b["new"] - b["old"])
        clipped = torch.maximum(-b["adv"] * ratio, -b["adv"] * torch.clamp(ratio, 1 - CLIP_LOW, 1 + CLIP_HIGH))
        losses = torch.where(b["adv"] < 0, torch.minimum(-b["adv"] * CLIP_C, clipped), clipped)
        total = total + (losses * b["mask"]).sum() / global_tokens * dp_size
    return total


def test_verl09_global_token_mean_is_its_own_formula_and_differs_from_verl04(actor_config):
    _, want_grad = run("v04 formula", actor_config)
    _, grad09 = run("vanilla", actor_config)
    ranks = micro_batches()
    tokens = int(sum(b["mask"].sum() for batches in ranks for b in batches))
    formula09 = gradients([v09_rank_loss(batches, tokens, len(ranks)) for batches in ranks], ranks)
    torch.testing.assert_close(grad09, formula09, rtol=1e-5, atol=1e-8)
    assert not torch.allclose(grad09, want_grad, rtol=1e-3)


def test_one_micro_batch_per_rank_is_the_same_in_both(actor_config):
    # With a single micro-batch per rank and equal token counts the two weightings coincide.
    ranks = micro_batches()
    one = ranks[0][1]  # 3 responses
    mask = torch.ones_like(one["mask"])
    b = {**one, "mask": mask}
    fn = get_policy_loss_fn(policy_loss.NAME)
    ours = verl_rank_loss(fn, actor_config, [b], 1, int(mask.sum()), 3)
    v09 = verl_rank_loss(get_policy_loss_fn("vanilla"), actor_config, [b], 1, int(mask.sum()), 3)
    torch.testing.assert_close(ours, v09)


def test_other_aggregations_and_a_missing_batch_size_are_errors(actor_config):
    actor_config = copy.deepcopy(actor_config)
    b = micro_batches()[0][0]
    fn = get_policy_loss_fn(policy_loss.NAME)
    with pytest.raises(ValueError, match="seq-mean-token-mean"):
        fn(b["old"], b["new"], b["adv"], b["mask"].bool(), "seq-mean-token-mean", actor_config, None)
    actor_config.global_batch_info.clear()
    with pytest.raises(ValueError, match="global_batch_size"):
        fn(b["old"], b["new"], b["adv"], b["mask"].bool(), "token-mean", actor_config, None)
