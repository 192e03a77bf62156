"""Accept a verl checkpoint wherever a model is expected: convert it once to Hugging Face with verl's own merger."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from eval.run_layout import RunLayout


def actor_dir(path: Path) -> Path | None:
    """The FSDP actor shards of a verl checkpoint (`global_step_N/` or its `actor/`), or None if not one."""
    for candidate in (path / "actor", path):
        if any(candidate.glob("model_world_size_*_rank_*.pt")):
            return candidate
    return None


def resolve_model(model: str, layout: RunLayout) -> str:
    """`model` itself (a hub id or Hugging Face directory), or the merged Hugging Face copy of a verl checkpoint."""
    path = Path(model)
    shards = actor_dir(path) if path.is_dir() else None
    if shards is None:
        return model
    target = layout.merged_model(path)
    if not (target / "config.json").exists():
        print(f"converting verl checkpoint {shards} -> {target} (verl.model_merger)", flush=True)
        subprocess.run(
            [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp",
             "--local_dir", str(shards), "--target_dir", str(target)],
            check=True,
        )  # fmt: skip
    return str(target)
