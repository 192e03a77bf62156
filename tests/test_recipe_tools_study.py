"""launch/study.sh (recipe/tools/study.py): bad input stops in one line before any run (in process here, through the
script for a relative folder); each GPU run is the launch scripts' own command, named as the study expects; a study
folder is one study. The CPU study itself runs in the trainer lane (tests/test_recipe_smoke_learn.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from recipe.tools.study import all_runs, eval_command, main, plan, run_command, settle_manifest, write_manifest


def study_sh(*args: str, cwd: Path | str = "/") -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(["bash", str(REPO / "launch" / "study.sh"), *args], capture_output=True, text=True, env=env,
                          cwd=cwd)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--cpu", "--seeds", "1,two", "recipe"], "--seeds 1,two: a comma-separated list of integers"),
        (["--cpu", "--seeds", "1,1", "recipe"], "each once"),
        (["--cpu", "--seeds", "1,,2", "recipe"], "--seeds 1,,2: a comma-separated list of integers"),
        (["--cpu", "recipe", "kl_los"], "arm kl_los: unknown kl_los; an arm is recipe, an ablation (brorl"),
        (["--cpu", "recipe", "kl_loss+entropy"], "unknown entropy"),
        (["recipe", "control-random"], "controls belong to the CPU task: add --cpu"),
        (["--cpu", "--task", "sums", "recipe"], "--task sums: unknown; known: carry, format"),
        (["--cpu"], "name at least one arm"),
        (["--cpu", "--slurm", "recipe"], "--slurm runs GPU studies; a CPU study runs here"),
    ],
)
def test_bad_input_stops_in_one_line_before_any_run(tmp_path, args, says, capsys):
    assert main(["--output", str(tmp_path / "study"), *args]) == 2
    err = capsys.readouterr().err
    assert says in err and err.startswith("error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "study").exists()  # nothing written, nothing run


def test_a_relative_output_is_read_from_where_the_command_runs(tmp_path):
    (tmp_path / "rel" / "checkpoints").mkdir(parents=True)  # refused in one line, naming the folder it resolved
    for args in (["--output", "rel"], ["--output=rel"]):
        out = study_sh(*args, "--cpu", "recipe", cwd=tmp_path)
        assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
        assert f"--output {tmp_path}/rel: holds runs of no study" in out.stderr


def test_a_folder_holding_another_study_or_other_runs_is_refused(tmp_path, capsys):
    write_manifest(tmp_path, plan(["recipe", "kl_loss"], [1, 2], True, "carry", ""))
    for argv, says in (
        (["--cpu", "recipe", "entropy_bonus"], "holds another study (arms: ['recipe', 'kl_loss'], not"),
        (["--cpu", "--task", "format", "recipe", "kl_loss"], "holds another study (task: carry, not format)"),
    ):
        assert main(["--output", str(tmp_path), *argv]) == 2
        assert says in capsys.readouterr().err
    smoke_folder = tmp_path / "smoke"
    (smoke_folder / "checkpoints").mkdir(parents=True)  # a WORKDIR of launch/cpu_smoke.sh
    assert main(["--output", str(smoke_folder), "--cpu", "recipe"]) == 2
    assert "holds runs of no study" in capsys.readouterr().err


def test_the_same_study_may_grow_by_seeds(tmp_path):
    write_manifest(tmp_path, plan(["recipe", "w_reinforce"], [1, 2], True, "carry", ""))
    grown = settle_manifest(tmp_path, plan(["recipe", "w_reinforce"], [3], True, "carry", ""))
    assert [seed for arm, seed in all_runs(grown) if arm == "w_reinforce"] == [1, 2, 3]
    assert grown["runs"]["w_reinforce"][3] == "cpu-learn-w_reinforce-seed3"


def test_run_names_follow_the_runs_identity():
    manifest = plan(["recipe", "kl_loss+entropy_bonus", "control-random"], [1, 2], True, "carry", "")
    assert manifest["runs"]["recipe"][2] == "cpu-learn-seed2"
    assert manifest["runs"]["kl_loss+entropy_bonus"][1] == "cpu-learn-kl_loss+entropy_bonus-seed1"
    assert manifest["runs"]["control-random"][1] == "cpu-learn-random-seed1"
    assert plan(["recipe"], [1], True, "format", "")["runs"]["recipe"][1] == "cpu-learn-format-seed1"
    command, _ = run_command(manifest, Path("/s"), "control-random", 2)
    assert command[-6:] == ["--seed", "2", "--control", "random", "--workdir", "/s"] and "--learn" in command


def test_a_gpu_run_is_the_launch_scripts_command_named_as_the_study_expects(tmp_path):
    """The command each GPU run gets, asked for its config (`--cfg job`): the run's name is the manifest's, its
    validation generations and TensorBoard events go into the study folder, and W&B groups it by arm."""
    manifest = plan(["recipe", "kl_loss"], [1, 2], False, "", "nemotron")
    assert manifest["steps"] == 3440 and manifest["task"] == "nemotron"
    for arm, seed in (("recipe", 1), ("kl_loss", 2)):
        command, env = run_command(manifest, tmp_path, arm, seed)
        name = manifest["runs"][arm][seed]
        assert env["TENSORBOARD_DIR"] == str(tmp_path / "tensorboard_log" / "justrl" / name)
        assert env["WANDB_RUN_GROUP"] == f"{tmp_path.name}-{arm}" and env["CKPT_DIR"] == str(tmp_path / "checkpoints")
        env = {**env, "DATA_DIR": str(tmp_path), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        out = subprocess.run([*command, "--cfg", "job"], capture_output=True, text=True, env=env, cwd=REPO)
        assert out.returncode == 0, out.stderr[-2000:]
        assert f"experiment_name: {name}\n" in out.stdout and f"  seed: {seed}\n" in out.stdout
        assert f"validation_data_dir: {tmp_path}/validation/{name}\n" in out.stdout
        assert f"default_local_dir: {tmp_path}/checkpoints/justrl/{name}\n" in out.stdout
    assert "kl_loss_coef: 0.001" in out.stdout
    command, env = eval_command(manifest, tmp_path, "kl_loss", 2)  # then its last checkpoint on the nine benchmarks
    name = manifest["runs"]["kl_loss"][2]
    assert command == ["bash", "launch/eval.sh"] and env["OUT"] == str(tmp_path / "eval" / name)
    assert env["MODEL"] == str(tmp_path / "checkpoints" / "justrl" / name / "global_step_3440")
    assert eval_command(plan(["recipe"], [1], True, "carry", ""), tmp_path, "recipe", 1) is None


def test_a_slurm_array_task_outside_the_study_is_one_line(tmp_path, capsys):
    write_manifest(tmp_path, plan(["recipe"], [1, 2], True, "carry", ""))
    os.environ["SLURM_ARRAY_TASK_ID"] = "2"
    try:
        assert main(["--output", str(tmp_path), "--array-task"]) == 2
    finally:
        del os.environ["SLURM_ARRAY_TASK_ID"]
    assert "SLURM_ARRAY_TASK_ID=2 is not a run of" in capsys.readouterr().err


def test_an_output_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "study").write_text("")
    assert main(["--output", str(tmp_path / "study"), "--cpu", "recipe"]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"error: --output {tmp_path / 'study'}: a file, not a folder; give a new or empty folder, or this study's\n"
    )


def test_an_arm_that_composes_the_same_run_as_the_first_is_refused_and_each_arms_change_is_named():
    from recipe.tools.study import StudyError, arm_changes

    changes = arm_changes(["recipe", "low_lr", "control-random"], cpu=True, task="carry", model="deepseek")
    assert changes["low_lr"] == [
        "actor_rollout_ref.actor.optim.lr: 0.0003 -> 3e-05",
        "note: low_lr: actor_rollout_ref.actor.optim.lr=1e-07 (recipe: 1e-06) carried to the CPU task as its 0.0003 x "
        "0.1 = 3e-05",
    ]
    assert changes["control-random"] == ["reward.custom_reward_function.reward_kwargs.control: <absent> -> random"]
    with pytest.raises(StudyError, match="arm low_lr composes the same run as low_lr on the CPU task .*nothing to"):
        arm_changes(["low_lr", "low_lr"], cpu=True, task="carry", model="deepseek")


STOPPED = """
import sys
from pathlib import Path
from recipe.tools import study
study.run_command = lambda *a: ([sys.executable, "-c", "import time; print('child', flush=True); time.sleep(120)"], {})
manifest = {"kind": "cpu", "arms": ["recipe"], "runs": {"recipe": {1: "cpu-learn-seed1"}}}
sys.exit(study.run_study(manifest, Path(sys.argv[1])))
"""


@pytest.mark.parametrize(("sig", "code", "name"), [(15, 143, "SIGTERM"), (2, 130, "SIGINT")])
def test_sigterm_or_ctrl_c_stops_the_run_in_progress_then_the_study_in_one_line(tmp_path, sig, code, name):
    import psutil

    proc = subprocess.Popen([sys.executable, "-c", STOPPED, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=REPO)  # fmt: skip
    assert proc.stdout.readline().startswith("study: run 1/1: recipe, seed 1")
    assert proc.stdout.readline() == "child\n"
    child = psutil.Process(proc.pid).children()[0]
    proc.send_signal(sig)
    rest = proc.stdout.read()
    assert proc.wait() == code
    assert rest == (f"study: stopped by {name}; the run in progress was stopped and keeps its checkpoints: rerun the "
                    "same command to resume\n")  # fmt: skip
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
