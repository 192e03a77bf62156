"""Launch preflight: fail fast, before Ray starts, when the data, the model or the GPUs a run needs are missing.

launch/common.sh calls it with the same arguments it is about to give `verl.trainer.main_ppo`; it composes the
recipe the same way, runs verl's own `validate_config`, then checks the files and devices. Exit 2 lists every
problem found.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

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
    if cfg.actor_rollout_ref.rollout.name == "vllm":
        try:
            import vllm  # noqa: F401
        except ImportError:
            found.append("vLLM is not installed: pip install -r requirements.txt (the GPU stack)")
    return found


def main(argv: list[str] | None = None) -> int:
    cfg = compose_recipe(_hydra_overrides(sys.argv[1:] if argv is None else argv))
    found = problems(cfg)
    for problem in found:
        print(f"preflight: {problem}", file=sys.stderr)
    if found:
        print("preflight: not starting; fix the above (or pass --cfg job to print the config only)", file=sys.stderr)
        return 2
    print(f"preflight: ok ({cfg.trainer.experiment_name}, {cfg.trainer.nnodes}x{cfg.trainer.n_gpus_per_node} GPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
