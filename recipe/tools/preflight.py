"""Launch preflight: fail fast, before Ray starts, when the data, the model or the GPUs a run needs are missing;
then say where training resumes from and whether the disk holds the checkpoints it keeps.

launch/common.sh calls it with the same arguments it is about to give `verl.trainer.main_ppo`; it composes the
recipe the same way, runs verl's own `validate_config`, then checks the files and devices. Exit 2 lists every
problem found. Otherwise it prepares the checkpoint folder (recipe/tools/checkpoints.py): with
`trainer.resume_mode=disable` (a fresh start) an earlier run's checkpoints are moved aside, never deleted; when a
run resumes, an earlier attempt's checkpoints beyond `trainer.max_actor_ckpt_to_keep` are removed, one line each.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import sys
from pathlib import Path

from omegaconf import DictConfig

from recipe.tools import checkpoints
from recipe.tools.checkpoints import human
from recipe.tools.compose import compose_recipe, validate_with_verl

HINTS = {
    "train": "python -m data_prep.dapo_math --output {path}",
    "val": "python -m data_prep.benchmarks --output-dir {parent}",
}


def _hydra_overrides(argv: list[str]) -> list[str]:
    """Drop main_ppo's own flags (--config-path X, --config-name X); keep the Hydra overrides."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--config-path", "--config-name", "-cp", "-cn"):
            skip = True
        elif not arg.startswith("-"):
            out.append(arg)
    return out


def _looks_like_local_path(path: str) -> bool:
    return path.startswith(("/", ".", "~")) or Path(path).exists() or path.count("/") != 1


def problems(cfg: DictConfig) -> list[str]:
    found = []
    try:
        validate_with_verl(cfg)
    except (AssertionError, ValueError) as err:
        found.append(f"verl rejects the configuration: {err}")
    files = [("train", cfg.data.train_files)] + [("val", f) for f in cfg.data.val_files]
    for kind, path in files:
        if not Path(path).is_file():
            hint = HINTS[kind].format(path=path, parent=Path(path).parent)
            found.append(f"data file not found: {path} (data.{kind}_files); prepare it with: {hint}")
    model = str(cfg.actor_rollout_ref.model.path)
    if _looks_like_local_path(model) and not (Path(model).expanduser() / "config.json").is_file():
        found.append(f"model not found: {model} has no config.json (actor_rollout_ref.model.path / MODEL_PATH)")
    if cfg.trainer.device == "cuda":
        import torch

        have, need = torch.cuda.device_count(), int(cfg.trainer.n_gpus_per_node)
        if have < need:
            found.append(
                f"{have} CUDA GPU(s) visible on this node, trainer.n_gpus_per_node={need} (GPUS_PER_NODE); "
                "for a run without a GPU use: bash launch/cpu_smoke.sh"
            )
    found.extend(missing_packages(cfg))
    return found


def missing_packages(cfg: DictConfig) -> list[str]:
    """What the run's settings need installed: vLLM for its rollout, flash-attn for verl's default attention
    (`flash_attention_2`, which `use_remove_padding`'s packed sequences also rely on)."""
    found = []
    model = cfg.actor_rollout_ref.model
    attention = (model.get("override_config") or {}).get("attn_implementation", "flash_attention_2")
    if cfg.trainer.device == "cuda" and attention == "flash_attention_2" and not importlib.util.find_spec("flash_attn"):
        found.append(
            f"flash-attn is not installed; attn_implementation={attention} and use_remove_padding="
            f"{model.use_remove_padding} need it: bash launch/install_gpu.sh (README: GPU install). Without it: "
            "actor_rollout_ref.model.use_remove_padding=false "
            "+actor_rollout_ref.model.override_config.attn_implementation=sdpa (padded micro-batches: slower)"
        )
    if cfg.actor_rollout_ref.rollout.name == "vllm" and not importlib.util.find_spec("vllm"):
        found.append("vLLM is not installed: bash launch/install_gpu.sh (the GPU stack)")
    return found


def prepare_checkpoints(cfg: DictConfig) -> list[str]:
    """Resume point, retention and disk room of the run's checkpoint folder, as lines to print (see module doc)."""
    trainer = cfg.trainer
    if int(trainer.save_freq) <= 0:
        return [f"no checkpoints (trainer.save_freq={trainer.save_freq}): a killed run starts over"]
    return [*_resume(trainer), _disk(cfg)]


def _resume(trainer: DictConfig) -> list[str]:
    run_dir, keep = Path(trainer.default_local_dir), int(trainer.max_actor_ckpt_to_keep or 0)
    step = checkpoints.latest_step(run_dir)
    if trainer.resume_mode == "disable":
        if step is None and not checkpoints.saved_steps(run_dir):
            return ["starting at step 0 (trainer.resume_mode=disable)"]
        return [f"fresh start (trainer.resume_mode=disable): moved {run_dir} -> {checkpoints.set_aside(run_dir)}"]
    if trainer.resume_mode == "resume_path":
        return [f"resuming from {trainer.resume_from_path} (trainer.resume_mode=resume_path)"]
    if step is None:
        return [f"starting at step 0: no checkpoint in {run_dir}"]
    lines = [f"resuming from {run_dir / f'global_step_{step}'} (step {step} of {trainer.total_training_steps})"]
    for path in checkpoints.prune(run_dir, keep):
        lines.append(f"removed {path}: beyond the newest {keep} kept (trainer.max_actor_ckpt_to_keep)")
    return lines


def _disk(cfg: DictConfig) -> str:
    trainer = cfg.trainer
    run_dir, keep = Path(trainer.default_local_dir), int(trainer.max_actor_ckpt_to_keep or 0)
    params = checkpoints.parameter_count(Path(str(cfg.actor_rollout_ref.model.path)).expanduser())
    if params is None:
        return "checkpoint size unknown until the model is local"
    size = checkpoints.checkpoint_bytes(params, cfg.actor_rollout_ref.actor.checkpoint.save_contents)
    start = checkpoints.latest_step(run_dir) or 0
    to_save = math.ceil(max(int(trainer.total_training_steps) - start, 0) / int(trainer.save_freq))
    # verl rotates only what this attempt saves: the earlier ones stay beside up to `keep` new ones
    new = min(keep, to_save) if keep > 0 else to_save
    probe = next(p for p in (run_dir, *run_dir.absolute().parents) if p.exists())
    free = shutil.disk_usage(probe).free
    verdict = "room" if free >= new * size else "NOT ENOUGH ROOM: free space or lower KEEP_CKPTS"
    kept = f"the newest {keep}" if keep > 0 else "all (trainer.max_actor_ckpt_to_keep=0)"
    return (
        f"checkpoints: {human(size)} each ({human(params, ('', 'k', 'M', 'B'))} parameters), keeping {kept}: "
        f"{len(checkpoints.saved_steps(run_dir))} on disk, up to {new} more need {human(new * size)}, "
        f"{human(free)} free under {probe}: {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    cfg = compose_recipe(_hydra_overrides(sys.argv[1:] if argv is None else argv))
    found = problems(cfg)
    for problem in found:
        print(f"preflight: {problem}", file=sys.stderr)
    if found:
        print("preflight: not starting; fix the above (or pass --cfg job to print the config only)", file=sys.stderr)
        return 2
    for line in prepare_checkpoints(cfg):
        print(f"preflight: {line}", flush=True)
    print(f"preflight: ok ({cfg.trainer.experiment_name}, {cfg.trainer.nnodes}x{cfg.trainer.n_gpus_per_node} GPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
