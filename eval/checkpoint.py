"""Accept a verl checkpoint wherever a model is expected: convert it once to Hugging Face with verl's own merger."""

from __future__ import annotations

from pathlib import Path

from eval.run_layout import RunLayout
from recipe.tools.checkpoints import actor_dir, merge_actor


def resolve_model(model: str, layout: RunLayout) -> str:
    """`model` itself (a hub id or Hugging Face directory), or the merged Hugging Face copy of a verl checkpoint."""
    path = Path(model)
    shards = actor_dir(path) if path.is_dir() else None
    if shards is None:
        return model
    return str(merge_actor(shards, layout.merged_model(path)))
