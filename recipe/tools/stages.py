"""Run a list of training stages, each an overlay and a step count, each starting from the last one's checkpoint.

    python -m recipe.tools.stages recipe/stages/FILE.yaml --checkpoint-dir DIR -- COMMAND [ARGS...]

(`launch/stages.sh FILE` is this with the launch command of a model; `launch/cpu_smoke.sh --stages FILE` runs a list
on the tiny model.) A stage list is YAML:

    stages:
      - name: ctx8k                 # names the checkpoint folder
        steps: 1000                 # training steps of this stage
        overrides: [data.max_response_length=8192]   # Hydra overrides, as on the command line
      - name: ctx16k
        steps: 500
        start: resume               # default
        overrides: [data.max_response_length=16384]

Between stages, `start` chooses:
- `resume`: the same verl run goes on with the new overrides: weights, optimizer, learning-rate schedule and data
  order carried over, the step counter continuing (verl's `trainer.resume_mode=auto` on the same checkpoint folder,
  `trainer.total_training_steps` raised by the stage's steps). DeepScaleR's context lengthening.
- `reset`: the last checkpoint's actor is merged to a Hugging Face model with verl's merger and a new verl run starts
  from it, in a folder of its own: the reference policy becomes the current policy, the optimizer starts fresh and
  the step counter restarts. ProRL v1's reference-and-optimizer reset.
- `reference`: the same verl run goes on, as with `resume`, but with the reference policy reset to the current one:
  the last checkpoint's actor is merged (`<run>/reference-<i>-<name>/`) and becomes `actor_rollout_ref.model.path`,
  which verl's reference model is built from, while the actor itself resumes from the checkpoint (weights, optimizer
  state, schedule, data order). ProRL v2's reset, which keeps the optimizer.
Later `resume` stages of a run keep the model path its last `reset` or `reference` set, so its reference stays put.

Restartable: each stage is one verl run that resumes its own checkpoints, a stage whose folder already holds its last
step is skipped, and the merge is written once, atomically. Stage S of a list trains in
`DIR/<i>-<name>/` where i-name is the stage that began its run (the first stage or the latest `reset`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from eval.checkpoints import actor_dir, latest_step, merge_actor
from recipe.tools.lifecycle import die_with_parent

STARTS = ("resume", "reset", "reference")


@dataclass(frozen=True)
class Stage:
    name: str
    steps: int
    start: str = "resume"
    overrides: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedStage:
    stage: Stage
    run_dir: Path  # trainer.default_local_dir of the verl run this stage belongs to
    last_step: int  # trainer.total_training_steps of that run at the end of this stage
    reset_from: Path | None  # the previous run's folder, whose last actor this run starts from
    continues: bool = False  # goes on with a run an earlier stage began (resume or reference after the first stage)
    model_path: Path | None = None  # actor_rollout_ref.model.path: the merged actor a reset or reference set


def load_stages(path: Path) -> list[Stage]:
    """The stage list in `path`; a ValueError naming the file, the stage and the key for anything malformed."""
    data = OmegaConf.to_container(OmegaConf.load(path))
    if not isinstance(data, dict) or not isinstance(data.get("stages"), list) or not data["stages"]:
        raise ValueError(f"{path}: expected a non-empty list under 'stages'")
    stages, names = [], set()
    for i, raw in enumerate(data["stages"]):
        where = f"{path}: stage {i}"
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: expected a mapping with name, steps, start, overrides")
        unknown = set(raw) - {"name", "steps", "start", "overrides"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}")
        name, steps, start = raw.get("name"), raw.get("steps"), raw.get("start", "resume")
        overrides = raw.get("overrides", [])
        if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum() or name in names:
            raise ValueError(f"{where}: 'name' must be a unique word (letters, digits, - and _), got {name!r}")
        if not isinstance(steps, int) or isinstance(steps, bool) or steps <= 0:
            raise ValueError(f"{where} ({name}): 'steps' must be a positive integer, got {steps!r}")
        if start not in STARTS:
            raise ValueError(f"{where} ({name}): 'start' must be one of {', '.join(STARTS)}, got {start!r}")
        if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
            raise ValueError(f"{where} ({name}): 'overrides' must be a list of Hydra override strings")
        names.add(name)
        stages.append(Stage(name, steps, start, overrides))
    return stages


def plan(stages: Sequence[Stage], checkpoint_dir: Path) -> list[PlannedStage]:
    """Where each stage trains and the step it ends at; a `reset` (or the first stage) begins a new verl run."""
    planned, run_dir, last, model_path = [], None, 0, None
    for i, stage in enumerate(stages):
        reset_from, continues = None, run_dir is not None and stage.start != "reset"
        if not continues:
            reset_from, run_dir, last = run_dir, checkpoint_dir / f"{i}-{stage.name}", 0
            model_path = run_dir / "init_model" if reset_from is not None else None
        elif stage.start == "reference":
            model_path = run_dir / f"reference-{i}-{stage.name}"
        last += stage.steps
        planned.append(PlannedStage(stage, run_dir, last, reset_from, continues, model_path))
    return planned


def stage_overrides(step: PlannedStage) -> list[str]:
    """The Hydra overrides that make one verl launch run this stage, after the stage's own."""
    overrides = [
        *step.stage.overrides,
        f"trainer.default_local_dir={step.run_dir}",
        f"trainer.total_training_steps={step.last_step}",
        "trainer.resume_mode=auto",
    ]
    if step.model_path is not None:
        overrides.append(f"actor_rollout_ref.model.path={step.model_path}")
    if step.continues:  # the stage changes the run it resumes by design (recipe/tools/run_config.py)
        overrides.append("justrl.resume_check=false")
    return overrides


def merges(step: PlannedStage) -> bool:
    """Whether this stage begins by merging an actor: a reset (from the last run) or a reference reset (its own)."""
    return step.reset_from is not None or step.stage.start == "reference" and step.continues


def prepare_merge(step: PlannedStage) -> None:
    """Merge the newest actor of the previous run (reset) or of this run (reference) into `step.model_path` (once)."""
    source = step.reset_from if step.reset_from is not None else step.run_dir
    last = latest_step(source)
    shards = actor_dir(source / f"global_step_{last}") if last is not None else None
    if shards is None:
        raise RuntimeError(f"stage {step.stage.name}: no actor checkpoint in {source} to start from")
    step.run_dir.mkdir(parents=True, exist_ok=True)
    merge_actor(shards, step.model_path)


def run_stages(
    stages: Sequence[Stage], checkpoint_dir: Path, launch: Callable[[list[str]], int], preview: bool = False
) -> int:
    """Run every unfinished stage through `launch(overrides) -> exit code`; stop at the first failure, or at a stage
    whose launch ended without its last checkpoint. With `preview` (the launch only prints, e.g. `--cfg job`), each
    stage's launch runs once and nothing is claimed done."""
    planned = plan(stages, checkpoint_dir)
    for i, step in enumerate(planned):
        label = f"stage {i + 1}/{len(planned)} {step.stage.name}"
        done = latest_step(step.run_dir) or 0
        if done >= step.last_step and not preview:
            print(f"stages: {label}: done (step {done} in {step.run_dir}), skipped", flush=True)
            continue
        if merges(step) and not preview:
            prepare_merge(step)
        how = "resume"
        if step.reset_from is not None:
            how = "a new run from the last actor (reset)"
        elif merges(step):
            how = "resume, the reference reset to the last actor (reference)"
        print(f"stages: {label}: steps {done + 1}..{step.last_step} in {step.run_dir}, {how}", flush=True)
        code = launch(stage_overrides(step))
        if code != 0:
            print(f"stages: {label} failed (exit {code}); rerun the same command to resume it", flush=True)
            return code
        reached = latest_step(step.run_dir) or 0
        if not preview and reached < step.last_step:
            print(f"stages: {label}: the launch ended at step {reached}, not {step.last_step}; rerun to resume it",
                  flush=True)  # fmt: skip
            return 1
    print(f"stages: preview of {len(planned)} stages, nothing trained" if preview else f"stages: all {len(planned)} "
          "done", flush=True)  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv:
        print("usage: python -m recipe.tools.stages FILE --checkpoint-dir DIR -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    split = argv.index("--")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stages", type=Path, help="a stage list, e.g. recipe/stages/prorl.yaml")
    parser.add_argument("--checkpoint-dir", type=Path, required=True, help="each stage's run goes in a folder here")
    args = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    try:
        stages = load_stages(args.stages)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from recipe.tools.train import split_arguments

    preview = bool(split_arguments(command)[1])  # Hydra's query flags (--cfg job, --info): the launch only prints

    def launch(overrides: list[str]) -> int:  # the stage's trainer ends if this process is killed
        return subprocess.run([*command, *overrides], preexec_fn=die_with_parent).returncode

    return run_stages(stages, args.checkpoint_dir.absolute(), launch, preview)


if __name__ == "__main__":
    sys.exit(main())
