"""recipe/: every model x ablation composes through verl and passes its validation; ablations stay minimal;
the published hyperparameters hold; every key is one verl reads; paths point at what data_prep writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf
from verl.utils.import_utils import load_extern_object

from data_prep.benchmarks import main as prepare_benchmarks
from data_prep.dapo_math import main as prepare_dapo
from recipe.tools import fidelity
from recipe.tools.compose import (
    RECIPE_DIR,
    ablations,
    base_models,
    compose_recipe,
    recipe_overrides,
    validate_with_verl,
)
from reward.score import compute_score

COMBINATIONS = [(m, a) for m in base_models() for a in [None, *ablations()]]


def flat(cfg, resolve: bool = True) -> dict[str, object]:
    return fidelity.flatten(OmegaConf.to_container(cfg, resolve=resolve))


def declared_keys(ablation: str) -> set[str]:
    """Leaf keys an ablation file sets, following its own defaults list."""
    node = OmegaConf.to_container(OmegaConf.load(RECIPE_DIR / "ablation" / f"{ablation}.yaml"))
    keys = set()
    for parent in node.pop("defaults", []):
        if parent != "_self_":
            keys |= declared_keys(parent)
    return keys | set(fidelity.flatten(node))


def test_there_are_two_models_and_the_papers_ablations():
    assert base_models() == ["deepseek", "nemotron"]
    assert {"length_penalty", "lenient_verifier"} <= set(ablations())
    assert len(ablations()) >= 3


@pytest.mark.parametrize(("base_model", "ablation"), COMBINATIONS)
def test_every_combination_composes_and_passes_verl_validation(base_model, ablation):
    cfg = compose_recipe(recipe_overrides(base_model, ablation))
    validate_with_verl(cfg)
    # and on one 8-GPU node, as launch/ scripts default to
    validate_with_verl(compose_recipe([*recipe_overrides(base_model, ablation), "trainer.nnodes=1"]))


@pytest.mark.parametrize("ablation", ablations())
def test_each_ablation_changes_only_the_keys_it_declares(ablation):
    """Compared unresolved: keys verl copies by interpolation (`critic.rollout_n: ${...rollout.n}`) follow the key
    the ablation sets and are not changes of their own."""
    base = flat(compose_recipe(recipe_overrides("deepseek"), resolve=False), resolve=False)
    ablated = flat(compose_recipe(recipe_overrides("deepseek", ablation), resolve=False), resolve=False)
    changed = {k for k in base.keys() | ablated.keys() if base.get(k) != ablated.get(k)}
    assert changed, f"{ablation} changes nothing"
    assert changed <= declared_keys(ablation)


@pytest.mark.parametrize("ablation", ablations())
def test_each_ablation_first_line_says_what_it_changes(ablation):
    first = (RECIPE_DIR / "ablation" / f"{ablation}.yaml").read_text().splitlines()[0]
    assert first.startswith("# ") and len(first) > 30


def test_the_two_paper_ablations_change_what_the_paper_says():
    penalty = compose_recipe(recipe_overrides("deepseek", "length_penalty"))
    assert penalty.reward.reward_kwargs.overlong_buffer_cfg == {
        "enable": True,
        "len": 4096,
        "penalty_factor": 1.0,
        "log": False,
    }
    lenient = compose_recipe(recipe_overrides("deepseek", "lenient_verifier"))
    assert lenient.reward.reward_kwargs.overlong_buffer_cfg.enable is True
    assert lenient.reward.custom_reward_function.reward_kwargs.verifier == "lenient"


def test_fidelity_passes_for_both_models(capsys):
    assert fidelity.main([]) == 0
    assert "fidelity: OK" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("actor_rollout_ref.actor.clip_ratio_high=0.2", "actor_rollout_ref.actor.clip_ratio_high"),
        ("actor_rollout_ref.actor.policy_loss.loss_mode=vanilla", "actor_rollout_ref.actor.policy_loss.loss_mode"),
        ("data.seed=null", "data.seed"),
        ("reward.custom_reward_function.reward_kwargs.verifier=lenient", "reward score (math_dapo"),
    ],
)
def test_fidelity_fails_when_a_published_value_is_changed(override, key, capsys):
    assert fidelity.main(["--base-model", "deepseek", override]) == 1
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith(key) and "DIFFERS" in line]


def test_every_recipe_key_is_declared_by_verl_or_known_to_be_read():
    assert fidelity.undeclared_keys() == []


def test_legacy_reward_keys_are_not_used():
    keys = fidelity.recipe_keys()
    assert not [k for k in keys if k.startswith(("custom_reward_function.", "reward_model."))]


def test_reward_path_loads_our_function_through_verl():
    cfg = compose_recipe(recipe_overrides("deepseek"))
    fn = load_extern_object(cfg.reward.custom_reward_function.path, cfg.reward.custom_reward_function.name)
    assert fn is compute_score


def test_data_paths_are_what_data_prep_writes(tmp_path, shared_benchmarks):
    cfg = compose_recipe([*recipe_overrides("deepseek"), f"justrl.data_dir={tmp_path}"])
    source = tmp_path / "src.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.Table.from_pylist(
            [{"prompt": [{"content": "1+1?", "role": "user"}], "reward_model": {"ground_truth": "2", "style": "x"}}]
        ),
        source,
    )
    assert prepare_dapo(["--input", str(source), "--output", cfg.data.train_files]) == 0
    val_dir = {str(Path(f).parent) for f in cfg.data.val_files}
    assert len(val_dir) == 1
    assert prepare_benchmarks(["--output-dir", val_dir.pop(), "--input-dir", str(shared_benchmarks)]) == 0
    assert all(Path(f).is_file() for f in [cfg.data.train_files, *cfg.data.val_files])


def test_step_count_holds_for_keep_all_and_dedup():
    # keep-all: 1,791,700 rows -> 6,998 steps an epoch; dedup: 17,398 rows -> 67 steps an epoch. The run's length is
    # total_training_steps either way, as long as total_epochs cannot end it first.
    for base_model, steps in (("deepseek", 4380), ("nemotron", 3440)):
        cfg = compose_recipe(recipe_overrides(base_model))
        assert cfg.trainer.total_training_steps == steps
        assert cfg.trainer.total_epochs * (17_398 // cfg.data.train_batch_size) >= steps


def test_composition_without_importing_verl_is_the_config_main_ppo_composes():
    """compose_recipe points Hydra at verl's config folder as a file path; the recipe's own pkg:// search path gives
    the same config (and is what main_ppo uses)."""
    import subprocess
    import sys

    from recipe.tools.compose import _compose

    fast = compose_recipe(recipe_overrides("nemotron", "kl_loss"))
    pkg = _compose(str(RECIPE_DIR), "justrl", recipe_overrides("nemotron", "kl_loss"))
    OmegaConf.resolve(pkg)
    assert OmegaConf.to_container(fast) == OmegaConf.to_container(pkg)
    probe = (
        "import sys; from recipe.tools.compose import compose_recipe; compose_recipe(); print('verl' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"


def test_the_compared_methods_overlays_and_stage_lists_hold_their_sources_values():
    rows = fidelity.compared_rows()
    assert [row for row in rows if not row[3]] == []
    assert {row[0].split(":")[0].split(" ")[0] for row in rows} == {
        "prorl", "brorl", "questa", "stages/prorl", "stages/prorl_v2", "stages/questa",
    }  # fmt: skip


def test_fidelity_fails_when_a_compared_methods_value_is_changed(monkeypatch):
    from recipe.tools import compared

    monkeypatch.setitem(compared.PUBLISHED_COMPARED, "prorl", {"actor_rollout_ref.rollout.n": 8})
    assert [row[0] for row in fidelity.compared_rows() if not row[3]] == ["prorl: actor_rollout_ref.rollout.n"]


def test_the_gpu_run_drives_the_engine_the_cpu_lanes_test_with_chunked_entropy_and_stated_budgets():
    gpu = compose_recipe(recipe_overrides("deepseek"))
    smoke = compose_recipe([*recipe_overrides("deepseek"), "+smoke@_global_=[cpu,learn]"])
    for cfg in (gpu, smoke):
        assert cfg.actor_rollout_ref.actor.strategy == cfg.actor_rollout_ref.ref.strategy == "fsdp2"
        assert cfg.actor_rollout_ref.actor.fsdp_config.entropy_from_logits_with_chunking is True
    assert gpu.actor_rollout_ref.actor.ppo_max_token_len_per_gpu == 32768  # its packing drives verl 0.4's weights
    assert gpu.actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu == 32768
    assert gpu.actor_rollout_ref.ref.log_prob_max_token_len_per_gpu == 32768
    assert "hf_model" in gpu.actor_rollout_ref.actor.checkpoint.save_contents
    assert "hf_model" not in gpu.actor_rollout_ref.actor.checkpoint.load_contents
    assert gpu.trainer.v1.sampler.custom_sampler.path is None  # verl's own sampler on GPU
