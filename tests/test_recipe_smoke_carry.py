"""recipe/smoke/carry.py: an ablation's values on the CPU task, composed as the smoke composes its runs."""

from __future__ import annotations

from recipe.smoke.carry import carry
from recipe.tools.compose import compose_recipe

LEARN, SMOKE = ["+smoke@_global_=[cpu,learn]"], ["+smoke@_global_=cpu"]
LR = "actor_rollout_ref.actor.optim.lr"


def composed_lr(ablation: str, overlays: list[str]) -> float:
    overrides, _ = carry([f"+ablation@_global_=[{ablation}]"], overlays)
    cfg = compose_recipe(["base_model=deepseek", f"+ablation@_global_=[{ablation}]", *overlays, *overrides])
    return cfg.actor_rollout_ref.actor.optim.lr


def test_a_tenfold_lower_learning_rate_is_tenfold_lower_on_the_learning_task_and_said():
    overrides, lines = carry(["+ablation@_global_=[low_lr]"], LEARN)
    assert overrides == [f"{LR}=3e-05"]
    assert lines == [f"low_lr: {LR}=1e-07 (recipe: 1e-06) carried to the CPU task as its 0.0003 x 0.1 = 3e-05"]
    assert composed_lr("low_lr", LEARN) == 3e-5
    assert composed_lr("low_lr", SMOKE) == 1e-7  # the plain smoke sets no learning rate: the ablation's own reaches it
    assert carry(["+ablation@_global_=[low_lr]"], SMOKE) == ([], [])


def test_a_size_the_task_sets_keeps_the_tasks_value_and_says_so_with_the_way_out():
    overrides, lines = carry(["+ablation@_global_=[brorl]"], LEARN)
    assert overrides == [f"{LR}=0.0024"]  # BroRL's 8e-6, 8 times the recipe's
    n = "actor_rollout_ref.rollout.n"
    assert f"brorl: {n}=512 (recipe: 8): the CPU task keeps its 8 (set it with {n}=VALUE after the command)" in lines
    assert any(
        line.startswith("brorl: data.train_batch_size=128 (recipe: 256): the CPU task keeps its 8") for line in lines
    )
    assert not any("max_resp_len" in line for line in lines)  # follows data.max_response_length, not named again


def test_an_ablation_the_task_does_not_touch_reaches_the_run_as_it_is():
    assert carry(["+ablation@_global_=[w_reinforce]"], LEARN) == ([], [])
    assert carry([], LEARN) == ([], [])
