"""recipe/tools/extensions.py: every name the config selects resolves before Ray starts, as in verl's workers."""

from __future__ import annotations

from recipe.tools.compose import compose_recipe
from recipe.tools.extensions import problems


def test_the_recipe_and_the_python_ablations_resolve():
    assert problems(compose_recipe()) == []
    assert problems(compose_recipe(["+ablation@_global_=[w_reinforce,format_credit]"])) == []


def test_names_that_do_not_resolve_are_named_with_the_modules_imported():
    cfg = compose_recipe([
        "actor_rollout_ref.actor.policy_loss.loss_mode=no_such_loss",
        "algorithm.adv_estimator=no_such_estimator",
        "reward.custom_reward_function.path=pkg://reward.no_such_module",
        "trainer.checkpoint_callback_class=recipe.checkpoint_retention.NoSuchCallback",
        "actor_rollout_ref.model.external_lib=[recipe.policy_loss,recipe.no_such_module]",
    ])  # fmt: skip
    found = "\n".join(problems(cfg))
    assert "actor_rollout_ref.model.external_lib=recipe.no_such_module does not load: ModuleNotFoundError" in found
    assert (
        "actor_rollout_ref.actor.policy_loss.loss_mode=no_such_loss is not a registered policy loss; modules imported "
        "from actor_rollout_ref.model.external_lib: [recipe.policy_loss, recipe.no_such_module]; registered: " in found
    )
    assert "restating the whole list" in found
    assert "algorithm.adv_estimator=no_such_estimator is not a registered advantage estimator" in found
    assert "reward.custom_reward_function=pkg://reward.no_such_module:compute_score does not load" in found
    assert "trainer.checkpoint_callback_class=recipe.checkpoint_retention.NoSuchCallback does not load" in found
    # the agent loop that validation_length registers is missing once its module is
    assert "default_agent_loop=justrl_single_turn" not in found or "not a registered agent loop" in found


def test_a_verl_without_the_private_agent_loop_registry_still_gets_every_other_check(monkeypatch):
    """The agent-loop names live in a private dict of verl 0.9.1; a verl that moves it loses that one check only."""
    from verl.experimental.agent_loop import agent_loop

    monkeypatch.delattr(agent_loop, "_agent_loop_registry")
    assert problems(compose_recipe()) == []
    (found,) = problems(compose_recipe(["algorithm.adv_estimator=no_such_estimator"]))
    assert found.startswith("algorithm.adv_estimator=no_such_estimator is not a registered advantage estimator")


def test_a_mistyped_registered_name_is_told_the_nearest_one():
    """A name one letter off (as `median_baselin` for a fork's loaded `median_baseline`) is named with the nearest."""
    (found,) = problems(compose_recipe(["algorithm.adv_estimator=grpoo"]))
    assert found.startswith(
        "algorithm.adv_estimator=grpoo is not a registered advantage estimator (did you mean grpo?);"
    )
