"""verl 0.9.1's replay buffer, polled with a back-off instead of every 2 s:
`trainer.v1.sampler.custom_sampler={path: pkg://recipe.replay_buffer, name: BackoffReplayBuffer}`.

verl's v1 trainer waits for a step's rollouts in `ReplayBuffer.sample` (`verl/trainer/ppo/v1/replay_buffer.py`): it
checks whether enough groups have finished and, if not, sleeps `poll_interval`, fixed at 2.0 s (the constructor's
default; nothing in the config sets it). A step whose generation takes 0.3 s therefore waits 2 s, and every
validation too: on the CPU smoke, 2.0 s of every 2.5 s step. Here the first wait is `first_poll_s` (10 ms) and each
next one doubles, up to `max_poll_s` (0.2 s): a step waits at most 0.2 s beyond its own generation, and a long one is
polled five times a second (each poll reads the buffer's metadata from TransferQueue once). Sampling itself is
verl's, unchanged.

verl builds a custom sampler with the base constructor arguments only; filtering is the sampler's own business
("custom implementations own their filtering semantics and can consume algorithm.filter_groups through their own
config", `trainer_base.py` `_build_replay_buffer`). So the group filter and batch sizes that verl would pass its own
sampler come here through `sampler_kwargs`, by interpolation from the keys verl reads for them (recipe/smoke/cpu.yaml),
and this class hands them to verl's constructor as `_build_replay_buffer` does. The upstream fix is the back-off in
`ReplayBuffer._wait_for_next_poll` itself (recipe/upstream/).

It also logs what the reward returned beside its score as training metrics: verl keeps every extra key of a reward
function's result (`reward_extra_info`) with each trajectory, and logs them for validation only. After sampling a
training batch this class reads them back for the batch's trajectories and adds `training/reward/<key>/mean` for each
numeric one (booleans as 0/1): the strict verifier's `acc`, and a shaped reward's raw and shaped scores
(recipe/ablation/format_credit.py), so that an ablation of the reward shows in the training curves. With group
filtering on (recipe/ablation/dynamic_sampling.yaml), `training/filter_groups/evicted_samples` is logged every step,
0 when no group was dropped: verl logs it only for steps that dropped one, so a run whose groups all carried signal
showed no sign that the filter was on.
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


class BackoffReplayBuffer(ReplayBuffer):
    """verl's synchronous `ReplayBuffer` whose wait for finished rollouts backs off from `first_poll_s` to
    `max_poll_s`."""

    def __init__(self, *, trainer_mode: str, sampler_kwargs: Any, refill_fn=None, **kwargs: Any):
        if trainer_mode != "sync":
            raise ValueError(f"{type(self).__name__} is verl's synchronous sampler; trainer mode is {trainer_mode!r}")
        options = dict(sampler_kwargs or {})
        self.first_poll_s = float(options.pop("first_poll_s", 0.01))
        self.max_poll_s = float(options.pop("max_poll_s", 0.2))
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
            refill_fn=refill_fn,
            filter_groups_metric=metric,
            sync_refill_failed_groups=refill_failed,
            train_batch_size=train_batch_size,
            # as verl's _build_replay_buffer: one prompt at a time when groups are refilled
            gen_batch_size=1 if metric is not None or refill_failed else (gen_batch_size or train_batch_size),
            max_inflight_gen_batches=filter_groups.get("max_inflight_gen_batches", 1) if metric else 1,
            **kwargs,
        )
        self._next_wait = self.first_poll_s

    def sample(self, global_steps: int, partition_id: str, batch_size: int):
        self._next_wait = self.first_poll_s
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

    def _wait_for_next_poll(self, partition_id: str, last_debug_time: float) -> float:
        wait, self._next_wait = self._next_wait, min(2 * self._next_wait, self.max_poll_s, self.poll_interval)
        saved, self.poll_interval = self.poll_interval, wait
        try:
            return super()._wait_for_next_poll(partition_id, last_debug_time)
        finally:
            self.poll_interval = saved
