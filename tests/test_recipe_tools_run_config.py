"""recipe/tools/run_config.py: a rerun resumes a folder only if it is the same run."""

from __future__ import annotations

from recipe.tools.compose import compose_recipe
from recipe.tools.run_config import SAVED, differences, ignored, leaves, resume_problem, save


def test_length_logging_and_paths_may_change_between_attempts():
    may_change = [
        "trainer.total_training_steps",
        "data.max_response_length",
        "actor_rollout_ref.rollout.max_model_len",
        "justrl.validation_max_new_tokens",
        "trainer.logger",
        "trainer.save_freq",
        "data.train_files",
        "actor_rollout_ref.model.path",
        "trainer.default_local_dir",
        "ray_kwargs.ray_init.num_cpus",
    ]
    for key in may_change:
        assert ignored(key), key
    for key in ("actor_rollout_ref.actor.optim.lr", "data.seed", "actor_rollout_ref.actor.policy_loss.loss_mode",
                "reward.custom_reward_function.reward_kwargs.verifier", "trainer.nnodes"):  # fmt: skip
        assert not ignored(key), key


def test_a_folder_started_with_other_settings_is_refused_naming_the_keys(tmp_path):
    base = compose_recipe(["trainer.total_training_steps=10"])
    save(base, tmp_path)
    assert (tmp_path / SAVED).is_file()
    longer = compose_recipe(["trainer.total_training_steps=20", "data.max_response_length=20000"])
    assert resume_problem(longer, tmp_path, has_checkpoint=True) is None
    other = compose_recipe(["actor_rollout_ref.actor.optim.lr=2e-6", "+ablation@_global_=kl_loss"])
    problem = resume_problem(other, tmp_path, has_checkpoint=True)
    assert problem.startswith(f"{tmp_path} holds a run started with other settings, 3 key(s) differ: ")
    assert "actor_rollout_ref.actor.optim.lr: 1e-06 -> 2e-06" in problem
    assert "actor_rollout_ref.actor.use_kl_loss: False -> True" in problem
    assert "trainer.resume_mode=disable" in problem and "justrl.resume_check=false" in problem
    # no checkpoint yet, the check switched off, or a fresh start: nothing to refuse
    assert resume_problem(other, tmp_path, has_checkpoint=False) is None
    assert resume_problem(compose_recipe(["actor_rollout_ref.actor.optim.lr=2e-6", "justrl.resume_check=false"]),
                          tmp_path, has_checkpoint=True) is None  # fmt: skip
    assert resume_problem(compose_recipe(["trainer.resume_mode=disable", "data.seed=3"]), tmp_path, True) is None


def test_differences_name_added_and_removed_keys():
    assert differences({"a.b": 1, "a.c": 2}, {"a.b": 1, "a.d": 3}) == [("a.c", 2, "<absent>"), ("a.d", "<absent>", 3)]
    assert leaves(compose_recipe())["trainer.experiment_name"] == "justrl-deepseek-1.5b"
