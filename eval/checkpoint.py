"""Accept a verl checkpoint wherever a model is expected: convert it once to Hugging Face with verl's own merger."""

from __future__ import annotations

from pathlib import Path

from eval.run_layout import RunLayout
from recipe.tools.checkpoints import actor_dir, local_model_path, merge_actor


def resolve_model(model: str, layout: RunLayout) -> str:
    """`model` itself (a hub id or Hugging Face directory), or the merged Hugging Face copy of a verl checkpoint.
    A local path that does not exist, or holds neither, is a FileNotFoundError naming it."""
    path = Path(model).expanduser()
    if local_model_path(model):
        if not path.is_dir():
            raise FileNotFoundError(f"model directory {path} does not exist")
        if actor_dir(path) is None and not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} holds neither a Hugging Face model (config.json) nor a verl checkpoint")
    shards = actor_dir(path) if path.is_dir() else None
    if shards is None:
        return model
    return str(merge_actor(shards, layout.merged_model(path)))
