"""Checkpoint rotation across resumes, as verl's `trainer.checkpoint_callback_class` (recipe/justrl.yaml).

verl 0.9.1 rotates (`trainer.max_actor_ckpt_to_keep`) only the checkpoints its own process saved: the list it
rotates starts empty in every process, so each time a long run is stopped and resumed the checkpoints saved before
stay on disk for good (the fix for verl itself: recipe/upstream/0004-*.patch). After every save, on the driver, this
callback keeps the newest `max_actor_ckpt_to_keep` checkpoints at or below the saved step, whichever process wrote
them, and removes the other `global_step_*` folders up to that step (also those verl's own rotation left holding
only `data.pt`). Folders above the saved step, which no resume reads, are left alone; 0 or null keeps everything.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from verl.trainer.ppo.checkpoint_callback import CheckpointCallback

from eval.checkpoints import STEP_DIR, actor_dir


class KeepNewestCheckpoints(CheckpointCallback):
    def on_save(self, trainer, global_step: int, checkpoint_dir: str, async_save: bool = False, **kwargs) -> None:
        keep = int(self.config.trainer.get("max_actor_ckpt_to_keep") or 0)
        if keep <= 0 or async_save:  # an asynchronous save may still be writing: rotate after the next one
            return
        for path in stale_checkpoints(Path(checkpoint_dir).parent, global_step, keep):
            shutil.rmtree(path, ignore_errors=True)
            print(f"checkpoint retention: removed {path}: beyond the newest {keep} kept "
                  "(trainer.max_actor_ckpt_to_keep)", flush=True)  # fmt: skip


def stale_checkpoints(run_dir: Path, step: int, keep: int) -> list[Path]:
    """The `global_step_*` folders of `run_dir` at or below `step` other than the newest `keep` with an actor."""
    folders = sorted(
        (int(match.group(1)), path)
        for path in run_dir.iterdir()
        if (match := STEP_DIR.fullmatch(path.name)) and path.is_dir() and int(match.group(1)) <= step
    )
    # a checkpoint: actor shards, or any actor folder with content (save_contents without the model); never the one
    # just saved
    saved = sorted(s for s, path in folders if actor_dir(path) is not None or any((path / "actor").glob("*")))
    kept = {*saved[-keep:], step}
    return [path for s, path in folders if s not in kept]
