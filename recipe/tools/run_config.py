"""The configuration a run was started with, saved beside its checkpoints, and the check that a rerun resuming it
is the same run.

Each start (fresh or resumed) writes the composed, resolved config to `<trainer.default_local_dir>/justrl_run.yaml`
(atomically). A later command that would resume that folder is compared with it, key by key, leaving out what may
change between attempts of one run:
- its length: the step count and the token lengths (a stage list lengthens the context of a running run);
- its logging, checkpointing and validation cadence, and the Ray settings of the machine it runs on;
- paths: data files, the model's location, checkpoint and log folders.
Any other difference (a learning rate, a loss, a reward, a seed) means another run: the preflight refuses to resume
and names the keys. `trainer.resume_mode=disable` starts afresh instead (the old folder is moved aside, never deleted);
`justrl.resume_check=false` resumes anyway (recipe/tools/stages.py passes it to a stage that deliberately changes its
run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from recipe.tools.known_keys import flatten

SAVED = "justrl_run.yaml"
LENGTH_WORDS = ("length", "max_token_len", "max_model_len", "max_num_batched_tokens", "max_resp_len", "max_new_tokens")
BOOKKEEPING = {
    "trainer.total_training_steps", "trainer.total_epochs", "trainer.logger", "trainer.log_val_generations",
    "trainer.project_name", "trainer.experiment_name", "trainer.save_freq", "trainer.test_freq",
    "trainer.val_before_train", "trainer.val_only", "trainer.resume_mode", "trainer.max_actor_ckpt_to_keep",
    "trainer.max_critic_ckpt_to_keep", "justrl.resume_check", "justrl.variant", "justrl.run_name",
}  # fmt: skip
BOOKKEEPING_PREFIXES = ("ray_kwargs.", "hydra.")


def ignored(key: str) -> bool:
    """Whether `key` may differ between attempts of one run (see the module doc)."""
    leaf = key.rsplit(".", 1)[-1]
    if key in BOOKKEEPING or key.startswith(BOOKKEEPING_PREFIXES):
        return True
    if any(word in leaf for word in LENGTH_WORDS):
        return True
    return leaf in ("path", "train_files", "val_files") or leaf.endswith(("_dir", "_path"))


def leaves(cfg: DictConfig | dict) -> dict[str, Any]:
    node = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else cfg
    return flatten(node)


def differences(saved: dict[str, Any], now: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, saved value, this command's value) for every key that differs and is not `ignored`."""
    missing = object()
    found = []
    for key in sorted(saved.keys() | now.keys()):
        before, after = saved.get(key, missing), now.get(key, missing)
        if before != after and not ignored(key):
            found.append((key, "<absent>" if before is missing else before, "<absent>" if after is missing else after))
    return found


def saved_config(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / SAVED
    return leaves(OmegaConf.to_container(OmegaConf.load(path))) if path.is_file() else None


def save(cfg: DictConfig, run_dir: Path) -> Path:
    from data_prep.files import atomic_output

    path = run_dir / SAVED
    with atomic_output(path) as tmp:
        Path(tmp).write_text(OmegaConf.to_yaml(cfg, resolve=True))
    return path


def resume_problem(cfg: DictConfig, run_dir: Path, has_checkpoint: bool) -> str | None:
    """Why this command must not resume `run_dir`, or None. Only a run with a checkpoint is resumed."""
    if not has_checkpoint or cfg.trainer.resume_mode != "auto" or not cfg.get("justrl", {}).get("resume_check", True):
        return None
    saved = saved_config(run_dir)
    if saved is None:
        return None
    diff = differences(saved, leaves(cfg))
    if not diff:
        return None
    shown = "; ".join(f"{key}: {before!r} -> {after!r}" for key, before, after in diff[:8])
    more = f" (and {len(diff) - 8} more)" if len(diff) > 8 else ""
    return (
        f"{run_dir} holds a run started with other settings, {len(diff)} key(s) differ: {shown}{more}. "
        "Another run needs another trainer.experiment_name (or CKPT_DIR / WORKDIR); "
        "trainer.resume_mode=disable starts afresh (moving this folder aside); justrl.resume_check=false resumes anyway"
    )
