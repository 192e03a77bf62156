"""Launch preflight: fail fast, before Ray starts, when a key is unknown, the run's folder holds another run, or the
data, the model, the GPUs or the extensions a run needs are missing; say when the run is already complete; then say
where training resumes from and whether the disk holds the checkpoints it keeps.

`python -m recipe.tools.train` (launch/common.sh) runs it with the arguments it then gives verl's trainer; it
composes the recipe the same way. Each problem is one line ending in `[not starting]` (exit 2). Once every key is
known and the run's folder holds no other run, it prints `run: <experiment> -> <checkpoint folder>; reward ...; loss
...` (recipe/tools/identity.py). The cheap checks come first and import neither verl nor anything heavy (every key
is one verl or the recipe reads, recipe/tools/known_keys.py; a resumed run is the same run,
recipe/tools/run_config.py; files, model, packages; torch or Ray only to count GPUs), so a run that cannot start says
why within seconds; then verl's own `validate_config` and every registered name the config selects
(recipe/tools/extensions.py). A run whose checkpoints already reach `trainer.total_training_steps` is complete:
nothing to do.
Otherwise it prepares the checkpoint folder (eval/checkpoints.py): with `trainer.resume_mode=disable` (a
fresh start) an earlier run's checkpoints are moved aside, never deleted; when a run resumes it says from where (the
rotation of an earlier attempt's checkpoints happens after the next save: recipe/checkpoint_retention.py).

    python -m recipe.tools.preflight --config-path recipe --config-name justrl [overrides]   # the checks alone
"""

from __future__ import annotations

import copy
import importlib.util
import math
import os
import shutil
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from eval import checkpoints
from eval.checkpoints import human
from recipe.tools import extensions, run_config
from recipe.tools.compose import compose_recipe, validate_with_verl
from recipe.tools.known_keys import composition_problem, unknown_key_problems

HINTS = {
    "train": "python -m data_prep.dapo_math --output {path}",
    "val": "python -m data_prep.benchmarks --output-dir {benchmarks}",
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


def problems(cfg: DictConfig) -> list[str]:
    """Everything that stops the run from starting: the cheap checks, then (if they pass) verl's validation."""
    return quick_problems(cfg) or verl_problems(cfg)


def verl_problems(cfg: DictConfig) -> list[str]:
    try:
        validate_with_verl(cfg)
    except (AssertionError, ValueError) as err:
        return [f"verl rejects the configuration: {err}"]
    return extensions.problems(cfg)


def quick_problems(cfg: DictConfig) -> list[str]:
    """Missing data, model, GPUs and packages, found without importing verl."""
    found = []
    files = [("train", cfg.data.train_files)] + [("val", f) for f in cfg.data.val_files]
    for kind, path in files:
        if not Path(path).is_file():
            # validation sets are written to <benchmarks>/validation/ by the same command as the benchmarks
            benchmarks = Path(path).parent.parent if Path(path).parent.name == "validation" else Path(path).parent
            hint = HINTS[kind].format(path=path, benchmarks=benchmarks)
            found.append(f"data file not found: {path} (data.{kind}_files); prepare it with: {hint}")
    model = str(cfg.actor_rollout_ref.model.path)
    if checkpoints.local_model_path(model) and not (Path(model).expanduser() / "config.json").is_file():
        found.append(f"model not found: {model} has no config.json (actor_rollout_ref.model.path / MODEL_PATH)")
    if cfg.trainer.device == "cuda":
        found.extend(gpu_problems(cfg))
    found.extend(missing_packages(cfg))
    if int(cfg.trainer.save_freq) > 0:
        found.extend(unwritable(Path(cfg.trainer.default_local_dir)))
    return found


def gpu_problems(cfg: DictConfig) -> list[str]:
    """Too few GPUs for `trainer.nnodes` x `trainer.n_gpus_per_node`: counted in the Ray cluster the run joins
    (RAY_ADDRESS or `ray_kwargs.ray_init.address`; its head may have none, as a login or CPU node), else on this
    node, where verl starts a Ray of its own and so has one node only."""
    nodes, per_node = int(cfg.trainer.nnodes), int(cfg.trainer.n_gpus_per_node)
    address = os.environ.get("RAY_ADDRESS") or cfg.get("ray_kwargs", {}).get("ray_init", {}).get("address")
    if address and address != "local":  # "local": a Ray of its own (the GPU smoke)
        try:
            have = cluster_gpus(str(address))
        except Exception as err:  # whatever Ray raises for an address it cannot join
            return [f"cannot join the Ray cluster at {address} (RAY_ADDRESS): {type(err).__name__}: {err}"]
        if have < nodes * per_node:
            return [
                f"the Ray cluster at {address} has {have:g} GPU(s), trainer.nnodes x trainer.n_gpus_per_node = "
                f"{nodes} x {per_node} = {nodes * per_node} (NNODES, GPUS_PER_NODE)"
            ]
        return []
    if nodes > 1:
        return [f"trainer.nnodes={nodes} (NNODES) needs a Ray cluster to join: set RAY_ADDRESS (launch/README.md)"]
    import torch

    have = torch.cuda.device_count()
    if have < per_node:
        return [
            f"{have} CUDA GPU(s) visible on this node, trainer.n_gpus_per_node={per_node} (GPUS_PER_NODE); "
            "for a run without a GPU use: bash launch/cpu_smoke.sh"
        ]
    return []


def cluster_gpus(address: str) -> float:
    """The GPUs the Ray cluster at `address` has (Ray's resources, every node's), joined as a driver and left."""
    import socket

    import ray

    host, _, port = address.rpartition(":")
    if host and port.isdigit():  # Ray retries an address nobody listens at for minutes: one TCP connect says it now
        socket.create_connection((host, int(port)), timeout=10).close()
    ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    try:
        return float(ray.cluster_resources().get("GPU", 0))
    finally:
        ray.shutdown()


def unwritable(run_dir: Path) -> list[str]:
    """The checkpoint folder cannot be written (a read-only file system or folder, a file in its path): said now,
    not at the first save (step 50 on GPU)."""
    from data_prep.files import output_problem

    problem = output_problem(run_dir, folder=True)
    return [f"checkpoint folder {problem} (trainer.default_local_dir: CKPT_DIR / WORKDIR)"] if problem else []


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


def completed_step(cfg: DictConfig) -> int | None:
    """The last step, if this run (resuming, verl's default) already has its checkpoint at
    `trainer.total_training_steps` or beyond; None if there is training left to do."""
    trainer = cfg.trainer
    if trainer.resume_mode != "auto" or int(trainer.save_freq) <= 0:
        return None
    step = checkpoints.latest_step(Path(trainer.default_local_dir))
    return step if step is not None and step >= int(trainer.total_training_steps) else None


def prepare_checkpoints(cfg: DictConfig) -> list[str]:
    """Resume point, retention and disk room of the run's checkpoint folder, as lines to print (see module doc)."""
    trainer = cfg.trainer
    if int(trainer.save_freq) <= 0:
        return [f"no checkpoints (trainer.save_freq={trainer.save_freq}): a killed run starts over"]
    return [*_resume(trainer), _disk(cfg)]


def _resume(trainer: DictConfig) -> list[str]:
    run_dir = Path(trainer.default_local_dir)
    step = checkpoints.latest_step(run_dir)
    if trainer.resume_mode == "disable":
        if step is None and not checkpoints.saved_steps(run_dir):
            return ["starting at step 0 (trainer.resume_mode=disable)"]
        return [f"fresh start (trainer.resume_mode=disable): moved {run_dir} -> {checkpoints.set_aside(run_dir)}"]
    if trainer.resume_mode == "resume_path":
        return [f"resuming from {trainer.resume_from_path} (trainer.resume_mode=resume_path)"]
    if step is None:
        return [f"starting at step 0: no checkpoint in {run_dir}"]
    return [f"resuming from {run_dir / f'global_step_{step}'} (step {step} of {trainer.total_training_steps})"]


def _disk(cfg: DictConfig) -> str:
    trainer = cfg.trainer
    run_dir, keep = Path(trainer.default_local_dir), int(trainer.max_actor_ckpt_to_keep or 0)
    params = checkpoints.parameter_count(Path(str(cfg.actor_rollout_ref.model.path)).expanduser())
    if params is None:
        return "checkpoint size unknown until the model is local"
    contents = cfg.actor_rollout_ref.actor.checkpoint.save_contents
    size = checkpoints.checkpoint_bytes(params, contents)
    hf = checkpoints.checkpoint_bytes(params, [c for c in contents if c == "hf_model"])
    start = checkpoints.latest_step(run_dir) or 0
    to_save = math.ceil(max(int(trainer.total_training_steps) - start, 0) / int(trainer.save_freq))
    # after each save recipe/checkpoint_retention.py keeps the newest `keep` whole, so `keep` + 1 is the most on disk
    # at once, and the Hugging Face weights of every save
    on_disk = len(checkpoints.saved_steps(run_dir))
    new = min(to_save, max(1, keep + 1 - on_disk)) if keep > 0 else to_save
    need = new * (size - hf) + to_save * hf
    probe = next(p for p in (run_dir, *run_dir.absolute().parents) if p.exists())
    free = shutil.disk_usage(probe).free
    verdict = "room" if free >= need else "NOT ENOUGH ROOM: free space or lower KEEP_CKPTS"
    kept = f"the newest {keep}" if keep > 0 else "all (trainer.max_actor_ckpt_to_keep=0)"
    weights = f" and the Hugging Face weights of every save ({human(hf)} each)" if hf and keep > 0 else ""
    return (
        f"checkpoints: {human(size)} each ({human(params, ('', 'k', 'M', 'B'))} parameters), keeping {kept}{weights}: "
        f"{on_disk} on disk, {to_save} more saves need {human(need)}, "
        f"{human(free)} free under {probe}: {verdict}"
    )


READY, RESUMING, PROBLEMS, COMPLETE = "ready", "resuming", "problems", "complete"
SKIP_START_VALIDATION = "trainer.val_before_train=false"  # what a resumed run adds (see `check`)


def run_line(cfg: DictConfig) -> str:
    """`run: <experiment> -> <checkpoint folder>; reward <path>:<name> <kwargs>; loss <mode>; advantage <estimator>`:
    which run this is and the extensions that make it what it is (recipe/smoke/run.py reads it back)."""
    from omegaconf import OmegaConf

    reward = cfg.reward.custom_reward_function
    kwargs = OmegaConf.to_container(reward.get("reward_kwargs") or {})
    described = " ".join(f"{k}={v}" for k, v in kwargs.items())
    return (
        f"run: {cfg.trainer.experiment_name} -> {cfg.trainer.default_local_dir}; "
        f"reward {reward.path}:{reward.name}({described}); loss {cfg.actor_rollout_ref.actor.policy_loss.loss_mode}; "
        f"advantage {cfg.algorithm.adv_estimator}"
    )


def _stop(found: list[str]) -> str:
    """One line per problem, each ending in what happens (nothing starts); exit 2."""
    for problem in found:
        print(f"preflight: {problem} [not starting]", file=sys.stderr)
    return PROBLEMS


def compose(overrides: list[str], resolve: bool = True) -> DictConfig | str:
    """The run's config, or Hydra's composition error as one line (a missing `+`, an unknown ablation, ...)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        return compose_recipe(overrides, resolve=resolve)
    except (HydraException, OmegaConfBaseException) as err:
        return composition_problem(err)


def resolved(cfg: DictConfig) -> DictConfig | str:
    """A resolved copy of `cfg`, or the interpolation's error as one line."""
    from omegaconf.errors import OmegaConfBaseException

    out = copy.deepcopy(cfg)
    try:
        OmegaConf.resolve(out)
    except OmegaConfBaseException as err:
        return composition_problem(err)
    return out


def check(argv: list[str]) -> str:
    """The preflight on main_ppo's arguments (`prepare`), its status alone."""
    return prepare(argv)[0]


def prepare(argv: list[str]) -> tuple[str, DictConfig | None]:
    """The preflight on main_ppo's arguments, printing as it goes: READY (train), RESUMING (train with
    SKIP_START_VALIDATION added), PROBLEMS or COMPLETE; and, to train, the config main_ppo composes from the same
    arguments (unresolved, as Hydra hands it to main_ppo), with SKIP_START_VALIDATION applied when resuming.

    A resumed run skips `trainer.val_before_train`'s validation: verl's trainer runs it at every start
    (`trainer/ppo/v1/trainer_base.py` `fit`), so each restart of a preempted run would validate again (for the recipe,
    3,200 samples of up to 31,744 tokens) and log a second point at a step that has one."""
    composed = compose(_hydra_overrides(argv), resolve=False)
    cfg = composed if isinstance(composed, str) else resolved(composed)  # checked; `composed` goes to verl untouched
    if isinstance(cfg, str):
        return _stop([cfg]), None
    run_dir = Path(cfg.trainer.default_local_dir)
    latest = checkpoints.latest_step(run_dir)
    resumes = cfg.trainer.resume_mode == "auto" and latest is not None
    found = [*unknown_key_problems(cfg), run_config.resume_problem(cfg, run_dir, resumes)]
    if any(found):
        return _stop([problem for problem in found if problem]), None
    print(run_line(cfg), flush=True)
    step = completed_step(cfg)
    if step is not None:
        print(
            f"already complete: step {step} of {cfg.trainer.total_training_steps} ({run_dir}); "
            "raise trainer.total_training_steps to train on, or trainer.resume_mode=disable to start afresh",
            flush=True,
        )
        return COMPLETE, None
    found = problems(cfg)
    if found:
        return _stop(found), None
    for line in prepare_checkpoints(cfg):
        print(f"preflight: {line}", flush=True)
    run_config.save(cfg, run_dir)
    print(f"preflight: ok ({cfg.trainer.experiment_name}, {cfg.trainer.nnodes}x{cfg.trainer.n_gpus_per_node} GPUs)")
    if resumes and cfg.trainer.val_before_train:
        print(
            f"preflight: no start validation ({SKIP_START_VALIDATION}): the run resumes at step {latest}, and its "
            "validations so far are logged",
            flush=True,
        )
        composed.merge_with(OmegaConf.from_dotlist([SKIP_START_VALIDATION]))
        return RESUMING, composed
    return READY, composed


def main(argv: list[str] | None = None) -> int:
    return 2 if check(sys.argv[1:] if argv is None else argv) == PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
