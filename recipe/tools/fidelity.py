"""Fidelity check: compose the recipe through verl and compare every published JustRL hyperparameter.

    python -m recipe.tools.fidelity                 # both models
    python -m recipe.tools.fidelity --base-model deepseek [extra Hydra overrides ...]

Prints each published value beside the resolved verl 0.9.1 value and exits 1 if any differs. The published values
are restated here from JustRL's training script (recipe/README.md), independently of recipe/justrl.yaml, so that
an edit to the YAML, a default changed by a verl upgrade, or a silently ignored key shows up. It then checks the
compared methods' overlays and stage lists against their sources' values (recipe/tools/compared.py), and that every
key the recipe sets is one verl 0.9.1 declares or reads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from recipe.tools.compose import RECIPE_DIR, base_models, compose_recipe, recipe_overrides
from recipe.tools.known_keys import flatten, unknown

A = "actor_rollout_ref.actor."
R = "actor_rollout_ref.rollout."

PUBLISHED: dict[str, object] = {
    "algorithm.adv_estimator": "grpo",
    "algorithm.norm_adv_by_std_in_grpo": True,
    "algorithm.use_kl_in_reward": False,
    "algorithm.kl_ctrl.kl_coef": 0.0,
    "algorithm.filter_groups.enable": False,
    A + "use_kl_loss": False,
    A + "kl_loss_coef": 0.0,
    A + "entropy_coeff": 0.0,
    "data.train_batch_size": 256,
    R + "n": 8,
    A + "ppo_mini_batch_size": 64,
    A + "ppo_epochs": 1,
    A + "ppo_micro_batch_size_per_gpu": 1,
    A + "use_dynamic_bsz": True,
    A + "ppo_max_token_len_per_gpu": 32768,
    A + "optim.lr": 1e-6,
    A + "optim.lr_warmup_steps": 10,
    A + "optim.lr_scheduler_type": "constant",
    A + "optim.weight_decay": 0.1,
    A + "optim.clip_grad": 1.0,
    A + "clip_ratio_low": 0.2,
    A + "clip_ratio_high": 0.28,
    A + "clip_ratio_c": 10.0,
    A + "loss_agg_mode": "token-mean",
    # verl 0.4's per-micro-batch weighting of that token-mean (recipe/policy_loss.py), loaded in every worker, with the
    # agent loop of the validation length (recipe/validation_length.py)
    A + "policy_loss.loss_mode": "verl04_token_mean",
    "actor_rollout_ref.model.external_lib": ["recipe.policy_loss", "recipe.validation_length"],
    "data.seed": 1,  # verl 0.4's create_rl_sampler seeded the training sampler with 1 when data.seed was unset
    "data.max_prompt_length": 1024,
    "data.max_response_length": 15360,
    "data.filter_overlong_prompts": True,
    "data.truncation": "error",
    R + "name": "vllm",
    R + "tensor_model_parallel_size": 1,
    R + "temperature": 1.0,
    R + "top_p": 1.0,
    R + "gpu_memory_utilization": 0.85,
    R + "max_num_batched_tokens": 32768,
    "reward.reward_manager.name": "dapo",
    "reward.custom_reward_function.path": "pkg://reward.score",
    "reward.custom_reward_function.reward_kwargs.verifier": "strict",
    "reward.reward_kwargs.overlong_buffer_cfg.enable": False,
    "reward.reward_kwargs.overlong_buffer_cfg.len": 4096,
    "reward.reward_kwargs.overlong_buffer_cfg.penalty_factor": 1.0,
    "actor_rollout_ref.model.enable_gradient_checkpointing": True,
    "actor_rollout_ref.model.use_remove_padding": True,
    "actor_rollout_ref.ref.fsdp_config.param_offload": True,
    "trainer.val_before_train": True,
    "trainer.test_freq": 50,
    R + "val_kwargs.n": 32,
    R + "val_kwargs.temperature": 0.7,
    R + "val_kwargs.top_p": 0.9,
    R + "val_kwargs.do_sample": True,
    # validation's length: verl 0.4's val_kwargs.max_new_tokens, here a recipe key read by recipe/validation_length.py
    # through the agent-loop extension points below, and the fork's engine context
    "justrl.validation_max_new_tokens": 31744,
    R + "max_model_len": 32768,
    R + "seed": 0,
    R + "enable_prefix_caching": True,  # the fork's engine had it on too
    R + "agent.agent_loop_manager_class": "recipe.validation_length.ValidationLengthAgentLoopManager",
    R + "agent.default_agent_loop": "justrl_single_turn",
    "trainer.save_freq": 50,
    "trainer.nnodes": 4,
    "trainer.n_gpus_per_node": 8,
}
PUBLISHED_PER_MODEL: dict[str, dict[str, object]] = {
    "deepseek": {
        "actor_rollout_ref.model.path": "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
        "trainer.total_training_steps": 4380,
    },
    "nemotron": {"actor_rollout_ref.model.path": "nvidia/OpenMath-Nemotron-1.5B", "trainer.total_training_steps": 3440},
}
PUBLISHED_VAL_SETS = ["AIME24.parquet", "AIME25.parquet", "AMC23.parquet"]
# How the configured reward scores responses, probed through the function the config names (as verl loads it):
# (data source, response, ground truth, published score). Training: the strict boxed verifier. Validation: verl 0.4's
# math_verify.compute_score over the whole response, so an unboxed final answer counts.
PUBLISHED_SCORES = [
    ("math_dapo", "... so the answer is \\boxed{204}", "204", 1.0),
    ("math_dapo", "The answer is 204.", "204", -1.0),
    ("math_dapo", "\\boxed{\\frac{408}{2}}", "204", -1.0),  # a raw string match: no equivalence
    ("math_dapo", "\\boxed{204.0}", "204", -1.0),  # (a lenient verifier accepts it)
    ("AIME24", "The answer is 204.", "204", 1.0),
    ("AIME24", "\\boxed{205}", "204", 0.0),
]


def recipe_keys() -> list[str]:
    """Every leaf key set by the recipe's YAML files (base, models, ablations; stage lists are not config)."""
    keys: set[str] = set()
    for path in sorted(Path(RECIPE_DIR).rglob("*.yaml")):
        if path.relative_to(RECIPE_DIR).parts[0] == "stages":
            continue
        node = OmegaConf.to_container(OmegaConf.load(path))
        node.pop("defaults", None)
        node.pop("hydra", None)
        keys.update(flatten(node))
    return sorted(keys)


def undeclared_keys() -> list[str]:
    """Recipe keys that verl 0.9.1 neither declares nor reads and the recipe does not declare (known_keys.py)."""
    return unknown(recipe_keys())


def _same(expected, actual) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        try:
            return abs(float(expected) - float(actual)) <= 1e-12 * max(1.0, abs(float(expected)))
        except (TypeError, ValueError):
            return False
    return expected == actual and type(expected) is type(actual)


def _row(label: str, cfg: DictConfig, key: str, expected: object) -> tuple[str, object, object, bool]:
    """(label, published, resolved, ok) for one key of a composed config."""
    actual = OmegaConf.select(cfg, key, default="<absent>")
    if OmegaConf.is_config(actual):
        actual = OmegaConf.to_container(actual)
    return (label, expected, actual, _same(expected, actual))


def check(cfg: DictConfig, base_model: str) -> list[tuple[str, object, object, bool]]:
    """(key, published, resolved, ok) for every published hyperparameter of `base_model`."""
    rows = []
    for key, expected in {**PUBLISHED, **PUBLISHED_PER_MODEL.get(base_model, {})}.items():
        rows.append(_row(key, cfg, key, expected))
    val_sets = [Path(p).name for p in cfg.data.val_files]
    rows.append(("data.val_files (names)", PUBLISHED_VAL_SETS, val_sets, val_sets == PUBLISHED_VAL_SETS))
    return rows + reward_rows(cfg)


def reward_rows(cfg: DictConfig) -> list[tuple[str, object, object, bool]]:
    """The configured reward function on `PUBLISHED_SCORES`, loaded the way verl loads it."""
    from verl.utils.import_utils import load_extern_object

    spec = cfg.reward.custom_reward_function
    score = load_extern_object(spec.path, spec.name)
    kwargs = dict(spec.get("reward_kwargs") or {})
    rows = []
    for source, response, truth, expected in PUBLISHED_SCORES:
        actual = score(source, response, truth, **kwargs)["score"]
        rows.append((f"reward score ({source}: {response[-20:]!r})", expected, actual, _same(expected, actual)))
    return rows


def compared_rows() -> list[tuple[str, object, object, bool]]:
    """(key, published, resolved, ok) for the compared methods' overlays and stage lists (recipe/tools/compared.py)."""
    from recipe.tools.compared import PUBLISHED_COMPARED, PUBLISHED_STAGES, RESET_EVERY, STAGE_STARTS
    from recipe.tools.stages import load_stages, plan, stage_overrides

    rows = []
    for ablation, values in PUBLISHED_COMPARED.items():
        cfg = compose_recipe(recipe_overrides("deepseek", ablation))
        for key, expected in values.items():
            rows.append(_row(f"{ablation}: {key}", cfg, key, expected))
    for name, (per_stage, total) in PUBLISHED_STAGES.items():
        stages = load_stages(RECIPE_DIR / "stages" / f"{name}.yaml")
        planned = {step.stage.name: step for step in plan(stages, Path("/checkpoints"))}
        for stage, values in per_stage.items():
            cfg = compose_recipe(["base_model=deepseek", *stage_overrides(planned[stage])])
            for key, expected in values.items():
                rows.append(_row(f"stages/{name} {stage}: {key}", cfg, key, expected))
        if total is not None:
            steps = sum(s.steps for s in stages)
            rows.append((f"stages/{name}: steps", total, steps, abs(steps - total) <= 0.05 * total))
        if name in STAGE_STARTS:
            starts = sorted({s.start for s in stages[1:]})
            rows.append((f"stages/{name}: start", STAGE_STARTS[name], ",".join(starts), starts == [STAGE_STARTS[name]]))
        if name in RESET_EVERY:
            low, high = RESET_EVERY[name]
            ok = all(low <= s.steps <= high for s in stages)
            rows.append((f"stages/{name}: steps a stage", f"{low}-{high}", sorted({s.steps for s in stages}), ok))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-model", choices=base_models(), action="append")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides, as given to a launch script")
    args = parser.parse_args(argv)
    failures = 0
    for base_model in args.base_model or base_models():
        cfg = compose_recipe([*recipe_overrides(base_model), *args.overrides])
        print(f"\n== {base_model} ==\n{'key':<62} {'published':>24} {'resolved':>24}")
        for key, expected, actual, ok in check(cfg, base_model):
            failures += not ok
            print(f"{key:<62} {expected!s:>24} {actual!s:>24}{'' if ok else '   <-- DIFFERS'}")
    print(f"\n== compared methods (recipe/tools/compared.py) ==\n{'key':<62} {'published':>24} {'resolved':>24}")
    for key, expected, actual, ok in compared_rows():
        failures += not ok
        print(f"{key:<62} {expected!s:>24} {actual!s:>24}{'' if ok else '   <-- DIFFERS'}")
    undeclared = undeclared_keys()
    for key in undeclared:
        print(f"recipe key {key!r} is not declared by verl 0.9.1's ppo_trainer and may be ignored   <-- UNKNOWN")
    failures += len(undeclared)
    print(f"\nfidelity: {'OK' if not failures else f'{failures} difference(s)'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
