"""recipe/tools/train.py: main_ppo's arguments reordered so that Hydra takes overrides on either side of its flags,
and the preflight skipped only for flags that merely print."""

from __future__ import annotations

from recipe.tools.train import main_ppo_argv

CONFIG = ["--config-path", "/recipe", "--config-name", "justrl"]


def test_overrides_go_before_hydras_flags_whatever_order_they_came_in():
    argv, querying = main_ppo_argv([*CONFIG, "a=1", "--cfg", "job", "b=2"])
    assert argv == [*CONFIG, "a=1", "b=2", "--cfg", "job", "--resolve"] and querying
    argv, _ = main_ppo_argv(["--cfg", "all", *CONFIG, "a=1", "--resolve"])
    assert argv == [*CONFIG, "a=1", "--cfg", "all", "--resolve"]


def test_info_takes_an_optional_topic_and_leaves_an_override_alone():
    assert main_ppo_argv([*CONFIG, "--info", "searchpath", "a=1"]) == ([*CONFIG, "a=1", "--info", "searchpath"], True)
    assert main_ppo_argv([*CONFIG, "--info", "a=1"]) == ([*CONFIG, "a=1", "--info"], True)


def test_a_plain_launch_is_not_a_query():
    assert main_ppo_argv([*CONFIG, "a=1", "b=2"]) == ([*CONFIG, "a=1", "b=2"], False)


def test_cfg_job_answered_here_is_what_main_ppo_prints(tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    args = ["--config-path", str(REPO / "recipe"), "--config-name", "justrl", "base_model=nemotron",
            "+ablation@_global_=kl_loss", f"justrl.data_dir={tmp_path}", "--cfg", "job", "--resolve"]  # fmt: skip
    ours = subprocess.run([sys.executable, "-m", "recipe.tools.train", *args], capture_output=True, text=True)
    # the run's name, which recipe/tools/train.py adds (identity.py); main_ppo takes overrides before its flags
    named = [*args[:-3], "justrl.variant='-kl_loss'", *args[-3:]]
    verl = subprocess.run([sys.executable, "-m", "verl.trainer.main_ppo", *named], capture_output=True, text=True)
    assert ours.returncode == verl.returncode == 0, ours.stderr[-2000:] + verl.stderr[-2000:]
    assert ours.stdout == verl.stdout and "kl_loss_coef: 0.001" in ours.stdout
