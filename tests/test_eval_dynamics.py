"""eval.dynamics on small TensorBoard event files (written as verl's logger writes them) and a W&B offline run."""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import pytest

from eval.dynamics import Thresholds, alarms, episodes, load_run, main

STEPS = 300


def healthy(step: int) -> dict[str, float]:
    """JustRL's published shape: entropy in 1.2-1.4, reward -0.6 -> +0.4, length 8000 -> ~4500."""
    return {
        "actor/entropy": 1.3 + 0.08 * math.sin(step / 7),
        "critic/score/mean": -0.6 + step / STEPS + 0.01 * math.sin(step),
        "response_length/mean": 4500 + 3500 * math.exp(-step / 60),
        "response_length/clip_ratio": 0.05,
        "actor/pg_clipfrac": 0.002,
        "actor/grad_norm": 0.3,
        "perf/total_num_tokens": 1000.0 + step,
    }


def collapsing(step: int) -> dict[str, float]:
    """The length-penalty ablation gone wrong: entropy collapses, reward stalls, length pinned at the cap."""
    m = healthy(step)
    m["actor/entropy"] = 1.3 if step < 100 else 0.5
    m["critic/score/mean"] = -0.2 if step >= 50 else m["critic/score/mean"]
    m["response_length/clip_ratio"] = 0.9 if 200 <= step < 260 else 0.05
    return m


def write_run(logdir: Path, metrics, val_metric: str = "val-core/AIME24/acc/mean@32") -> Path:
    from torch.utils.tensorboard import SummaryWriter  # what verl's _TensorboardAdapter uses

    writer = SummaryWriter(str(logdir))
    for step in range(1, STEPS + 1):
        for key, value in metrics(step).items():
            writer.add_scalar(key, value, step)
        if step % 50 == 0 or step == 1:
            writer.add_scalar(val_metric, 0.3 + step / 2000, step)
    writer.close()
    return logdir


def verl04_names(metrics):
    """The same run as verl 0.4 (JustRL's fork) logged it: entropy as actor/entropy_loss, no acc, a reward mean."""

    def renamed(step: int) -> dict[str, float]:
        m = metrics(step)
        m["actor/entropy_loss"] = m.pop("actor/entropy")
        return m

    return renamed


def test_a_verl04_run_reads_like_a_verl09_one(tmp_path):
    logdir = write_run(tmp_path / "v04", verl04_names(collapsing), val_metric="val-core/AIME24/reward/mean@32")
    series = load_run(logdir)
    assert series["actor/entropy"] == series["actor/entropy_loss"]
    assert series["val-core/AIME24/acc/mean@32"][50] == pytest.approx(0.3 + 50 / 2000)
    reference = load_run(write_run(tmp_path / "v09", collapsing))
    assert alarms(series, Thresholds()) == alarms(reference, Thresholds()) != []


def test_episodes_fire_once_per_contiguous_stretch():
    steps = list(range(10))
    flags = [False, True, True, True, False, True, True, True, True, False]
    assert episodes(steps, flags, window=3) == [(1, 3), (5, 7)]
    assert episodes(steps, flags, window=5) == []


def test_healthy_run_raises_no_alarm(tmp_path):
    assert alarms(load_run(write_run(tmp_path / "ok", healthy)), Thresholds()) == []


def test_collapsing_run_raises_each_alarm_with_its_step(tmp_path):
    found = alarms(load_run(write_run(tmp_path / "bad", collapsing)), Thresholds())
    messages = {message.split(":")[0]: step for step, message in found}
    assert messages["entropy collapse"] == 149  # below 0.8 from step 100, alarm after a 50-step window
    assert messages["reward flat"] == 249  # constant from step 50, alarm after a 200-step window
    assert messages["response length pinned at the cap"] == 249  # clip ratio 0.9 from step 200
    assert "entropy blow-up" not in messages


def test_cli_plots_overlaid_runs_and_accounts_compute(tmp_path, capsys):
    ok, bad = write_run(tmp_path / "ok", healthy), write_run(tmp_path / "bad", collapsing)
    out = tmp_path / "plots"
    assert main(["--logdir", str(ok), "--logdir", str(bad), "--label", "base", "--label", "penalty",
                 "--output-dir", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "ALERT: penalty step 149: entropy collapse" in printed
    assert "ALERT: base" not in printed
    tokens = sum(1000.0 + s for s in range(1, STEPS + 1))
    assert f"compute: base: {tokens:.3e} prompt+response tokens in {STEPS} steps" in printed
    assert f"projected to 4380 steps: {tokens / STEPS * 4380:.3e}; JustRL-DeepSeek-1.5B budget: 1.4e+11" in printed
    for name in ("entropy", "reward", "response_length", "val_acc"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_missing_logs_are_a_clear_error(tmp_path, capsys):
    assert main(["--logdir", str(tmp_path), "--output-dir", str(tmp_path / "o")]) == 2
    assert "no TensorBoard event files and no W&B offline run" in capsys.readouterr().err


def test_wandb_offline_run_is_read_with_wandbs_own_tool(tmp_path, monkeypatch):
    if not (shutil.which("wandb") or (Path(sys.executable).parent / "wandb").exists()):
        pytest.skip("wandb CLI not installed")
    import wandb

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = wandb.init(dir=str(tmp_path), project="justrl", name="offline")
    for step in range(1, 6):
        run.log({"actor/entropy": 1.3, "critic/score/mean": -0.6 + 0.1 * step}, step=step)
    run.finish()
    series = load_run(tmp_path)
    assert series["critic/score/mean"] == pytest.approx({s: -0.6 + 0.1 * s for s in range(1, 6)})
