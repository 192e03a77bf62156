"""recipe/tools/known_keys.py: a key nothing reads is named, with the nearest real one."""

from __future__ import annotations

import pytest

from recipe.tools.compose import compose_recipe
from recipe.tools.known_keys import composition_problem, declared, nearest, unknown, unknown_key_problems


def test_the_recipe_and_every_ablation_hold_only_keys_verl_or_the_recipe_reads():
    from recipe.tools.compose import ablations

    assert unknown_key_problems(compose_recipe()) == []
    assert unknown_key_problems(compose_recipe([f"+ablation@_global_=[{','.join(ablations())}]"])) == []


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("trainer.total_trainig_steps", "trainer.total_training_steps"),
        ("actor_rollout_ref.actor.optim.lrr", "actor_rollout_ref.actor.optim.lr"),
        ("justrl.validation_max_new_token", "justrl.validation_max_new_tokens"),
    ],
)
def test_a_mistyped_key_is_unknown_and_the_nearest_real_one_is_named(key, hint):
    assert unknown([key]) == [key] and nearest(key) == hint


def test_added_keys_are_checked_and_undeclared_keys_verl_reads_are_not():
    cfg = compose_recipe(["+no.such.key=1", "+trainer.total_trainig_steps=1", "+reward.reward_kwargs.anything=1"])
    problems = unknown_key_problems(cfg)
    assert len(problems) == 2 and problems[0].startswith("no.such.key is not a key of verl 0.9.1 or the recipe")
    assert "(did you mean trainer.total_training_steps?)" in problems[1]
    assert declared("actor_rollout_ref.model.override_config.attn_implementation")


def test_hydras_errors_become_one_line():
    from hydra.errors import HydraException

    for override, line in [
        ("trainer.total_trainig_steps=1", "(did you mean trainer.total_training_steps?), so it cannot be set"),
        ("actor_rollout_ref.model.override_config.attn_implementation=sdpa", "add it with a leading +"),
        ("+ablation@_global_=nope", "Could not find 'ablation/nope'; known: brorl, dr_grpo,"),
    ]:
        with pytest.raises(HydraException) as err:
            compose_recipe([override])
        problem = composition_problem(err.value)
        assert line in problem and "\n" not in problem, problem
