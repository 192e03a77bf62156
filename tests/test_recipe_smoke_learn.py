"""The recipe learns the CPU task, shown as a study: `launch/study.sh --cpu` runs the recipe, the random control and a
known effect (`low_lr`: the learning rate divided by 10) on two seeds each (first seed 1, with every loss call traced;
then seeds 1,2, which skips the finished runs), and `eval.study` must find the recipe ahead of the control and of the
lower learning rate with an interval around each difference, while the recipe's two seeds are not separated. Every arm
of one seed validates the base model identically at step 0 (seeded sampling). Each recipe seed raises held-out
accuracy, by more than the control and low_lr on the same seed; every mini-batch is weighted as verl 0.4 weighted it on
two ranks (trainer lane: about 2-3 minutes a run).

tests/bench/learning_seeds.py runs the same on three seeds and measures where the time goes.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import psutil
import pytest
import torch
from omegaconf import OmegaConf
from smoke_runs import REPO, ray_like_pids, run_with_progress, smoke
from verl04_reference import v04_rank_loss

pytestmark = [pytest.mark.e2e, pytest.mark.trainer_lane]

LEARN = re.compile(
    r"learn: steps=(\d+) val_acc=([\d.]+)->([\d.]+) pass@8=([\d.]+)->([\d.]+) score=(-?[\d.]+)->(-?[\d.]+) wall=(\d+)s"
)
LEARN_YAML = OmegaConf.load(REPO / "recipe" / "smoke" / "learn.yaml")
STEPS = LEARN_YAML.trainer.total_training_steps
ROLLOUT_N, MINI_BATCH_PROMPTS, RANKS = 8, 4, 2  # recipe/smoke/learn.yaml
ARMS = ("recipe", "control-random", "low_lr")
# The least held-out rise that counts as learning: in the runs of seeds 1-4 measured (hf rollout) the recipe's best
# later validation rose +0.16 to +0.29 over its step 0, its final one +0.08 to +0.29 (one run fell from 0.428 at step 20
# to 0.341 at step 30); the final rose +0.20 in each vLLM-lane run; 320 verdicts put about 0.025 of sampling noise on
# each validation
RISE = 0.1


def learned(stdout: str) -> tuple[float, ...]:
    """(held-out accuracy before, after, pass@8 before, after, training score of the first 5 steps, of the last 5)
    from a run's closing line."""
    lines = [line for line in stdout.splitlines() if line.startswith("learn: ")]
    assert lines, stdout[-3000:]
    match = LEARN.fullmatch(lines[-1])
    assert match, lines[-1]
    return tuple(float(match.group(i)) for i in range(2, 8))


def study(output: Path, seeds: str, env: dict[str, str] | None = None):
    command = ["bash", str(REPO / "launch" / "study.sh"), "--cpu", "--seeds", seeds, "--output", str(output), *ARMS]
    out = run_with_progress(command, {**os.environ, **(env or {})})
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def learning_run(tmp_path_factory):
    """The study: seed 1 of both arms with the loss traced, then seeds 1,2 (seed 1's runs already complete)."""
    workdir = tmp_path_factory.mktemp("study")
    trace = workdir / "loss_trace"
    trace.mkdir()
    before = ray_like_pids(str(workdir))
    first = study(workdir, "1", env={"JUSTRL_LOSS_TRACE": str(trace)})
    second = study(workdir, "1,2")
    return first, second, workdir, trace, before


def run_outputs(stdout: str) -> dict[str, str]:
    """Each run's own output in a study's output, by run name."""
    parts = re.split(r"^study: run \d+/\d+: \S+, seed \d+ \((\S+)\)$", stdout, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_recipe_seed_raises_held_out_accuracy_and_the_control_and_low_lr_less(learning_run):
    """A rise is the best later validation's over step 0's (study.json's `val_acc_best`): a single validation of a
    policy still moving can dip, as the recipe's last one did in one run (see RISE)."""
    first, second, workdir, *_ = learning_run
    runs = {**run_outputs(second.stdout), **run_outputs(first.stdout)}  # seed 1: the output of its training
    arms = json.loads((workdir / "study.json").read_text())["arms"]

    def rise(arm: str, seed: int) -> float:
        run = arms[arm]["seeds"][str(seed)]
        return run["val_acc_best"] - run["val_acc_before"]

    for seed in (1, 2):
        a0, a1, p0, p1, s0, s1 = learned(runs[f"cpu-learn-seed{seed}"])
        assert a0 <= 0.45 and p0 >= 0.6, (a0, p0)  # the base: right part of the time, the right answer sampled often
        assert rise("recipe", seed) >= RISE and a1 > a0 and s1 > s0, (seed, a0, a1, rise("recipe", seed), s0, s1)
        for control in ("control-random", "low_lr"):
            # seed by seed below the recipe's rise (best rises measured: the random control -0.06 to +0.07, low_lr
            # -0.03 to +0.13); the next test sets the final differences against the seed noise
            c0, c1, *_ = learned(runs[f"cpu-learn-{control.removeprefix('control-')}-seed{seed}"])
            assert c0 == a0, (control, seed, c0, a0)  # one base, seeded validation
            assert rise(control, seed) < rise("recipe", seed), (control, seed, rise(control, seed))
    out = runs["cpu-learn-seed1"]
    assert "'path': 'pkg://reward.score'" in out and "'verifier': 'strict'" in out
    assert "'loss_mode': 'verl04_token_mean'" in out


def test_the_rerun_skipped_the_finished_runs_and_the_study_compares_control_and_low_lr_with_the_recipe(learning_run):
    first, second, workdir, *_ = learning_run
    assert second.stdout.count(f"already complete: step {STEPS} of {STEPS}") == len(ARMS)  # seed 1 of every arm
    result = json.loads((workdir / "study.json").read_text())
    assert result["missing"] == [] and set(result["arms"]["recipe"]["seeds"]) == {"1", "2"}
    assert [(c["a"], c["b"]) for c in result["comparisons"]] == [("recipe", arm) for arm in ARMS[1:]]
    for c in result["comparisons"]:  # the control and the tenfold lower learning rate both learn less
        # At 2 seeds an arm the calibrated t-interval (2 degrees of freedom) separates differences of this size (0.11
        # to 0.29, measured) about half the time (eval/README.md's power table), so separation is not asserted here;
        # tests/bench/learning_seeds.py's 3-seed study shows it. What must hold: the sign (low_lr's final difference
        # came out -0.11 to -0.18, with a run-to-run spread of about 0.05), an interval around the difference, the
        # power arithmetic, and no difference at step 0.
        low, high = c["ci95"]
        assert c["diff"] < 0 and low < c["diff"] < high and c["excludes_zero"] == (high < 0), c
        assert c["seeds_needed"] >= 2 and (c["separation_step"] is not None) == c["excludes_zero"], c
        diff0, low0, high0 = c["by_step"]["0"]  # one base model, one seed: the same verdicts at step 0, so no
        assert diff0 == 0 and low0 <= 0 <= high0, c  # difference (the interval is the seeds' spread)
        assert f"study: {c['b']} vs recipe: diff=" in second.stdout
    for seed in ("1", "2"):
        before = {result["arms"][arm]["seeds"][seed]["val_acc_before"] for arm in ARMS}
        assert len(before) == 1, (seed, before)
    assert "actor_rollout_ref.actor.optim.lr" in "".join(result["changes"]["low_lr"])
    for name in ("reward", "entropy", "response_length", "val_acc", "val_acc_diff"):
        assert (workdir / f"study_{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_two_recipe_seeds_are_not_separated(learning_run):
    from eval.study import analyse, read_manifest, read_run

    *_, workdir, _, _ = learning_run
    manifest = read_manifest(workdir)
    names = manifest["runs"]["recipe"]
    pair = {**manifest, "runs": {"seed1": {1: names[1]}, "seed2": {2: names[2]}}}
    runs = {f"seed{s}": {s: read_run(workdir, manifest, names[s])} for s in (1, 2)}
    (c,) = analyse(pair, runs)["comparisons"]
    assert c["separation_step"] is None and c["ci95"] is None and "no interval" in c["note"], c
    assert abs(c["diff"]) < 0.2


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

    *_, trace, _ = learning_run
    groups = mini_batches(trace)
    assert {r["rank"] for g in groups for r in g} == {0, 1}
    assert len(groups) == len(ARMS) * STEPS * 2 * RANKS  # the traced runs x steps x mini-batches a step x ranks
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


def test_its_tensorboard_logs_are_what_eval_dynamics_draws(learning_run, tmp_path):
    from eval.dynamics import main as dynamics

    *_, workdir, _, _ = learning_run
    logdir = workdir / "tensorboard_log" / "justrl" / "cpu-learn-seed1"
    assert dynamics(["--logdir", str(logdir), "--output-dir", str(tmp_path)]) == 0
    for name in ("entropy", "reward", "response_length", "val_acc"):
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_a_rerun_of_a_finished_run_is_complete_without_starting_ray(learning_run):
    first, _, workdir, _, before = learning_run
    again = smoke(workdir, "--learn", "--seed", "1")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"already complete: step {STEPS} of {STEPS}" in again.stdout
    assert "Started a local Ray instance" not in again.stdout + again.stderr
    assert learned(again.stdout)[:4] == learned(run_outputs(first.stdout)["cpu-learn-seed1"])[:4]  # from its logs
    assert ray_like_pids(str(workdir)) - before == set()
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(workdir) in " ".join(p.info["cmdline"] or [])]
