"""Where the recipe is, and its hyperparameters as code reads them: from the YAML (recipe/justrl.yaml,
recipe/base_model/*.yaml), never restated. The published facts live with the room that owns them: the data-source
names with the reward (reward/sources.py), the data and prompts with data_prep (data_prep/protocol.py), the evaluation
protocol and the published results with eval (eval/protocol.py). This module imports nothing heavy, so that Ray
workers can import it cheaply.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

RECIPE_DIR = Path(__file__).resolve().parent


@cache
def _yaml(relative: str) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.load(RECIPE_DIR / relative)


def recipe_value(key: str, overlay: str = "justrl.yaml") -> Any:
    """A literal value of the recipe's YAML (e.g. `data.max_prompt_length`), read from the file, not restated."""
    from omegaconf import OmegaConf

    value = OmegaConf.select(_yaml(overlay), key, throw_on_missing=True)
    if value is None:
        raise KeyError(f"recipe/{overlay} sets no {key}")
    return value


def base_models() -> list[str]:
    """The model overlays in recipe/base_model/ (select with `base_model=NAME`)."""
    return sorted(p.stem for p in (RECIPE_DIR / "base_model").glob("*.yaml"))


def training_steps(base_model: str) -> int:
    """`trainer.total_training_steps` of a model overlay: the published run's length."""
    return int(recipe_value("trainer.total_training_steps", f"base_model/{base_model}.yaml"))
