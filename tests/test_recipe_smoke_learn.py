"""The recipe learns: `launch/cpu_smoke.sh --learn` raises held-out accuracy, weighting each micro-batch as verl 0.4
did on two ranks, while the random control does not learn (trainer lane: about 4-5 minutes a run).

tests/bench/learning_seeds.py runs the same across seeds, with both controls, and prints the spread.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import psutil
import pytest
import torch
from smoke_runs import ray_like_pids, smoke
from verl04_reference import v04_rank_loss

pytestmark = [pytest.mark.e2e, pytest.mark.trainer_lane]

LEARN = re.compile(r"learn: steps=(\d+) val_acc=([\d.]+)->([\d.]+) score=(-?[\d.]+)->(-?[\d.]+) wall=(\d+)s")
ROLLOUT_N, MINI_BATCH_PROMPTS, RANKS = 8, 4, 2  # recipe/smoke/learn.yaml


def learned(out) -> tuple[float, float, float, float]:
    """(held-out accuracy before, after, training score of the first 5 steps, of the last 5) from the closing line."""
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-3000:]
    match = LEARN.fullmatch(out.stdout.strip().splitlines()[-1])
    assert match, out.stdout.strip().splitlines()[-1]
    return tuple(float(match.group(i)) for i in (2, 3, 4, 5))


@pytest.fixture(scope="module")
def learning_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("learn")
    trace = workdir / "loss_trace"
    trace.mkdir()
    before = ray_like_pids(str(workdir))
    out = smoke(workdir, "--learn", env={"JUSTRL_LOSS_TRACE": str(trace)})
    return out, workdir, trace, before


def test_held_out_accuracy_rises_by_at_least_0_3_to_at_least_0_6(learning_run):
    out, *_ = learning_run
    a0, a1, s0, s1 = learned(out)
    assert a1 - a0 >= 0.3 and a1 >= 0.6, (a0, a1)
    assert s1 > s0
    assert "'path': 'pkg://reward.score'" in out.stdout and "'verifier': 'strict'" in out.stdout
    assert "'loss_mode': 'verl04_token_mean'" in out.stdout


def mini_batches(trace: Path) -> list[list[dict]]:
    """The traced micro-batches of each rank, grouped into mini-batches by the responses each rank takes in one."""
    per_rank = ROLLOUT_N * MINI_BATCH_PROMPTS // RANKS
    groups = []
    for path in sorted(trace.glob("rank*.jsonl")):
        current, count = [], 0
        for line in path.read_text().splitlines():
            record = json.loads(line)
            current.append(record)
            count += len(record["response_mask"])
            if count == per_rank:
                groups.append(current)
                current, count = [], 0
        assert not current, f"{path}: a mini-batch of {count} responses, not {per_rank}"
    return groups


def tensors(record: dict) -> dict[str, torch.Tensor]:
    return {
        "old": torch.tensor(record["old_log_prob"]),
        "new": torch.tensor(record["log_prob"], requires_grad=True),
        "adv": torch.tensor(record["advantages"]),
        "mask": torch.tensor(record["response_mask"], dtype=torch.float32),
    }


def as_computed(batch: dict[str, torch.Tensor], record: dict) -> dict[str, torch.Tensor]:
    """The micro-batch in the dtype the worker computed its loss in (bf16 log-probs on verl's CPU actor)."""
    dtype = getattr(torch, record["log_prob_dtype"])
    return {**batch, "old": batch["old"].to(dtype), "new": batch["new"].detach().to(dtype)}


def test_every_mini_batch_is_weighted_as_verl04_weighted_it_on_two_ranks(learning_run):
    from verl.trainer.ppo.core_algos import get_policy_loss_fn
    from verl.utils.config import omega_conf_to_dataclass

    from recipe import policy_loss
    from recipe.tools.compose import compose_recipe

    _, _, trace, _ = learning_run
    groups = mini_batches(trace)
    assert {r["rank"] for g in groups for r in g} == {0, 1}
    assert len(groups) == 40 * 2 * RANKS  # steps x mini-batches a step x ranks
    config = omega_conf_to_dataclass(compose_recipe(["+smoke@_global_=[cpu,learn]"]).actor_rollout_ref.actor)
    loss_fn = get_policy_loss_fn(policy_loss.NAME)
    per_rank = ROLLOUT_N * MINI_BATCH_PROMPTS // RANKS
    unequal = 0
    for group in groups:
        assert len(group) >= 2  # several micro-batches a mini-batch: the weighting is not the identity
        assert {(r["dp_size"], r["global_batch_size"]) for r in group} == {(RANKS, per_rank * RANKS)}
        sizes = {(len(r["response_mask"]), sum(map(sum, r["response_mask"]))) for r in group}
        unequal += len(sizes) > 1
        batches = [tensors(r) for r in group]
        # verl 0.4's arithmetic on the run's own micro-batches, in the dtype the run used
        want = v04_rank_loss([as_computed(b, r) for b, r in zip(batches, group, strict=True)], per_rank)
        torch.testing.assert_close(torch.tensor(sum(r["loss"] for r in group)), want, rtol=1e-4, atol=1e-6)
        ours = torch.zeros(())
        for record, b in zip(group, batches, strict=True):
            info = {k: record[k] for k in ("dp_size", "batch_num_tokens", "global_batch_size")}
            config.global_batch_info.update(info, loss_scale_factor=None)
            ours = ours + loss_fn(b["old"], b["new"], b["adv"], b["mask"].bool(), "token-mean", config, None)[0]
        leaves = [b["new"] for b in batches]
        grad = torch.autograd.grad(ours, leaves)
        want_grad = torch.autograd.grad(v04_rank_loss(batches, per_rank), leaves)
        for g, w in zip(grad, want_grad, strict=True):
            torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-7)
    assert unequal >= len(groups) // 2, f"only {unequal} of {len(groups)} mini-batches packed unequally"


def test_its_tensorboard_logs_are_what_eval_dynamics_draws(learning_run, tmp_path, capsys):
    from eval.dynamics import main as dynamics

    _, workdir, _, _ = learning_run
    logdir = workdir / "tensorboard_log" / "justrl" / "cpu-learn"
    assert dynamics(["--logdir", str(logdir), "--output-dir", str(tmp_path)]) == 0
    for name in ("entropy", "reward", "response_length", "val_acc"):
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_a_rerun_of_the_finished_run_is_complete_without_starting_ray(learning_run):
    out, workdir, _, before = learning_run
    again = smoke(workdir, "--learn")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "already complete: step 40 of 40" in again.stdout
    assert "Started a local Ray instance" not in again.stdout + again.stderr
    assert learned(again)[:2] == learned(out)[:2]  # the same run's figures, from its logs
    assert ray_like_pids(str(workdir)) - before == set()
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(workdir) in " ".join(p.info["cmdline"] or [])]


@pytest.mark.long
def test_the_random_control_does_not_learn(tmp_path):
    a0, a1, _, _ = learned(smoke(tmp_path, "--learn", "--control", "random"))
    assert a1 - a0 <= 0.1, (a0, a1)
