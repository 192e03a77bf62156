"""Compose the recipe exactly as `python -m verl.trainer.main_ppo --config-path recipe --config-name justrl` does.

The recipe finds verl's packaged `ppo_trainer` through `hydra.searchpath: pkg://verl.trainer.config`, which makes
Hydra import verl (and with it torch and transformers: about 6 s, more on a busy machine) just to read YAML files.
Composition here points the same search path at the same folder as a `file://` path instead, found without importing
verl, so that the launch preflight answers in about a second; the config is the same (tests/test_recipe_tools.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from recipe.protocol import RECIPE_DIR, base_models
from reward.verl_files import verl_dir

CONFIG_NAME = "justrl"


def ablations() -> list[str]:
    """The ablation overlays in recipe/ablation/ (select with `+ablation@_global_=NAME`, as launch/ablate.sh does)."""
    return sorted(p.stem for p in (RECIPE_DIR / "ablation").glob("*.yaml"))


def unknown_ablations(names: str) -> list[str]:
    """The names of `NAME` or `NAME+NAME` that are not ablations of recipe/ablation/."""
    known = ablations()
    return [name for name in names.split("+") if name not in known]


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


def verl_config_dir() -> Path:
    """verl's packaged config folder (`verl/trainer/config`), located without importing verl."""
    return verl_dir() / "trainer" / "config"


def _compose(config_dir: str, config_name: str, overrides: Sequence[str]) -> DictConfig:
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=config_dir, version_base=None):
        return compose(config_name=config_name, overrides=list(overrides))


def compose_verl(overrides: Sequence[str] = ()) -> DictConfig:
    """verl's own packaged `ppo_trainer` config, unresolved, under Hydra `overrides`."""
    return _compose(str(verl_config_dir()), "ppo_trainer", overrides)


def compose_recipe(overrides: Sequence[str] = (), resolve: bool = True) -> DictConfig:
    """The full verl config of the recipe under Hydra `overrides` (see `recipe_overrides`), resolved by default."""
    searchpath = f"hydra.searchpath=[file://{verl_config_dir()}]"  # as pkg://verl.trainer.config, without the import
    cfg = _compose(str(RECIPE_DIR), CONFIG_NAME, [searchpath, *overrides])
    if resolve:
        OmegaConf.resolve(cfg)
    return cfg


def validate_with_verl(cfg: DictConfig) -> None:
    """verl 0.9.1's own consistency checks (batch sizes against GPUs, dynamic batching, ...); raises on error."""
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    validate_config(cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
