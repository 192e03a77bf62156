"""verl 0.4's loss weighting as a verl 0.9.1 policy loss: `actor.policy_loss.loss_mode=verl04_token_mean`.

JustRL trained with verl 0.4.0, whose FSDP actor weighted the clipped policy loss per micro-batch. With JustRL's
settings (dynamic batch size, token-mean), the published fork does, in `train/verl/workers/actor/dp_actor.py` of the
public JustRL repository:
- line 340: the per-GPU mini-batch is `batch.split(ppo_mini_batch_size)`, where `ppo_mini_batch_size` was first
  turned into responses per GPU: `* rollout.n // (world_size // sp_size)` (`train/verl/workers/fsdp_workers.py`,
  lines 144-145);
- lines 351-353: the dynamic-batch branch packs that mini-batch into micro-batches of at most
  `ppo_max_token_len_per_gpu` tokens (`rearrange_micro_batches`);
- lines 391-401: `compute_policy_loss` with `loss_agg_mode="token-mean"`, i.e. `masked_mean` over the micro-batch's
  own tokens (`train/verl/trainer/ppo/core_algos.py` line 435);
- lines 421-426: `loss = policy_loss * (len(data) / ppo_mini_batch_size)`, then `loss.backward()`: each micro-batch
  is scaled by its share of the per-GPU mini-batch's responses;
- line 436: one optimizer step per mini-batch; FSDP averages the gradients over data-parallel ranks.

So a mini-batch's loss on one rank is  sum_m (n_m / B) * mean_{tokens of m}(l),  with n_m the responses of
micro-batch m and B = ppo_mini_batch_size * n / dp the rank's responses; the gradient is the mean over ranks.

verl 0.9.1's token-mean instead divides every token's loss by the token count of the whole mini-batch across ranks
(`verl/trainer/ppo/core_algos.py` `agg_loss`): a response's weight no longer depends on the micro-batch it shares.
This module registers the 0.4 weighting under its own name. It reuses verl's vanilla clipped objective (clip-higher,
dual clip, rollout-correction weights) and only re-weights its token-mean: verl's value is
`sum_m(l) / T * dp` (T: the mini-batch's tokens on all ranks), so multiplying it by the constant
`T * n_m / (tokens_m * global_batch_size)` gives `mean_m(l) * n_m / B` exactly, gradients included.

Entropy and KL terms, which JustRL does not use, keep verl 0.9's weighting. Every Ray worker imports this module
through `actor_rollout_ref.model.external_lib` (recipe/justrl.yaml).

With `JUSTRL_LOSS_TRACE=DIR` in the workers' environment, every call also appends what it was given and what it
returned to `DIR/rank<R>-<pid>.jsonl`, so that a test can recompute a real run's loss with verl 0.4's arithmetic
(`launch/cpu_smoke.sh --learn` passes the variable on; tests/test_recipe_smoke_learn.py). Off by default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from verl.trainer.ppo.core_algos import compute_policy_loss_vanilla, register_policy_loss

NAME = "verl04_token_mean"


@register_policy_loss(NAME)
def compute_policy_loss_verl04(
    old_log_prob: torch.Tensor,
    log_prob: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    loss_agg_mode: str = "token-mean",
    config: Any = None,
    rollout_is_weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """verl's vanilla PPO objective on one micro-batch, weighted as verl 0.4's dp_actor weighted it."""
    if loss_agg_mode != "token-mean":
        raise ValueError(f"policy_loss.loss_mode={NAME} is verl 0.4's token-mean; got loss_agg_mode={loss_agg_mode!r}")
    info = config.global_batch_info
    global_batch_size = info.get("global_batch_size")
    if not global_batch_size:
        raise ValueError(f"policy_loss.loss_mode={NAME} needs global_batch_size (the mini-batch) from verl's engine")
    pg_loss, metrics = compute_policy_loss_vanilla(
        old_log_prob, log_prob, advantages, response_mask, loss_agg_mode, config, rollout_is_weights
    )
    tokens_here = response_mask.sum()
    if tokens_here == 0:  # nothing to learn from; 0.4's masked_mean gave 0 here too
        return pg_loss * 0.0, metrics
    dp_size = info.get("dp_size", 1)
    global_tokens = info.get("batch_num_tokens") or tokens_here * dp_size  # verl's own fallback when unset
    responses_here = response_mask.shape[0]
    # n_m / B: this micro-batch's share of the rank's mini-batch, logged so that a run shows the weighting was used.
    metrics["actor/verl04_micro_batch_share"] = responses_here * dp_size / global_batch_size
    loss = pg_loss * (global_tokens * responses_here / (tokens_here * global_batch_size))
    if os.environ.get(TRACE_ENV):
        _trace(old_log_prob, log_prob, advantages, response_mask, info, loss)
    return loss, metrics


TRACE_ENV = "JUSTRL_LOSS_TRACE"


def _trace(old_log_prob, log_prob, advantages, response_mask, info: dict, loss: torch.Tensor) -> None:
    """One JSON line: this micro-batch's inputs, verl's batch information and the loss returned (see module doc)."""
    rank = int(os.environ.get("RANK", 0))
    record = {
        "rank": rank,
        "dp_size": int(info.get("dp_size", 1)),
        "global_batch_size": int(info["global_batch_size"]),
        "batch_num_tokens": int(info.get("batch_num_tokens") or 0),
        "loss": loss.item(),
        "log_prob_dtype": str(log_prob.dtype).removeprefix("torch."),  # verl's CPU actor gives bf16 log-probs
        **{k: v.detach().float().tolist() for k, v in
           (("old_log_prob", old_log_prob), ("log_prob", log_prob), ("advantages", advantages))},
        "response_mask": response_mask.int().tolist(),
    }  # fmt: skip
    path = Path(os.environ[TRACE_ENV]) / f"rank{rank}-{os.getpid()}.jsonl"
    with open(path, "a") as out:
        out.write(json.dumps(record) + "\n")
