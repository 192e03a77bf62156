"""A run's verl checkpoints: where training resumes from, what the kept ones cost on disk, an actor merged into a
Hugging Face model with verl's own merger, and a checkpoint accepted wherever a model is expected (`resolve_model`).
Used by eval, the launch preflight, the stage runner and the checkpoint rotation (which verl loads: so this module
imports nothing of this repository's).

verl writes `<trainer.default_local_dir>/global_step_N/{actor/,data.pt}` every `trainer.save_freq` steps and the
newest N in `latest_checkpointed_iteration.txt`; `trainer.resume_mode=auto` (verl's default, the recipe's too)
continues from it: weights, optimizer, learning-rate schedule, RNG and data order. verl rotates
(`trainer.max_actor_ckpt_to_keep`) only the checkpoints its own process saved, so those of an earlier, killed
attempt would stay forever: recipe/checkpoint_retention.py rotates them after each save.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

STEP_DIR = re.compile(r"global_step_(\d+)")
# verl's tracker file (`verl.utils.checkpoint.checkpoint_manager.get_checkpoint_tracker_filename`), named here so that
# the preflight need not import verl to read it (tests/test_eval_checkpoints.py checks it is verl's name)
TRACKER = "latest_checkpointed_iteration.txt"
HF_DIR = "huggingface"  # verl's folder for the Hugging Face copy, inside actor/ (fsdp_checkpoint_manager.py)
# Bytes per parameter of one actor checkpoint by verl's `checkpoint.save_contents` (FSDP, AdamW, mixed precision):
BYTES_PER_PARAM = {"model": 4, "optimizer": 8, "hf_model": 2}  # fp32 master weights; two fp32 moments; bf16 copy


def latest_step(run_dir: Path) -> int | None:
    """The step `trainer.resume_mode=auto` resumes from (verl's tracker file), or None for a fresh start."""
    tracker = Path(run_dir) / TRACKER
    if not tracker.is_file():
        return None
    text = tracker.read_text().strip()
    if not text.isdigit():
        raise ValueError(f"{tracker}: expected a step number, found {text[:40]!r}")
    return int(text)


def saved_steps(run_dir: Path) -> list[int]:
    """Steps with an actor checkpoint in `run_dir` (what a resume can read), oldest first."""
    return _steps(run_dir, lambda path: actor_dir(path) is not None)


def evaluable_steps(run_dir: Path) -> list[int]:
    """Steps of `run_dir` with a model to evaluate: actor shards, or Hugging Face weights kept alone
    (recipe/checkpoint_retention.py), oldest first."""
    return _steps(run_dir, lambda path: actor_dir(path) is not None or hf_weights(path) is not None)


def _steps(run_dir: Path, keep: Callable[[Path], bool]) -> list[int]:
    if not run_dir.is_dir():
        return []
    return sorted(int(m.group(1)) for p in run_dir.iterdir() if (m := STEP_DIR.fullmatch(p.name)) and keep(p))


def hf_weights(path: Path) -> Path | None:
    """The Hugging Face copy of a verl checkpoint's actor (`checkpoint.save_contents` with `hf_model`): `huggingface/`
    beside `actor/`, where the recipe's retention keeps it, or inside `actor/`, where verl writes it (and, without
    `hf_model`, only the model's config and tokenizer, which verl's merger reads)."""
    for candidate in (path / HF_DIR, path / "actor" / HF_DIR):
        if (candidate / "config.json").is_file() and any(candidate.glob("*.safetensors")):
            return candidate
    return None


def actor_dir(path: Path) -> Path | None:
    """The FSDP actor shards of a verl checkpoint (`global_step_N/` or its `actor/`), or None if not one."""
    for candidate in (path / "actor", path):
        if any(candidate.glob("model_world_size_*_rank_*.pt")):
            return candidate
    return None


def merge_actor(shards: Path, target: Path) -> Path:
    """The actor shards as a Hugging Face model in `target`, with verl's model_merger; done once, atomically (a
    killed merge leaves no half-written `target`)."""
    if (target / "config.json").is_file():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    print(f"converting verl checkpoint {shards} -> {target} (verl.model_merger)", flush=True)
    subprocess.run(
        [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp",
         "--local_dir", str(shards), "--target_dir", str(partial)],
        check=True,
    )  # fmt: skip
    os.replace(partial, target)
    return target


def local_model_path(model: str) -> bool:
    """Whether a model argument names a local directory rather than a hub id (`org/name`): it exists, or starts
    with `/`, `.` or `~`, or has other than exactly one `/`. A missing one is then reported as a missing directory,
    not as a malformed hub id."""
    return model.startswith(("/", ".", "~")) or Path(model).exists() or model.count("/") != 1


def parameter_count(model_dir: Path) -> int | None:
    """Parameters of a local safetensors model (read from the file headers), or None if it is not local."""
    from safetensors import safe_open

    files = sorted(model_dir.glob("*.safetensors")) if model_dir.is_dir() else []
    if not files:
        return None
    total = 0
    for file in files:
        with safe_open(str(file), framework="pt") as f:
            total += sum(math.prod(f.get_slice(key).get_shape()) for key in f.keys())
    return total


def checkpoint_bytes(parameters: int, save_contents) -> int:
    """One actor checkpoint's size on disk."""
    return parameters * sum(BYTES_PER_PARAM.get(str(c), 0) for c in save_contents)


def set_aside(run_dir: Path) -> Path:
    """Move a run's checkpoints out of the way of a fresh start, never deleting them."""
    target = run_dir.with_name(f"{run_dir.name}.replaced-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}")
    os.replace(run_dir, target)
    return target


def human(n: float, units: tuple[str, ...] = (" B", " kB", " MB", " GB", " TB")) -> str:
    """`n` with a decimal unit: 21.3 GB, 1.2 MB (bytes); human(1.78e9, ("", "k", "M", "B")) = 1.8B (parameters)."""
    for unit in units[:-1]:
        if abs(n) < 1000:
            return f"{n:.3g}{unit}"
        n /= 1000
    return f"{n:,.3g}{units[-1]}" if n < 1000 else f"{n:,.0f}{units[-1]}"


def resolve_model(model: str, merged_dir: Callable[[Path], Path]) -> str:
    """`model` itself (a hub id or Hugging Face directory); for a verl checkpoint, the Hugging Face copy saved with it,
    or else its actor merged into `merged_dir(checkpoint)` (eval.run_layout.RunLayout.merged_model).
    A local path that does not exist, or holds neither, is a FileNotFoundError naming it."""
    path = Path(model).expanduser()
    if local_model_path(model):
        if not path.is_dir():
            raise FileNotFoundError(f"model directory {path} does not exist")
        if (path / "config.json").is_file():
            return model
        weights = hf_weights(path)
        if weights is not None:
            return str(weights)
        if actor_dir(path) is None:
            raise FileNotFoundError(f"{path} holds neither a Hugging Face model (config.json) nor a verl checkpoint")
    shards = actor_dir(path) if path.is_dir() else None
    if shards is None:
        return model
    return str(merge_actor(shards, merged_dir(path)))
