"""End to end: launch/cpu_smoke.sh runs verl's real trainer on the recipe, on CPU (about 80 s)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from conftest import REPO

from recipe.smoke.run import parse_metrics

pytestmark = pytest.mark.e2e


def ray_like_pids(marker: str) -> set[int]:
    """Processes of a Ray runtime: named by Ray (`ray::...`, raylet, gcs_server) or naming the run's directory."""
    pids = set()
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if (
            cmdline.startswith(("ray::", "ray-dashboard"))
            or proc.info["name"] in ("raylet", "gcs_server")
            or marker in cmdline
        ):
            pids.add(proc.info["pid"])
    return pids


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("smoke")
    before = ray_like_pids(str(workdir))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "WORKDIR": str(workdir)}
    out = subprocess.run(
        ["bash", str(REPO / "launch" / "cpu_smoke.sh"), "trainer.save_freq=1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    return out, workdir, before


def test_smoke_exits_zero_with_its_closing_line(smoke_run):
    out, _, _ = smoke_run
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    last = out.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"smoke: 2 steps, score_mean=-?[\d.]+, grad_norm=[\d.e+-]+", last), last


def test_every_training_step_ran_and_a_gradient_was_applied(smoke_run):
    out, _, _ = smoke_run
    steps = dict(p for p in map(parse_metrics, out.stdout.splitlines()) if p and "actor/grad_norm" in p[1])
    assert sorted(steps) == [1, 2]
    assert any(s["actor/grad_norm"] > 0 for s in steps.values())
    assert all(s["actor/pg_clipfrac"] >= 0 for s in steps.values())
    # the recipe's loss weighting (recipe/policy_loss.py) ran in the actor worker: its share metric is logged
    assert "'loss_mode': 'verl04_token_mean'" in out.stdout
    assert all(0 < s["actor/verl04_micro_batch_share"] <= 1 for s in steps.values())


def test_the_strict_reward_scored_training_and_math_verify_scored_validation(smoke_run):
    out, _, _ = smoke_run
    assert "'path': 'pkg://reward.score'" in out.stdout
    assert "smoke: reward verifier=strict" in out.stdout
    steps = [p[1] for p in map(parse_metrics, out.stdout.splitlines()) if p and "critic/score/min" in p[1]]
    assert {s["critic/score/min"] for s in steps} <= {-1.0, 1.0}  # the strict verifier's +1 / -1 scale
    assert "val-core/AIME24/acc/mean@2" in out.stdout or "val-aux/AIME24/score/mean@2" in out.stdout


ORPHAN = """
import os, time
if os.fork():
    os._exit(0)  # the child is reparented, as a Ray worker is once its raylet is gone
print(os.getpid(), flush=True)
time.sleep(300)
"""


def test_stop_ray_finds_a_worker_that_lost_its_parent(tmp_path):
    from recipe.smoke.run import RUN_MARKER, stop_ray

    marker = str(tmp_path / "ray")
    env = {**os.environ, RUN_MARKER: marker}
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN], env=env, stdout=subprocess.PIPE, text=True)
    orphan = psutil.Process(int(parent.stdout.readline()))
    parent.stdout.close()
    parent.wait(timeout=30)
    assert marker not in " ".join(orphan.cmdline()) and orphan.ppid() != os.getpid()
    assert stop_ray(marker) == 1
    assert not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE
    assert stop_ray(marker) == 0


def test_no_ray_process_outlives_the_run(smoke_run):
    _, workdir, before = smoke_run
    assert ray_like_pids(str(workdir)) - before == set()


def test_eval_accepts_the_verl_checkpoint_and_converts_it_with_verls_merger(smoke_run, tmp_path):
    from eval.generate import main as generate
    from eval.store import read_records

    _, workdir, _ = smoke_run
    checkpoint = workdir / "checkpoints" / "justrl" / "cpu-smoke" / "global_step_2"
    assert (checkpoint / "actor" / "model_world_size_1_rank_0.pt").exists()
    args = ["--model", str(checkpoint), "--output-dir", str(tmp_path), "--backend", "hf", "--benchmarks", "AIME24",
            "--data-dir", str(workdir / "data" / "benchmarks"), "--n", "2", "--max-new-tokens", "8"]  # fmt: skip
    assert generate(args) == 0
    from eval.run_layout import RunLayout

    assert (RunLayout(tmp_path).merged_model(checkpoint) / "model.safetensors").exists()
    assert RunLayout(tmp_path).merged_model(checkpoint).name.startswith("hf_cpu-smoke-global_step_2-")
    assert len(list(read_records(tmp_path / "generations" / "AIME24.jsonl"))) == 4


def test_the_sweep_evaluates_every_checkpoint_of_the_run(smoke_run, tmp_path):
    from eval.sweep import main as sweep

    _, workdir, _ = smoke_run
    run_dir = workdir / "checkpoints" / "justrl" / "cpu-smoke"
    args = ["--run-dir", str(run_dir), "--output-dir", str(tmp_path), "--benchmarks", "AIME24", "--backend", "hf",
            "--data-dir", str(workdir / "data" / "benchmarks"), "--n", "2", "--max-new-tokens", "8"]  # fmt: skip
    assert sweep(args) == 0
    assert sorted(p.name for p in tmp_path.glob("step_*")) == ["step_1", "step_2"]
    assert (tmp_path / "sweep_AIME24.png").read_bytes()[:4] == b"\x89PNG"
    table = (tmp_path / "sweep.md").read_text().splitlines()
    assert table[0] == "| step | AIME24 |" and [row.split(" |")[0] for row in table[2:]] == ["| 1", "| 2"]
    assert sweep(args) == 0  # resumable: nothing left to generate or grade
