"""End to end: launch/cpu_smoke.sh runs verl's real trainer on the recipe, on CPU (about 80 s)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from omegaconf import OmegaConf
from smoke_runs import logged_steps, ray_like_pids, smoke, smoke_command, validation_steps

from eval.checkpoints import latest_step, saved_steps
from recipe.cpu.forkserver import fork_client
from recipe.smoke.run import parse_metrics, ray_temp_dir, run_processes

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("smoke")
    before = ray_like_pids(str(workdir))
    return smoke(workdir), workdir, before


def test_smoke_exits_zero_with_its_closing_line(smoke_run):
    out, _, _ = smoke_run
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    last = out.stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        r"smoke: 2 steps, score_mean=-?[\d.]+, grad_norm=[\d.e+-]+, world_size=1, loss=verl04_token_mean, "
        r"reward=pkg://reward\.score:compute_score\(verifier=strict\)",
        last,
    ), last


def test_its_ray_workers_are_forked_by_the_fork_server_and_none_started_fresh(smoke_run):
    """recipe/cpu/forkserver.py: verl's Ray instance runs each worker through the fork server's client (the fork
    itself: tests/test_recipe_cpu_forkserver.py)."""
    out, workdir, _ = smoke_run
    assert f"'py_executable': '{fork_client(ray_temp_dir(workdir) / 'fork.sock')}'" in out.stdout
    assert "a worker started fresh" not in out.stdout


def test_every_training_step_ran_and_a_gradient_was_applied(smoke_run):
    out, workdir, _ = smoke_run
    assert logged_steps(out.stdout) == [1, 2]
    run_dir = workdir / "checkpoints" / "justrl" / "cpu-smoke"
    assert saved_steps(run_dir) == [1, 2] and latest_step(run_dir) == 2  # a checkpoint after every step
    steps = dict(p for p in map(parse_metrics, out.stdout.splitlines()) if p and "actor/grad_norm" in p[1])
    assert any(s["actor/grad_norm"] > 0 for s in steps.values())
    assert all(s["actor/pg_clipfrac"] >= 0 for s in steps.values())
    # the recipe's loss weighting (recipe/policy_loss.py) ran in the actor worker: its share metric is logged
    assert "'loss_mode': 'verl04_token_mean'" in out.stdout
    assert all(0 < s["actor/verl04_micro_batch_share"] <= 1 for s in steps.values())
    # and none of the ablations' ingredients (see test_an_ablation_runs_with_its_ingredient_active)
    for evidence in ("actor/kl_loss:", "timing_s/ref:", "actor/entropy_loss:", "filter_groups/", "rollout_is_mean:"):
        assert evidence not in out.stdout, evidence


def test_the_strict_reward_scored_training_and_math_verify_scored_validation(smoke_run):
    out, _, _ = smoke_run
    assert "'path': 'pkg://reward.score'" in out.stdout
    assert "run: cpu-smoke -> " in out.stdout and "; reward pkg://reward.score:compute_score(verifier=strict);" in (
        out.stdout
    )
    # the reward's extra keys are training metrics too (recipe/smoke/replay_buffer.py): the strict verifier's accuracy
    steps = dict(p for p in map(parse_metrics, out.stdout.splitlines()) if p and "actor/grad_norm" in p[1])
    assert all(0 <= s["training/reward/acc/mean"] <= 1 for s in steps.values())
    steps = [p[1] for p in map(parse_metrics, out.stdout.splitlines()) if p and "critic/score/min" in p[1]]
    assert {s["critic/score/min"] for s in steps} <= {-1.0, 1.0}  # the strict verifier's +1 / -1 scale
    assert "val-core/AIME24/acc/mean@2" in out.stdout or "val-aux/AIME24/score/mean@2" in out.stdout


ORPHAN = """
import os, time
if os.fork():
    os._exit(0)  # the child is reparented, as a Ray worker is once its raylet is gone
print(os.getpid(), flush=True)
time.sleep(300)
"""


def test_stop_ray_finds_a_worker_that_lost_its_parent(tmp_path):
    from recipe.smoke.run import RUN_MARKER, stop_ray

    marker = str(tmp_path / "ray")
    env = {**os.environ, RUN_MARKER: marker}
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN], env=env, stdout=subprocess.PIPE, text=True)
    orphan = psutil.Process(int(parent.stdout.readline()))
    parent.stdout.close()
    parent.wait(timeout=30)
    assert marker not in " ".join(orphan.cmdline()) and orphan.ppid() != os.getpid()
    assert stop_ray(marker) == 1
    assert not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE
    assert stop_ray(marker) == 0


def test_a_step_saved_but_never_logged_counts_in_the_run_and_is_named(capsys):
    """verl saves a step's checkpoint before it logs the step; an attempt killed in between leaves a run of 4 steps
    whose logs hold 3: the closing line counts the run's steps and the line before it names the missing one."""
    from recipe.smoke.run import summarize

    step = {"actor/grad_norm": 0.5, "critic/score/mean": 0.0, "critic/score/min": -1.0, "critic/score/max": 1.0}
    identity = {"loss": "verl04_token_mean", "reward": "r"}
    assert summarize({1: step, 3: step, 4: step}, identity, 0, 1.0, world_size=1, complete=True) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("smoke: step(s) 2 of the run are not in its TensorBoard logs")
    assert lines[1].startswith("smoke: 4 steps, score_mean=0.000, grad_norm=0.5, world_size=1")
    summarize({1: step, 2: step}, identity, 0, 1.0, world_size=1, complete=True)
    assert capsys.readouterr().out.startswith("smoke: 2 steps, ")


def test_no_ray_process_outlives_the_run(smoke_run):
    _, workdir, before = smoke_run
    assert ray_like_pids(str(workdir)) - before == set()


def test_an_ablation_in_a_reused_workdir_is_its_own_run_with_its_evidence_at_every_step(smoke_run, tmp_path, capsys):
    """A researcher's path: the plain smoke done in WORKDIR, then the two worked Python ablations (a registered loss and
    a shaped reward) in the same WORKDIR. They run as their own run, name what they used, and log their evidence at
    every step, which eval.dynamics draws; the plain smoke's run is left as it was."""
    from eval.dynamics import main as dynamics

    _, workdir, before = smoke_run
    out = smoke(workdir, "--ablation", "w_reinforce+format_credit")
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-3000:]
    name = "cpu-smoke-w_reinforce+format_credit"
    assert f"run: {name} -> {workdir}/checkpoints/justrl/{name}; " in out.stdout
    assert "already complete" not in out.stdout and logged_steps(out.stdout) == [1, 2]
    assert (
        out.stdout.strip()
        .splitlines()[-1]
        .endswith(
            ", loss=w_reinforce, reward=pkg://recipe.ablation.format_credit:compute_score(verifier=strict "
            "boxed_wrong_score=-0.5)"
        )
    )
    steps = dict(p for p in map(parse_metrics, out.stdout.splitlines()) if p and "actor/grad_norm" in p[1])
    for metrics in steps.values():
        assert metrics["actor/w_reinforce_lambda"] == 0.1 and 0 <= metrics["actor/w_reinforce_positive_token_frac"] <= 1
        assert 0 < metrics["actor/verl04_micro_batch_share"] <= 1  # the recipe's weighting, under the new loss
        assert {"training/reward/raw_score/mean", "training/reward/credited/mean"} <= metrics.keys()
        # the shaped score is the raw one, except -0.5 instead of -1 for each credited response
        shift = 0.5 * metrics["training/reward/credited/mean"]
        assert metrics["training/reward/score/mean"] == pytest.approx(metrics["training/reward/raw_score/mean"] + shift)
    assert saved_steps(workdir / "checkpoints" / "justrl" / name) == [1, 2]
    assert saved_steps(workdir / "checkpoints" / "justrl" / "cpu-smoke") == [1, 2]
    logdir = workdir / "tensorboard_log" / "justrl" / name
    evidence = ["actor/w_reinforce_positive_token_frac", "training/reward/raw_score/mean"]
    assert dynamics(["--logdir", str(logdir), "--output-dir", str(tmp_path), *(f"--metric={m}" for m in evidence)]) == 0
    printed = capsys.readouterr().out
    for metric in evidence:
        assert f"metric: {name}: {metric} " in printed and "(step 2)" in printed
        assert (tmp_path / f"metric_{metric.replace('/', '_')}.png").read_bytes()[:4] == b"\x89PNG"
    assert ray_like_pids(str(workdir)) - before == set()


def test_rerunning_the_plain_smoke_in_that_workdir_is_its_own_finished_run_and_other_settings_are_refused(smoke_run):
    _, workdir, _ = smoke_run
    again = smoke(workdir)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "already complete: step 2 of 2" in again.stdout
    assert again.stdout.strip().splitlines()[-1].startswith("smoke: 2 steps, ")
    changed = smoke(workdir, "actor_rollout_ref.actor.optim.lr=1e-3", "trainer.total_training_steps=3")
    assert changed.returncode == 2, changed.stdout[-3000:]
    said = changed.stdout + changed.stderr  # the smoke passes on what the preflight printed, stderr included
    assert f"{workdir}/checkpoints/justrl/cpu-smoke holds a run started with other settings, 1 key(s) differ: " in said
    assert "actor_rollout_ref.actor.optim.lr: 1e-06 -> 0.001" in said  # the step count may change
    assert "Started a local Ray instance" not in changed.stdout + changed.stderr
    assert latest_step(workdir / "checkpoints" / "justrl" / "cpu-smoke") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["+trainer.total_trainig_steps=1"], "preflight: trainer.total_trainig_steps is not a key of verl 0.9.1 or the "
         "recipe (did you mean trainer.total_training_steps?)"),
        (["trainer.total_trainig_steps=1"], "(did you mean trainer.total_training_steps?), so it cannot be set"),
        (["actor_rollout_ref.actor.policy_loss.loss_mode=w_reinforce"], "preflight: actor_rollout_ref.actor."
         "policy_loss.loss_mode=w_reinforce is not a registered policy loss; modules imported from "
         "actor_rollout_ref.model.external_lib: [recipe.policy_loss, recipe.validation_length]"),
        (["--ablation", "w_reinforce+no_such"], "error: --ablation w_reinforce+no_such: unknown no_such; known: "),
    ],
    ids=["mistyped new key", "mistyped key", "loss module not loaded", "unknown ablation"],
)  # fmt: skip
def test_each_mistake_is_one_line_and_exit_2_before_ray_starts(args, message, tmp_path):
    out = smoke(tmp_path, *args)
    said = out.stdout + out.stderr  # the smoke passes on what the preflight printed, stderr included
    assert out.returncode == 2 and message in said, said[-3000:]
    assert "Traceback" not in said and "Started a local Ray instance" not in said
    assert not (tmp_path / "checkpoints" / "justrl" / "cpu-smoke" / "justrl_run.yaml").exists()


def test_a_workdir_that_cannot_be_used_is_one_line(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    for workdir in (blocker, blocker / "below"):
        out = smoke(workdir)
        assert out.returncode == 2 and out.stderr.startswith(f"error: WORKDIR {workdir} cannot be used: "), out.stderr
        assert "Traceback" not in out.stderr


def test_eval_reads_the_weights_saved_with_a_checkpoint_and_merges_one_without_them_with_verls_merger(
    smoke_run, tmp_path
):
    import shutil

    import torch
    from safetensors.torch import load_file

    from eval.checkpoints import resolve_model
    from eval.generate import main as generate
    from eval.run_layout import RunLayout
    from eval.store import read_records

    _, workdir, _ = smoke_run
    checkpoint = workdir / "checkpoints" / "justrl" / "cpu-smoke" / "global_step_2"
    assert (checkpoint / "actor" / "model_world_size_1_rank_0.pt").exists()
    # verl wrote actor/huggingface (checkpoint.save_contents: hf_model); the retention linked it beside actor/
    saved = checkpoint / "huggingface"
    linked = checkpoint / "actor" / "huggingface" / "model.safetensors"
    assert (saved / "model.safetensors").stat().st_ino == linked.stat().st_ino
    args = ["--model", str(checkpoint), "--output-dir", str(tmp_path), "--backend", "hf", "--benchmarks", "AIME24",
            "--data-dir", str(workdir / "data" / "benchmarks"), "--n", "2", "--max-new-tokens", "8"]  # fmt: skip
    assert generate(args) == 0
    assert not RunLayout(tmp_path).merged_model(checkpoint).exists()  # no merge: the saved weights were read
    assert len(list(read_records(tmp_path / "generations" / "AIME24.jsonl"))) == 4

    bare = tmp_path / "cpu-smoke" / "global_step_2"  # as a checkpoint saved without hf_model: config, no weights
    shutil.copytree(checkpoint / "actor", bare / "actor", ignore=shutil.ignore_patterns("*.safetensors"))
    merged = Path(resolve_model(str(bare), RunLayout(tmp_path).merged_model))
    assert merged.name.startswith("hf_cpu-smoke-global_step_2-")
    ours, verls = load_file(saved / "model.safetensors"), load_file(merged / "model.safetensors")
    assert ours.keys() == verls.keys()
    for name, tensor in ours.items():  # the same weights, whatever dtype each was written in
        torch.testing.assert_close(tensor.float(), verls[name].float(), rtol=1e-2, atol=1e-3)


def test_the_sweep_evaluates_every_checkpoint_of_the_run(smoke_run, tmp_path):
    from eval.sweep import main as sweep

    _, workdir, _ = smoke_run
    run_dir = workdir / "checkpoints" / "justrl" / "cpu-smoke"
    args = ["--run-dir", str(run_dir), "--output-dir", str(tmp_path), "--benchmarks", "AIME24", "--backend", "hf",
            "--data-dir", str(workdir / "data" / "benchmarks"), "--n", "2", "--max-new-tokens", "8"]  # fmt: skip
    assert sweep(args) == 0
    assert sorted(p.name for p in tmp_path.glob("step_*")) == ["step_1", "step_2"]
    assert (tmp_path / "sweep_AIME24.png").read_bytes()[:4] == b"\x89PNG"
    table = (tmp_path / "sweep.md").read_text().splitlines()
    assert table[0] == "| step | AIME24 |" and [row.split(" |")[0] for row in table[2:]] == ["| 1", "| 2"]
    assert sweep(args) == 0  # resumable: nothing left to generate or grade


@pytest.mark.trainer_lane
def test_a_stage_list_killed_after_its_first_checkpoint_resumes_where_it_stopped_and_reruns_to_nothing(tmp_path):
    """ProRL v1's overlay in two stages of two steps, the second going on with the first's run, its reference reset to
    the current actor and its optimizer kept (ProRL v2's `start: reference`), with a new length. SIGKILL to the
    launcher after step 1 (a preempted job): its trainer ends with it; then the same command again stops what Ray left
    of the killed attempt before reading its checkpoints, stage 1 resumes at step 2 (or is complete, when the killed
    attempt's Ray saved step 2 before it was stopped), none repeated or skipped, and no start validation repeated;
    stage 2 carries the run on; the newest 3 checkpoints are kept across the attempts; a third time, nothing runs."""
    stages = tmp_path / "stages.yaml"
    stages.write_text(
        "stages:\n  - {name: short, steps: 2, overrides: [+ablation@_global_=prorl]}\n"
        "  - {name: longer, steps: 2, start: reference, overrides: [+ablation@_global_=prorl,"
        " data.max_response_length=24]}\n"
    )
    run_dir = tmp_path / "checkpoints" / "stages" / "stages" / "0-short"
    command, env = smoke_command(tmp_path, "--stages", str(stages), "--stage-steps", "2")
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = []
    for line in proc.stdout:
        first.append(line)
        if logged_steps(line) == [1]:
            break
    assert latest_step(run_dir) == 1, "".join(first[-50:])
    marker = str(ray_temp_dir(tmp_path))
    trainers = [p for p in run_processes(marker) if "recipe.tools.train" in " ".join(p.cmdline())]
    assert trainers, "no trainer found"
    psutil.Process(proc.pid).kill()  # the launcher alone, as a killed job step: its trainer must not outlive it
    proc.wait()
    proc.stdout.close()
    _, alive = psutil.wait_procs(trainers, timeout=120)  # SIGTERM from the kernel (recipe/tools/lifecycle.py)
    assert not alive, f"the trainer outlived its launcher: {alive}"

    out = smoke(tmp_path, "--stages", str(stages), "--stage-steps", "2")
    assert out.returncode == 0, out.stdout[-5000:]
    assert not run_processes(marker)  # what Ray left of the killed attempt was stopped by the rerun
    first, second = out.stdout.split("stages: stage 2/2 longer: ")
    leftovers = first.find("left by an earlier attempt")  # what Ray left, if anything: stopped before the plan
    assert leftovers < first.index("stages: stage 1/2"), first[:3000]
    resumed_stage_1 = f"stages: stage 1/2 short: done (step 2 in {run_dir}), skipped" not in first
    if not resumed_stage_1:
        # verl's training loop runs in a Ray actor, which may finish step 2 and save it after its driver died (seen
        # on a busy machine); the rerun stopped it first, then found stage 1 complete
        assert "preflight" not in first
        # and may have saved it before it logged it: the run has 4 steps all the same, the missing log is named
        assert "\nsmoke: step(s) 2 of the run are not in its TensorBoard logs" in second or "step(s)" not in second
    else:
        assert f"stages: stage 1/2 short: steps 2..2 in {run_dir}, resume" in first
        assert f"preflight: resuming from {run_dir}/global_step_1 (step 1 of 2)" in first
        assert "preflight: no start validation (trainer.val_before_train=false): the run resumes at step 1" in first
        assert logged_steps(first) == [2]  # 1 before the kill, 2 after
        assert "\nsmoke: 2 steps, " in first  # the run's steps, not the attempt's
    assert "\nsmoke: 4 steps, " in second
    assert second.startswith(f"steps 3..4 in {run_dir}, resume, the reference reset to the last actor (reference)")
    assert f"preflight: resuming from {run_dir}/global_step_2 (step 2 of 4)" in second  # weights and optimizer
    # a restart validates no step again: step 0 before training (the first attempt), each stage's last step
    assert "Initial validation metrics" not in second and "no start validation" in second
    validated = validation_steps(tmp_path / "tensorboard_log")
    assert validated == sorted(set(validated)) and {0, 4} <= set(validated), validated
    assert resumed_stage_1 is False or validated == [0, 2, 4], validated
    reference = run_dir / "reference-1-longer"
    assert f"converting verl checkpoint {run_dir}/global_step_2/actor -> {reference}" in out.stdout  # then stage 2
    assert f"'path': '{reference}'" in second and (reference / "model.safetensors").is_file()  # verl's reference
    assert "'max_response_length': 24" in second and logged_steps(second) == [3, 4]
    for stage in (s for s in (first, second) if "preflight" in s):  # ProRL's: the KL loss, clip-high 0.4, T 1.2
        assert "actor/kl_loss:" in stage and "'clip_ratio_high': 0.4" in stage and "'temperature': 1.2" in stage
    assert saved_steps(run_dir) == [2, 3, 4]  # justrl.yaml keeps 3 (recipe/checkpoint_retention.py)

    again = smoke(tmp_path, "--stages", str(stages), "--stage-steps", "2")
    assert again.returncode == 0 and "preflight" not in again.stdout
    assert "stage 1/2 short: done (step 4" in again.stdout and "stage 2/2 longer: done (step 4" in again.stdout


@pytest.mark.trainer_lane
def test_questas_stages_train_on_their_hints_and_the_second_starts_from_the_merged_first(tmp_path):
    """recipe/stages/questa.yaml, a step a stage: the reset stage is a new run from the merged actor."""
    root = tmp_path / "checkpoints" / "stages" / "questa"
    out = smoke(tmp_path, "--stages", str(REPO / "recipe" / "stages" / "questa.yaml"))
    assert out.returncode == 0, out.stdout[-5000:]
    first, second = out.stdout.split("stages: stage 2/2 hints25: ")
    init_model = root / "1-hints25" / "init_model"
    # What each stage ran with, as its start saved it (recipe/tools/run_config.py): verl's printed config is long, and
    # on a busy machine one stage's print once came through incomplete.
    for stage_dir, data in (("0-hints50", "questa_50"), ("1-hints25", "questa_25")):  # data_prep.questa's files
        ran = OmegaConf.load(root / stage_dir / "justrl_run.yaml")
        assert ran.data.train_files == f"{tmp_path}/data/{data}.parquet"
        assert ran.algorithm.adv_estimator == "reinforce_plus_plus"  # QuestA's estimator and verifier
        assert ran.reward.custom_reward_function.reward_kwargs.verifier == "lenient"
    # the reset stage: its reference policy and starting weights are the merged actor; its prompts, QuestA's length
    assert ran.actor_rollout_ref.model.path == str(init_model) and ran.data.max_prompt_length == 2048
    for stage in (first, second):
        assert "\nsmoke: 1 steps, " in stage  # from the stage's own logs
        assert "rollout_corr/rollout_is_mean:" in stage and "training/filter_groups/evicted_samples:" in stage
    assert (init_model / "model.safetensors").is_file()  # verl's merger on the first stage's last actor
    assert f"converting verl checkpoint {root}/0-hints50/global_step_1/actor -> {init_model}" in out.stdout
    assert f"preflight: starting at step 0: no checkpoint in {root}/1-hints25" in second  # no optimizer to load
    assert "Resuming from" not in second
    assert saved_steps(root / "0-hints50") == [1] and saved_steps(root / "1-hints25") == [1]


# What shows that an ablation's code path ran, in verl's log of two GRPO steps (the main smoke shows none of these).
INGREDIENTS = {
    "kl_loss": ["timing_s/ref:", "actor/kl_loss:", "actor/kl_coef:0.001"],  # the reference model ran, KL in the loss
    "entropy_bonus": ["actor/entropy_loss:"],  # computed for the loss only when entropy_coeff != 0
    # dropped all-equal groups, counted every step (recipe/smoke/replay_buffer.py); verl logs it only when it drops one
    "dynamic_sampling": ["training/filter_groups/evicted_samples:"],
    "brorl": ["training/filter_groups/evicted_samples:", "'lr': 8e-06"],  # its sizes give way to the smoke's
    "prorl": ["actor/kl_loss:", "'clip_ratio_high': 0.4", "'temperature': 1.2"],  # ProRL v1's overlay
    "tis": ["rollout_corr/rollout_is_mean:"],  # importance weights against the rollout's log-probs
    "dr_grpo": ["'loss_agg_mode': 'seq-mean-token-sum-norm'", "'norm_adv_by_std_in_grpo': False"],
    "gspo": ["'loss_mode': 'gspo'"],
    "verl09_loss": ["'loss_mode': 'vanilla'"],
}


# Ablations whose code paths are independent share one run (one start-up instead of four). verl 0.9's own losses
# replace the recipe's verl 0.4 weighting and each other: verl09_loss runs alone, and the other two ride on runs that
# check something else and do not depend on the loss (a start-up each saved).
RUNS = [("kl_loss", "entropy_bonus", "brorl", "tis"), ("verl09_loss",)]
RIDING = {"gspo": "the two-node run", "dr_grpo": "the validation-length run", "dynamic_sampling": "brorl's run (its "
          "defaults list holds it)", "prorl": "the stage-list run"}  # fmt: skip
assert sorted([*(name for run in RUNS for name in run), *RIDING]) == sorted(INGREDIENTS)


def assert_ablations_ran(out, names) -> None:
    for evidence in (e for name in names for e in INGREDIENTS[name]):
        assert evidence in out.stdout, evidence
    replaced = names[0] in ("dr_grpo", "gspo", "verl09_loss")
    assert ("actor/verl04_micro_batch_share" in out.stdout) is not replaced


@pytest.mark.trainer_lane
@pytest.mark.parametrize("names", RUNS, ids="+".join)
def test_ablations_run_two_grpo_steps_with_their_ingredients_active(names, tmp_path):
    out = smoke(tmp_path, f"+ablation@_global_=[{','.join(names)}]")
    assert out.returncode == 0, out.stdout[-5000:]
    assert logged_steps(out.stdout) == [1, 2]
    assert_ablations_ran(out, names)


@pytest.mark.trainer_lane
def test_two_ray_nodes_each_train_one_rank_of_a_sharded_actor_and_stop_afterwards(tmp_path):
    """The multi-node path: `ray start --head`, `ray start --address`, verl joining through RAY_ADDRESS (with the
    gspo ablation, whose evidence is its loss mode)."""
    before = ray_like_pids(str(tmp_path))
    out = smoke(tmp_path, "--ray-nodes", "2", "+ablation@_global_=[gspo]")
    assert out.returncode == 0, out.stdout[-5000:]
    assert_ablations_ran(out, ["gspo"])
    assert ", world_size=2, loss=gspo, " in out.stdout.strip().splitlines()[-1]
    assert "smoke: local Ray cluster of 2 nodes at 127.0.0.1:" in out.stdout
    assert "Connecting to existing Ray cluster" in out.stdout and "Started a local Ray instance" not in out.stdout
    # each node declares one logical GPU and each rank takes one: two ranks are two nodes
    assert len(set(re.findall(r"\(WorkerDict pid=(\d+)", out.stdout))) == 2
    actor = tmp_path / "checkpoints" / "justrl" / "cpu-smoke-gspo" / "global_step_2" / "actor"  # the ablation's run
    assert sorted(p.name for p in actor.glob("model_world_size_*")) == [
        "model_world_size_2_rank_0.pt", "model_world_size_2_rank_1.pt",
    ]  # fmt: skip
    assert ray_like_pids(str(tmp_path)) - before == set()


@pytest.mark.trainer_lane
def test_validation_generates_past_the_training_length_as_the_published_run_did(tmp_path):
    """recipe/validation_length.py: validation asks for justrl.validation_max_new_tokens (32 on the smoke, 31,744 in
    the recipe) while training stops at data.max_response_length (16, 15,360). A model taught to repeat one token
    and never stop shows each cap as the length of its responses (with the dr_grpo ablation, whose evidence is its
    loss settings)."""
    from eval.store import read_records
    from recipe.smoke.tiny_model import build_model, teach

    model_dir = tmp_path / "repeater"
    model, tokenizer = build_model(model_dir, seed=5)
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "What is 1 + 2?"}], add_generation_prompt=True)
    prompt = list(prompt["input_ids"] if hasattr(prompt, "keys") else prompt)
    seven = tokenizer("7", add_special_tokens=False)["input_ids"]
    teach(model, [(prompt, seven * 64)], steps=60, seed=5)
    model.save_pretrained(model_dir)
    dumps = {"train": tmp_path / "rollouts", "val": tmp_path / "validation"}
    dump_overrides = [f"trainer.rollout_data_dir={dumps['train']}", f"trainer.validation_data_dir={dumps['val']}"]
    out = smoke(tmp_path, "--model", str(model_dir), "trainer.total_training_steps=1", "+ablation@_global_=[dr_grpo]",
                *dump_overrides)  # fmt: skip
    assert out.returncode == 0, out.stdout[-5000:]
    assert_ablations_ran(out, ["dr_grpo"])
    lengths = {}
    for kind, folder in dumps.items():
        rows = [row for path in folder.glob("*.jsonl") for row in read_records(path)]
        assert rows and all(set(r["output"]) == {"7"} for r in rows), rows[:2]  # one token each: "7"
        lengths[kind] = {len(r["output"]) for r in rows}
    assert lengths == {"train": {16}, "val": {32}}
