"""recipe/tools/identity.py: a run's name, and so its folders, follow from its model, ablations, control and seed."""

from __future__ import annotations

import pytest

from recipe.tools.compose import compose_recipe
from recipe.tools.identity import SEED_KEYS, variant, variant_overrides


@pytest.mark.parametrize(
    ("overrides", "suffix"),
    [
        ([], ""),
        (["+ablation@_global_=kl_loss"], "-kl_loss"),
        (["+ablation@_global_=[kl_loss,entropy_bonus]"], "-kl_loss+entropy_bonus"),
        (["justrl.seed=3"], "-seed3"),
        (["+reward.custom_reward_function.reward_kwargs.control=random", "justrl.seed=2"], "-random-seed2"),
        (["+ablation@_global_=[tis]", "justrl.seed=null"], "-tis"),
    ],
)
def test_the_variant_names_what_changes_the_run(overrides, suffix):
    assert variant(overrides) == suffix


def test_composed_runs_of_different_variants_have_different_folders():
    def run_dir(*overrides: str) -> str:
        overrides = ["justrl.data_dir=/d", "justrl.checkpoint_dir=/c", *overrides]
        return compose_recipe([*overrides, *variant_overrides(overrides)]).trainer.default_local_dir

    assert run_dir() == "/c/justrl/justrl-deepseek-1.5b"
    assert run_dir("base_model=nemotron", "+ablation@_global_=[kl_loss]") == "/c/justrl/justrl-nemotron-1.5b-kl_loss"
    assert run_dir("+smoke@_global_=cpu", "+ablation@_global_=[w_reinforce,format_credit]") == (
        "/c/justrl/cpu-smoke-w_reinforce+format_credit"
    )
    assert run_dir("trainer.experiment_name=mine", "justrl.seed=4") == "/c/justrl/mine"  # an explicit name wins


def test_a_seed_sets_the_data_order_the_mini_batches_and_the_rollout():
    overrides = ["justrl.seed=7"]
    cfg = compose_recipe([*overrides, *variant_overrides(overrides)])
    assert [cfg.data.seed, cfg.actor_rollout_ref.actor.data_loader_seed, cfg.actor_rollout_ref.rollout.seed] == [7] * 3
    assert len(SEED_KEYS) == 3 and cfg.trainer.experiment_name == "justrl-deepseek-1.5b-seed7"
    published = compose_recipe(variant_overrides([]))
    assert (published.data.seed, published.actor_rollout_ref.rollout.seed) == (1, 0)  # the published seeds
    kept = variant_overrides(["justrl.seed=7", "data.seed=1"])
    assert "data.seed=7" not in kept and "actor_rollout_ref.rollout.seed=7" in kept  # the command's own value wins


def test_a_seed_that_is_not_an_integer_is_refused():
    with pytest.raises(ValueError, match="justrl.seed=two: a seed is an integer"):
        variant_overrides(["justrl.seed=two"])
