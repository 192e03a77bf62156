"""Arms x seeds in one command (launch/study.sh), then `python -m eval.study` on what they logged.

    python -m recipe.tools.study --cpu [--task carry|format] --seeds 1,2,3 --output DIR ARM [ARM...]
    MODEL=deepseek python -m recipe.tools.study --seeds 1,2,3 --output DIR [--slurm] ARM [ARM...]

An ARM is `recipe`, an ablation of recipe/ablation/ (`kl_loss`, or `kl_loss+entropy_bonus` for several), or, on the
CPU task only, `control-random` / `control-constant` (recipe/smoke/controls.py). The first arm is the one the others
are compared with.

- `--cpu`: each run is the learning run of `launch/cpu_smoke.sh --learn --seed S` (plus `--ablation` or `--control`)
  with DIR as its WORKDIR, so all runs share the toy data and the base model, each in its own folders (its name:
  recipe/tools/identity.py); one after another on this machine, seed by seed (every arm's seed 1 first).
- otherwise: each run is `launch/ablate.sh ARM` (`launch/<MODEL>.sh` for `recipe`) with `SEED=S`, its checkpoints
  under DIR/checkpoints, its TensorBoard events under DIR/tensorboard_log and its validation generations under
  DIR/validation, then its last checkpoint evaluated on the nine benchmarks (`launch/eval.sh`, into DIR/eval/<run>,
  which eval.study reads); with W&B on, each arm is a W&B group (`WANDB_RUN_GROUP`), so W&B draws the seed bands.
  `--slurm` submits the runs as one Slurm job array of launch/slurm.sbatch (one job a run, each on its own
  allocation), whose tasks run `launch/study.sh --output DIR --array-task`; then `python -m eval.study --input-dir
  DIR` when they are done.

Before any run, every arm is composed as its runs will be and checked as a launch checks it (known keys, verl's
validation, registered names); what each changes against the first arm (names and paths aside), and on the CPU task
where its ablation's values went (recipe/smoke/carry.py), goes into DIR/study.yaml and study.md, and an arm that changes
nothing stops the study in one line (`--print-changes` prints them and exits).

DIR/study.yaml records the study (task, arms, seeds, steps, each run's name, each arm's changes) with the first
run. A rerun of the same command skips finished runs (each says `already complete`) and resumes a killed one; more
seeds may be added later. An unknown arm, a seed list that is not integers, or a DIR holding another study (another
task or arm set) or other runs stops in one line before any run starts.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from recipe.protocol import RECIPE_DIR, base_models, training_steps
from recipe.tools import identity
from recipe.tools.compose import ablations, unknown_ablations

REPO = RECIPE_DIR.parent
CONTROL = "control-"
MANIFEST = "study.yaml"  # eval/study.py reads it


class StudyError(ValueError):
    """Bad input: one line, before any run starts."""


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise StudyError(f"--seeds {text}: a comma-separated list of integers, e.g. 1,2,3") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise StudyError(f"--seeds {text}: at least one seed, each once")
    return seeds


def arm_overrides(arm: str, cpu: bool) -> list[str]:
    """The Hydra overrides an arm adds to the recipe (for its run's name), checking it is a known arm."""
    from recipe.smoke.controls import CONTROLS, control_overrides
    from recipe.smoke.run import ablation_overrides

    if arm == "recipe":
        return []
    if arm.startswith(CONTROL):
        control = arm[len(CONTROL) :]
        if not cpu or control not in CONTROLS:
            where = "" if cpu else " (controls belong to the CPU task: add --cpu)"
            raise StudyError(f"arm {arm}: unknown control{where}; known: {', '.join(CONTROL + c for c in CONTROLS)}")
        return control_overrides(control)
    unknown = unknown_ablations(arm)
    if unknown:
        raise StudyError(
            f"arm {arm}: unknown {', '.join(unknown)}; an arm is recipe, an ablation ({', '.join(ablations())}), "
            "NAME+NAME, or on the CPU task control-random / control-constant"
        )
    return ablation_overrides(arm)


NAMES_AND_PATHS = ("experiment_name", "run_name", "variant", "path", "train_files", "val_files")


def arm_config(arm: str, cpu: bool, task: str, model: str) -> tuple[dict, list[str]]:
    """An arm's config as its runs compose it (the CPU task's: recipe/smoke/run.py; on GPUs the launch scripts'),
    checked as the launch preflight checks it (known keys, verl's validation, every registered name), and where its
    ablation's values went on the CPU task (recipe/smoke/carry.py). A StudyError names the arm and the problem."""
    from recipe.tools.known_keys import unknown_key_problems
    from recipe.tools.preflight import compose, verl_problems
    from recipe.tools.run_config import leaves

    said: list[str] = []
    control = arm[len(CONTROL) :] if arm.startswith(CONTROL) else None
    ablation = None if arm == "recipe" or control else arm
    if cpu:
        from recipe.smoke.run import config_args, run_overrides
        from recipe.tools.train import split_arguments

        workdir = Path("WORKDIR")  # names and paths are set aside
        overrides = run_overrides(workdir, [], ablation, task, True, control, seed=1)
        args, said = config_args(workdir, overrides, workdir / "model", learn=True)
        _, _, overrides = split_arguments(args)  # without --config-path and --config-name
    else:
        overrides = [f"base_model={model}", *arm_overrides(arm, cpu)]
    cfg = compose(overrides)
    found = [cfg] if isinstance(cfg, str) else unknown_key_problems(cfg) or verl_problems(cfg)
    if found:
        raise StudyError(f"arm {arm}: {found[0]}")
    return leaves(cfg), said


def arm_changes(arms: list[str], cpu: bool, task: str, model: str) -> dict[str, list[str]]:
    """Per arm after the first, `key: first's value -> its value` for every key its composed config changes (names and
    paths aside) and the lines saying where its ablation's values went; a StudyError for an arm that changes nothing,
    before any run."""
    configs = {arm: arm_config(arm, cpu, task, model) for arm in arms}
    first, _ = configs[arms[0]]
    changes = {}
    for arm in arms[1:]:
        cfg, said = configs[arm]
        changed = [
            f"{key}: {first.get(key, '<absent>')} -> {cfg.get(key, '<absent>')}"
            for key in sorted(first.keys() | cfg.keys())
            if first.get(key) != cfg.get(key) and not key.rsplit(".", 1)[-1].endswith((*NAMES_AND_PATHS, "_dir"))
        ]
        if not changed:
            where = f" on the CPU task ({'; '.join(said)})" if said else ""
            raise StudyError(f"arm {arm} composes the same run as {arms[0]}{where}: nothing to compare")
        changes[arm] = changed + [f"note: {line}" for line in said]
    return changes


def plan(arms: list[str], seeds: list[int], cpu: bool, task: str, model: str) -> dict:
    """The study's manifest: what it compares, and each run's name (recipe/tools/identity.py)."""
    from omegaconf import OmegaConf

    if len(set(arms)) != len(arms):
        raise StudyError(f"arms {' '.join(arms)}: each arm once")
    if cpu:
        from recipe.smoke.run import task_overrides

        learn = OmegaConf.load(RECIPE_DIR / "smoke" / "learn.yaml")
        base, steps = learn.justrl.run_name, int(learn.trainer.total_training_steps)
        base = next((o.split("=", 1)[1] for o in task_overrides(task, learn=True)), base)
    else:
        if model not in base_models():
            raise StudyError(f"MODEL={model}: unknown; known: {', '.join(base_models())}")
        base = OmegaConf.load(RECIPE_DIR / "base_model" / f"{model}.yaml").justrl.run_name
        steps, task = training_steps(model), model
    runs = {
        arm: {seed: base + identity.variant([*arm_overrides(arm, cpu), f"justrl.seed={seed}"]) for seed in seeds}
        for arm in arms
    }
    return {
        "task": task,
        "kind": "cpu" if cpu else "gpu",
        "steps": steps,
        "arms": arms,
        "runs": runs,
        "logdir": "tensorboard_log/justrl",
        "validation_dir": "validation",
    }


def settle_manifest(output: Path, manifest: dict) -> dict:
    """The manifest to run under: this one, or the folder's own when it is the same study (its seeds grown by the new
    ones). A StudyError for a folder holding another study's runs, or runs that belong to no study."""
    from omegaconf import OmegaConf

    path = output / MANIFEST
    if not path.is_file():
        if (output / "checkpoints").exists():
            raise StudyError(
                f"--output {output}: holds runs of no study (checkpoints/ without {MANIFEST}); "
                "give an empty or new folder"
            )
        return manifest
    old = OmegaConf.to_container(OmegaConf.load(path))
    for key in ("task", "kind", "arms", "steps"):
        if old.get(key) != manifest[key]:
            raise StudyError(
                f"--output {output}: holds another study ({key}: {old.get(key)}, not {manifest[key]}); "
                "give another folder"
            )
    for arm, seeds in manifest["runs"].items():
        old["runs"][arm] = {**old["runs"][arm], **seeds}
    return old


def write_manifest(output: Path, manifest: dict) -> None:
    from omegaconf import OmegaConf

    from data_prep.files import atomic_output

    output.mkdir(parents=True, exist_ok=True)
    with atomic_output(output / MANIFEST) as tmp:
        OmegaConf.save(OmegaConf.create(manifest), tmp)


def run_command(manifest: dict, output: Path, arm: str, seed: int) -> tuple[list[str], dict[str, str]]:
    """The command (and its environment) of one run of the study."""
    env = dict(os.environ)
    if manifest["kind"] == "cpu":
        extra = []
        if arm.startswith(CONTROL):
            extra = ["--control", arm[len(CONTROL) :]]
        elif arm != "recipe":
            extra = ["--ablation", arm]
        command = [sys.executable, "-m", "recipe.smoke.run", "--learn", "--task", manifest["task"]]
        command += ["--seed", str(seed), *extra, "--workdir", str(output)]
        return command, env
    name = manifest["runs"][arm][seed]
    env.update(
        SEED=str(seed),
        MODEL=manifest["task"],
        CKPT_DIR=str(output / "checkpoints"),
        TENSORBOARD_DIR=str(output / manifest["logdir"] / name),
        WANDB_RUN_GROUP=f"{output.name}-{arm}",
    )
    script = ["launch/ablate.sh", arm] if arm != "recipe" else [f"launch/{manifest['task']}.sh"]
    return ["bash", *script, f"trainer.validation_data_dir={output / manifest['validation_dir'] / name}"], env


def eval_command(manifest: dict, output: Path, arm: str, seed: int) -> tuple[list[str], dict[str, str]] | None:
    """A GPU run's evaluation: launch/eval.sh on its last checkpoint, into <DIR>/eval/<run> (eval.study reads it; a
    rerun resumes it). None on the CPU task, whose held-out verdicts are its validations."""
    if manifest["kind"] == "cpu":
        return None
    name = manifest["runs"][arm][seed]
    checkpoint = output / "checkpoints" / "justrl" / name / f"global_step_{manifest['steps']}"
    return ["bash", "launch/eval.sh"], {**os.environ, "MODEL": str(checkpoint), "OUT": str(output / "eval" / name)}


def all_runs(manifest: dict) -> list[tuple[str, int]]:
    """(arm, seed) of every run, seed by seed (every arm's seed 1 first), so a study cut short compares its arms."""
    seeds = sorted({int(seed) for runs in manifest["runs"].values() for seed in runs})
    return [(arm, seed) for seed in seeds for arm in manifest["arms"] if seed in manifest["runs"][arm]]


class Interrupted(Exception):
    """SIGTERM or Ctrl-C during a study: the run in progress is stopped, then the study."""


def _interrupt(signum, frame) -> None:
    raise Interrupted(signal.Signals(signum).name)


def run_step(command: list[str], env: dict[str, str]) -> int:
    """One command of a run; on SIGTERM or Ctrl-C it is sent SIGTERM and waited for (a CPU run stops its Ray and
    keeps its checkpoints: recipe/smoke/run.py), then Interrupted is raised."""
    proc = subprocess.Popen(command, env=env, cwd=REPO)
    try:
        return proc.wait()
    except (Interrupted, KeyboardInterrupt):
        proc.terminate()
        proc.wait()
        raise


def run_study(manifest: dict, output: Path, only: list[tuple[str, int]] | None = None) -> int:
    """Each run in turn (skipping finished ones is each run's own: it says `already complete`); stops at a failure.
    SIGTERM or Ctrl-C stops the run in progress, whose checkpoints a rerun resumes, and then the study."""
    todo = only or all_runs(manifest)
    previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _run_each(manifest, output, todo)
    except (Interrupted, KeyboardInterrupt) as why:
        name = "SIGINT" if isinstance(why, KeyboardInterrupt) else str(why)
        print(f"study: stopped by {name}; the run in progress was stopped and keeps its checkpoints: rerun the same "
              "command to resume", flush=True)  # fmt: skip
        return 130 if name == "SIGINT" else 143
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _run_each(manifest: dict, output: Path, todo: list[tuple[str, int]]) -> int:
    for i, (arm, seed) in enumerate(todo, start=1):
        name = manifest["runs"][arm][seed]
        print(f"study: run {i}/{len(todo)}: {arm}, seed {seed} ({name})", flush=True)
        start = time.monotonic()
        code = 0
        for step in (run_command(manifest, output, arm, seed), eval_command(manifest, output, arm, seed)):
            if code == 0 and step is not None:
                code = run_step(*step)
        if code == 2:  # the launch preflight, or the run's own argument check: its lines above say why
            print(f"study: {name} did not start (exit 2; the lines above say why); fix that, then rerun", flush=True)
            return code
        if code != 0:
            print(f"study: {name} failed (exit {code}); rerun the same command to resume it", flush=True)
            return code
        print(f"study: {name} done in {time.monotonic() - start:.0f} s", flush=True)
    return 0


def submit_array(manifest: dict, output: Path) -> int:
    """One Slurm job a run: a job array of launch/slurm.sbatch whose tasks run launch/study.sh --array-task."""
    count = len(all_runs(manifest))
    command = [
        "sbatch",
        f"--array=0-{count - 1}",
        f"--job-name=study-{output.name}",
        "--export=ALL,ENTRY=launch/study.sh",
        "launch/slurm.sbatch",
        "--output",
        str(output),
        "--array-task",
    ]
    print("study: " + " ".join(command), flush=True)
    code = subprocess.run(command, cwd=REPO).returncode
    if code == 0:
        print(f"study: when the array is done: python -m eval.study --input-dir {output}")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, required=True, help="the study folder (its runs, logs and reports)")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated integers (default 1,2,3)")
    parser.add_argument("--cpu", action="store_true", help="the CPU task (launch/cpu_smoke.sh --learn) on this machine")
    parser.add_argument("--task", default="carry", help="with --cpu: the toy task (recipe/smoke/toy_task.py)")
    parser.add_argument("--slurm", action="store_true", help="submit the runs as a Slurm job array")
    parser.add_argument("--array-task", action="store_true", help="run one run: $SLURM_ARRAY_TASK_ID of DIR's study")
    parser.add_argument("--print-changes", action="store_true",
                        help="print what each arm changes against the first, as composed, and exit")  # fmt: skip
    parser.add_argument("arms", nargs="*", help="recipe, NAME or NAME+NAME of recipe/ablation/, control-random ...")
    args = parser.parse_args(argv)
    output = args.output.resolve()
    try:
        if output.exists() and not output.is_dir():
            raise StudyError(f"--output {output}: a file, not a folder; give a new or empty folder, or this study's")
        if args.array_task:
            from eval.study import read_manifest

            index = int(os.environ.get("SLURM_ARRAY_TASK_ID", "-1"))
            manifest = read_manifest(output)
            if not 0 <= index < len(all_runs(manifest)):
                raise StudyError(f"--array-task: SLURM_ARRAY_TASK_ID={index} is not a run of {output / MANIFEST}")
            return run_study(manifest, output, [all_runs(manifest)[index]])
        if not args.arms:
            raise StudyError("name at least one arm, the first the baseline: e.g. recipe kl_loss")
        seeds = parse_seeds(args.seeds)
        if args.cpu and args.slurm:
            raise StudyError("--slurm runs GPU studies; a CPU study runs here, one run after another (its runs share "
                             "one WORKDIR, which one run a time may use)")  # fmt: skip
        from recipe.smoke.toy_task import TASKS

        if args.cpu and args.task not in TASKS:
            raise StudyError(f"--task {args.task}: unknown; known: {', '.join(TASKS)}")
        model = os.environ.get("MODEL", "deepseek")
        manifest = settle_manifest(output, plan(args.arms, seeds, args.cpu, args.task, model))
        manifest["changes"] = arm_changes(args.arms, args.cpu, args.task, model)
        if args.print_changes:
            for arm, changed in manifest["changes"].items():
                print("\n".join([f"{arm} vs {args.arms[0]}:", *(f"  {line}" for line in changed)]))
            return 0
        write_manifest(output, manifest)
    except (StudyError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.slurm:
        return submit_array(manifest, output)
    code = run_study(manifest, output, [(arm, seed) for arm, seed in all_runs(manifest) if seed in seeds])
    if code != 0:
        return code
    from eval.study import main as report

    return report(["--input-dir", str(output)])


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # before any run started (runs are stopped in run_study)
        print("study: stopped by SIGINT before any run started", file=sys.stderr)
        sys.exit(130)
