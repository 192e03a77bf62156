"""The CPU smoke's sampler: verl 0.9.1's replay buffer polled every 0.1 s instead of every 2 s, and logging the reward's
extra keys as training metrics. `trainer.v1.sampler.custom_sampler` in recipe/smoke/cpu.yaml; the GPU recipe runs
verl's own sampler, whose 2 s poll is nothing beside a step of minutes.

verl's v1 trainer waits for a step's rollouts in `ReplayBuffer.sample` (`verl/trainer/ppo/v1/replay_buffer.py`),
sleeping `poll_interval` between looks, 2.0 s by default and set by nothing in the config: on the smoke, whose steps
generate in a fraction of a second, that was 2.0 s of every 2.5 s step. Here `poll_interval` is the constructor's own
argument, from `sampler_kwargs.poll_interval`. Sampling itself is verl's, unchanged.

verl builds a custom sampler with the base constructor arguments only ("custom implementations own their filtering
semantics", `trainer_base.py` `_build_replay_buffer`), so the group filter and batch sizes that verl hands its own
sampler come here through `sampler_kwargs`, by interpolation from the keys verl reads them from (cpu.yaml), and go to
the constructor as verl's own builder passes them: the filter's metric when it is enabled, one prompt a generation
batch when groups are refilled, else `data.gen_batch_size` or the batch size.

It also logs what the reward returned beside its score: verl keeps every extra key of a reward function's result
(`reward_extra_info`) with each trajectory and logs them for validation only. After sampling a training batch this
class reads them back and adds `training/reward/<key>/mean` for each numeric one (booleans as 0/1): the strict
verifier's `acc`, a shaped reward's raw score (recipe/ablation/format_credit.py). With group filtering on,
`training/filter_groups/evicted_samples` is logged every step, 0 when no group was dropped (verl logs it only for a
step that dropped one). On GPU, `trainer.rollout_data_dir` dumps every training sample with these keys.
"""

from __future__ import annotations

from collections import defaultdict
from numbers import Number
from typing import Any

import transfer_queue as tq
from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer

REWARD_METRIC = "training/reward/{key}/mean"
FILTERED = "training/filter_groups/evicted_samples"  # verl's key for the groups the filter dropped


def reward_info_metrics(extra_fields: list) -> dict[str, float]:
    """The mean of each numeric key of the trajectories' `reward_extra_info` (see the module doc)."""
    values: dict[str, list[float]] = defaultdict(list)
    for fields in extra_fields:
        fields = getattr(fields, "data", fields)
        info = fields.get("reward_extra_info", {}) if isinstance(fields, dict) else {}
        for key, value in info.items():
            if isinstance(value, Number):  # bool is a Number
                values[key].append(float(value))
    return {REWARD_METRIC.format(key=key): sum(v) / len(v) for key, v in values.items()}


class PollingReplayBuffer(ReplayBuffer):
    """verl's synchronous `ReplayBuffer`, polled every `sampler_kwargs.poll_interval` seconds (see the module doc)."""

    def __init__(self, *, trainer_mode: str, sampler_kwargs: Any, refill_fn=None, **kwargs: Any):
        if trainer_mode != "sync":
            raise ValueError(f"{type(self).__name__} is verl's synchronous sampler; trainer mode is {trainer_mode!r}")
        options = dict(sampler_kwargs or {})
        poll_interval = float(options.pop("poll_interval", 0.1))
        filter_groups = options.pop("filter_groups", None) or {}
        train_batch_size = options.pop("train_batch_size", None)
        gen_batch_size = options.pop("gen_batch_size", None)
        refill_failed = bool(options.pop("sync_refill_failed_groups", False))
        metric = filter_groups.get("metric") if filter_groups.get("enable", False) else None
        if metric is not None and not metric:
            raise ValueError("algorithm.filter_groups.metric must be set when group filtering is enabled")
        super().__init__(
            trainer_mode=trainer_mode,
            sampler_kwargs=options,
            poll_interval=poll_interval,
            refill_fn=refill_fn,
            filter_groups_metric=metric,
            sync_refill_failed_groups=refill_failed,
            train_batch_size=train_batch_size,
            gen_batch_size=1 if metric is not None or refill_failed else (gen_batch_size or train_batch_size),
            max_inflight_gen_batches=filter_groups.get("max_inflight_gen_batches", 1) if metric else 1,
            **kwargs,
        )

    def sample(self, global_steps: int, partition_id: str, batch_size: int):
        batch, metrics = super().sample(global_steps, partition_id, batch_size)
        # only trajectories the agent loop stored whole (tag status "success", written with their fields): a failed
        # one has no fields to read
        stored = [key for key, tag in zip(batch.keys, batch.tags, strict=True) if tag.get("status") == "success"]
        if partition_id == "train" and stored:
            data = tq.kv_batch_get(keys=stored, partition_id=partition_id, select_fields=["extra_fields"])
            metrics = {**metrics, **reward_info_metrics(list(data["extra_fields"]))}
        if partition_id == "train" and self.filter_groups_metric is not None:
            metrics = {FILTERED: 0, **metrics}  # the filter's count every step, 0 when it dropped nothing
        return batch, metrics
