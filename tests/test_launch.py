"""launch/: `--cfg job` on any machine, fail-fast preflight, no hyperparameters or secrets in the scripts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from recipe.tools.fidelity import PUBLISHED

SCRIPTS = [
    "deepseek.sh",
    "nemotron.sh",
    "ablate.sh",
    "stages.sh",
    "study.sh",
    "common.sh",
    "install_gpu.sh",
    "slurm.sbatch",
]
CLUSTER_SHAPE = {"trainer.nnodes", "trainer.n_gpus_per_node"}  # what launch/ owns, from NNODES / GPUS_PER_NODE


def run(script: str, *args: str, env: dict | None = None, cwd: Path | str = "/") -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", **(env or {})}
    return subprocess.run(
        ["bash", str(REPO / "launch" / script), *args], capture_output=True, text=True, env=full_env, cwd=cwd
    )


@pytest.mark.parametrize(
    ("script", "args", "env", "expect"),
    [
        ("deepseek.sh", [], {}, "total_training_steps: 4380"),
        ("nemotron.sh", [], {}, "path: nvidia/OpenMath-Nemotron-1.5B"),
        ("ablate.sh", ["lenient_verifier"], {"MODEL": "nemotron"}, "verifier: lenient"),
    ],
)
def test_cfg_job_prints_the_resolved_config(script, args, env, expect, tmp_path):
    out = run(script, *args, "--cfg", "job", env={"DATA_DIR": str(tmp_path), **env})
    assert out.returncode == 0, out.stderr
    assert expect in out.stdout
    assert f"train_files: {tmp_path}/dapo_math_17k.parquet" in out.stdout  # resolved, from DATA_DIR
    assert "${" not in out.stdout


@pytest.mark.parametrize(
    ("script", "args", "order"),
    [("deepseek.sh", [], "override first"), ("nemotron.sh", [], "override last"),
     ("ablate.sh", ["symmetric_clip"], "both sides")],
)  # fmt: skip
def test_cfg_job_takes_overrides_on_either_side(script, args, order):
    flags = ["--cfg", "job"]
    if order == "override first":
        rest = ["trainer.total_training_steps=5", *flags]
    elif order == "override last":
        rest = [*flags, "trainer.total_training_steps=5"]
    else:
        rest = ["trainer.save_freq=7", *flags, "trainer.total_training_steps=5"]
    out = run(script, *args, *rest)
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.search(r"^  total_training_steps: 5$", out.stdout, re.M)
    assert order != "both sides" or re.search(r"^  save_freq: 7$", out.stdout, re.M)


def test_cfg_all_and_info_print_without_starting_anything(tmp_path):
    out = run("deepseek.sh", "--cfg", "all", "trainer.total_training_steps=5", env={"DATA_DIR": str(tmp_path)})
    assert out.returncode == 0 and "hydra:" in out.stdout and "total_training_steps: 5" in out.stdout
    out = run("deepseek.sh", "trainer.total_training_steps=5", "--info", "searchpath")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "verl" in out.stdout and "preflight" not in out.stdout + out.stderr


def test_a_stage_list_previews_each_stage_with_cfg_job_and_claims_nothing_done(tmp_path):
    stages = tmp_path / "two.yaml"
    stages.write_text("stages:\n  - {name: a, steps: 3}\n  - {name: b, steps: 2, overrides: [trainer.save_freq=9]}\n")
    out = run("stages.sh", str(stages), "--cfg", "job", env={"CKPT_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("total_training_steps: ") >= 2 and "save_freq: 9" in out.stdout
    assert "stages: preview of 2 stages, nothing trained" in out.stdout and "all 2 done" not in out.stdout


def test_relative_paths_are_read_from_where_the_command_runs(tmp_path):
    out = run("deepseek.sh", env={"DATA_DIR": "rel/data", "MODEL_PATH": "./no_model"}, cwd=tmp_path)
    assert out.returncode == 2
    assert f"data file not found: {tmp_path}/rel/data/dapo_math_17k.parquet" in out.stderr
    assert f"model not found: {tmp_path}/no_model" in out.stderr


def test_environment_sets_cluster_shape_and_extra_overrides_pass_through(tmp_path):
    out = run("deepseek.sh", "trainer.save_freq=7", "--cfg", "job", env={"NNODES": "4", "GPUS_PER_NODE": "8"})
    assert out.returncode == 0, out.stderr
    assert re.search(r"^  nnodes: 4$", out.stdout, re.M)
    assert "save_freq: 7" in out.stdout


def test_checkpoints_kept_default_to_three_and_follow_keep_ckpts():
    assert re.search(r"^  max_actor_ckpt_to_keep: 3$", run("deepseek.sh", "--cfg", "job").stdout, re.M)
    out = run("deepseek.sh", "--cfg", "job", env={"KEEP_CKPTS": "0"})
    assert re.search(r"^  max_actor_ckpt_to_keep: 0$", out.stdout, re.M) and "resume_mode: auto" in out.stdout


def test_missing_data_model_and_gpus_fail_fast_before_ray(tmp_path):
    out = run("deepseek.sh", env={"DATA_DIR": str(tmp_path), "MODEL_PATH": str(tmp_path / "no_model")})
    assert out.returncode == 2
    assert f"data file not found: {tmp_path}/dapo_math_17k.parquet" in out.stderr
    assert f"model not found: {tmp_path}/no_model" in out.stderr
    assert "CUDA GPU(s) visible" in out.stderr
    assert "flash-attn is not installed; attn_implementation=flash_attention_2 and use_remove_padding=True" in (
        out.stderr
    )
    assert "ray init" not in out.stdout + out.stderr


def test_without_flash_attn_the_preflight_names_the_fallback_that_runs(tmp_path):
    fallback = ["actor_rollout_ref.model.use_remove_padding=false",
                "+actor_rollout_ref.model.override_config.attn_implementation=sdpa"]  # fmt: skip
    out = run("deepseek.sh", *fallback, env={"DATA_DIR": str(tmp_path)})
    assert out.returncode == 2 and "data file not found" in out.stderr
    assert "flash-attn" not in out.stderr


def test_stages_needs_a_list_and_names_the_known_ones():
    out = run("stages.sh", "no_such_list.yaml")
    assert out.returncode == 2
    assert "deepscaler_context.yaml" in out.stderr


def test_a_stage_list_runs_each_stage_through_the_model_launch_script(tmp_path):
    stages = tmp_path / "two.yaml"
    stages.write_text("stages:\n  - {name: a, steps: 3}\n  - {name: b, steps: 2, start: reset}\n")
    out = run("stages.sh", str(stages), env={"CKPT_DIR": str(tmp_path), "DATA_DIR": str(tmp_path)})
    assert out.returncode == 2  # no data: deepseek.sh's preflight stops the first stage, before Ray
    run_dir = tmp_path / "justrl" / "stages-two-deepseek" / "0-a"
    assert f"stages: stage 1/2 a: steps 1..3 in {run_dir}, resume" in out.stdout
    assert "data file not found" in out.stderr and "stage 1/2 a failed (exit 2)" in out.stdout


def test_unknown_ablation_lists_the_known_ones():
    for name in ("no_such_thing", "kl_loss+no_such_thing"):
        out = run("ablate.sh", name)
        assert out.returncode == 2 and f"unknown ablation '{name}'; known: " in out.stderr
        assert "length_penalty" in out.stderr and "w_reinforce" in out.stderr


def test_an_unknown_model_lists_the_known_ones_in_one_line():
    for script, args in (("ablate.sh", ["kl_loss"]), ("stages.sh", [str(REPO / "recipe/stages/prorl.yaml")])):
        out = run(script, *args, env={"MODEL": "qwen"})
        assert out.returncode == 2 and out.stderr == "unknown MODEL 'qwen'; known: deepseek nemotron\n", out.stderr


def test_each_run_is_named_after_its_model_ablations_and_seed(tmp_path):
    out = run("ablate.sh", "kl_loss+entropy_bonus", "--cfg", "job", env={"MODEL": "nemotron", "SEED": "3",
                                                                          "CKPT_DIR": str(tmp_path)})  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    name = "justrl-nemotron-1.5b-kl_loss+entropy_bonus-seed3"
    assert f"  experiment_name: {name}\n" in out.stdout
    assert f"  default_local_dir: {tmp_path}/justrl/{name}\n" in out.stdout
    assert "entropy_coeff: 0.001" in out.stdout and "use_kl_loss: true" in out.stdout
    assert re.search(r"^  seed: 3$", out.stdout, re.M)  # data.seed


@pytest.mark.parametrize(
    ("override", "line"),
    [
        ("+no.such.key=1", "preflight: no.such.key is not a key of verl 0.9.1 or the recipe: verl would ignore it"),
        (
            "+trainer.total_trainig_steps=1",
            "preflight: trainer.total_trainig_steps is not a key of verl 0.9.1 or the "
            "recipe (did you mean trainer.total_training_steps?)",
        ),
        ("trainer.total_trainig_steps=1", "(did you mean trainer.total_training_steps?), so it cannot be set"),
        ("actor_rollout_ref.model.override_config.attn_implementation=sdpa", "add it with a leading +"),
        (
            "algorithm.filter_groups.max_num_gen_batches=10",
            "preflight: algorithm.filter_groups.max_num_gen_batches=10 is ignored by verl 0.9.1's v1 sampler, which "
            "refills dropped groups until the batch is full, without a cap",
        ),
    ],
)
def test_a_key_nothing_reads_stops_the_launch_in_one_line_before_anything_starts(override, line, tmp_path):
    out = run("deepseek.sh", override, env={"DATA_DIR": str(tmp_path)})
    assert out.returncode == 2 and line in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and "data file not found" not in out.stderr  # the key first, alone
    cfg = run("deepseek.sh", override, "--cfg", "job")
    if override.startswith("+") or "max_num_gen_batches" in override:  # `--cfg job` warns and still prints
        assert cfg.returncode == 0 and f"warning: {line.removeprefix('preflight: ')}" in cfg.stderr
        assert "total_training_steps: 4380" in cfg.stdout
    else:  # nothing to print: the same one line
        assert cfg.returncode == 2 and line.removeprefix("preflight: ") in cfg.stderr and "Traceback" not in cfg.stderr


def test_a_checkpoint_folder_that_cannot_be_written_stops_the_launch(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    out = run("deepseek.sh", env={"CKPT_DIR": str(blocker / "ckpt"), "DATA_DIR": str(tmp_path)})
    assert out.returncode == 2
    assert f"checkpoint folder {blocker}/ckpt/justrl/justrl-deepseek-1.5b: {blocker} is a file, not a folder" in (
        out.stderr
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_hold_no_hyperparameter_and_no_secret(script):
    text = (REPO / "launch" / script).read_text()
    for key in PUBLISHED.keys() - CLUSTER_SHAPE:
        assert key not in text, key
    # a literal value; one read from the environment or generated (`${...}`, `$(...)`) is not a secret in the file
    assert not re.search(r"(api_key|API_KEY|token)\s*=\s*[\"']?[^\s$\"']", text, re.I)
