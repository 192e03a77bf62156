"""Compose the recipe exactly as `python -m verl.trainer.main_ppo --config-path recipe --config-name justrl` does."""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig, OmegaConf

from recipe.protocol import RECIPE_DIR, base_models

CONFIG_NAME = "justrl"


def ablations() -> list[str]:
    """The ablation overlays in recipe/ablation/ (select with `+ablation@_global_=NAME`, as launch/ablate.sh does)."""
    return sorted(p.stem for p in (RECIPE_DIR / "ablation").glob("*.yaml"))


def recipe_overrides(base_model: str = "deepseek", ablation: str | None = None) -> list[str]:
    """The Hydra overrides that pick a model overlay and, optionally, an ablation."""
    if base_model not in base_models():
        raise ValueError(f"unknown base model {base_model!r}; known: {', '.join(base_models())}")
    overrides = [f"base_model={base_model}"]
    if ablation:
        if ablation not in ablations():
            raise ValueError(f"unknown ablation {ablation!r}; known: {', '.join(ablations())}")
        overrides.append(f"+ablation@_global_={ablation}")
    return overrides


def _compose(config_dir: str, config_name: str, overrides: Sequence[str]) -> DictConfig:
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=config_dir, version_base=None):
        return compose(config_name=config_name, overrides=list(overrides))


def compose_verl(overrides: Sequence[str] = ()) -> DictConfig:
    """verl's own packaged `ppo_trainer` config, unresolved, under Hydra `overrides`."""
    import verl.trainer.config

    return _compose(verl.trainer.config.__path__[0], "ppo_trainer", overrides)


def compose_recipe(overrides: Sequence[str] = (), resolve: bool = True) -> DictConfig:
    """The full verl config of the recipe under Hydra `overrides` (see `recipe_overrides`), resolved by default."""
    cfg = _compose(str(RECIPE_DIR), CONFIG_NAME, overrides)
    if resolve:
        OmegaConf.resolve(cfg)
    return cfg


def validate_with_verl(cfg: DictConfig) -> None:
    """verl 0.9.1's own consistency checks (batch sizes against GPUs, dynamic batching, ...); raises on error."""
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    validate_config(cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
