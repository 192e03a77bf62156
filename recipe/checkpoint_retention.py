"""Checkpoint retention, as verl's `trainer.checkpoint_callback_class` (recipe/justrl.yaml): the newest
`trainer.max_actor_ckpt_to_keep` checkpoints whole, whichever process saved them, and the Hugging Face weights of every
saved step, for `eval.sweep`.

verl 0.9.1 rotates (`trainer.max_actor_ckpt_to_keep`) only the checkpoints its own process saved: the list it
rotates starts empty in every process, so each time a long run is stopped and resumed the checkpoints saved before
stay on disk for good (the fix for verl itself: recipe/upstream/0004-*.patch). And its rotation removes a checkpoint's
whole `actor/` folder, the Hugging Face copy inside it too (`checkpoint.save_contents` with `hf_model`).

After every save, on the driver, this callback first links the step's Hugging Face copy from `actor/huggingface` into
`global_step_N/huggingface` (hard links: no second copy on disk, and `actor/` stays as verl's merger reads it), out of
the way of verl's rotation; then it keeps the newest `max_actor_ckpt_to_keep` checkpoints at or below the saved step
and empties the other `global_step_*` folders up to that step of everything but that copy (those verl's own rotation
left holding only `data.pt` too). Folders above the saved step, which no resume reads, are left alone; 0 or null keeps
every checkpoint whole.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from verl.trainer.ppo.checkpoint_callback import CheckpointCallback

from eval.checkpoints import HF_DIR, STEP_DIR, actor_dir, hf_weights


class KeepNewestCheckpoints(CheckpointCallback):
    def on_save(self, trainer, global_step: int, checkpoint_dir: str, async_save: bool = False, **kwargs) -> None:
        if async_save:  # an asynchronous save may still be writing: act after the next one
            return
        saved = Path(checkpoint_dir)
        lift_hf_weights(saved)
        keep = int(self.config.trainer.get("max_actor_ckpt_to_keep") or 0)
        if keep <= 0:
            return
        for path in stale_checkpoints(saved.parent, global_step, keep):
            lift_hf_weights(path)  # a save whose callback never ran (a run killed in between)
            for part in path.iterdir():
                if part.name != HF_DIR:
                    shutil.rmtree(part) if part.is_dir() else part.unlink()
            if not any(path.iterdir()):
                path.rmdir()
            kept = "its Hugging Face weights kept; " if (path / HF_DIR).exists() else ""
            print(f"checkpoint retention: emptied {path} ({kept}beyond the newest {keep} checkpoints kept whole, "
                  "trainer.max_actor_ckpt_to_keep)", flush=True)  # fmt: skip


def lift_hf_weights(step_dir: Path) -> None:
    """Link verl's `actor/huggingface` (with weights) into `global_step_N/huggingface`, where verl's rotation of
    `actor/` leaves it; written under a temporary name first, so a folder of that name is always whole."""
    source, target = step_dir / "actor" / HF_DIR, step_dir / HF_DIR
    if target.exists() or hf_weights(step_dir) != source:
        return
    partial = step_dir / f"{HF_DIR}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial, copy_function=_link_or_copy)
    os.replace(partial, target)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # a file system without hard links
        shutil.copy2(src, dst)


def stale_checkpoints(run_dir: Path, step: int, keep: int) -> list[Path]:
    """The `global_step_*` folders of `run_dir` at or below `step`, other than the newest `keep` with an actor, that
    hold anything beside their Hugging Face weights."""
    folders = sorted(
        (int(match.group(1)), path)
        for path in run_dir.iterdir()
        if (match := STEP_DIR.fullmatch(path.name)) and path.is_dir() and int(match.group(1)) <= step
    )
    # a checkpoint: actor shards, or any actor folder with content (save_contents without the model); never the one
    # just saved
    saved = sorted(s for s, path in folders if actor_dir(path) is not None or any((path / "actor").glob("*")))
    kept = {*saved[-keep:], step}
    return [path for s, path in folders if s not in kept and any(p.name != HF_DIR for p in path.iterdir())]
