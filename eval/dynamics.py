"""Training dynamics of one or more runs: the paper's curves, health alarms and the compute budget.

    python -m eval.dynamics --logdir RUN [--logdir RUN2 ...] [--label NAME ...] --output-dir DIR [--model deepseek]
                            [--metric NAME ...]

Reads each run's own logs: the TensorBoard event files verl's logger writes (`tensorboard_log/<project>/<run>`, or
$TENSORBOARD_DIR), and W&B offline runs under the same directory (read with wandb's own `wandb leet inspect --json`;
skipped with a note if that is unavailable). verl 0.9.1 metric names: actor/entropy, critic/score/mean,
response_length/mean, response_length/clip_ratio, actor/pg_clipfrac, actor/grad_norm, perf/total_num_tokens and
val-core/<data source>/acc/mean@N. Runs logged with verl 0.4 (the published JustRL code) are read too: their
actor/entropy_loss is the policy entropy and val-core/<data source>/reward/mean@N the validation accuracy (the
published validation scored 1 / 0), so a run can be overlaid on one logged with the original code.

Writes DIR/entropy.png (with JustRL's published band, `eval.protocol.ENTROPY_BAND`), DIR/reward.png,
DIR/response_length.png and DIR/val_acc.png, runs overlaid and labelled; prints `ALERT: <run> step <N>: ...` lines for
entropy collapse or blow-up, a flat reward and a response length pinned at the cap; and prints each run's cumulative
prompt+response tokens beside JustRL's budget (`eval.protocol.TOKEN_BUDGETS`), projected to the published run's step
count.
`--metric NAME` (repeatable) also plots any logged metric, runs overlaid, to DIR/metric_<NAME with _ for />.png and
prints its first and last value per run: an ablation's own evidence (`actor/w_reinforce_positive_token_frac`,
`training/reward/raw_score/mean`; recipe/README.md, "Adding an ablation").
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from eval.plots import figure, save_png
from eval.protocol import ENTROPY_BAND, TOKEN_BUDGETS

ENTROPY, REWARD, LENGTH = "actor/entropy", "critic/score/mean", "response_length/mean"
LENGTH_CLIP, TOKENS = "response_length/clip_ratio", "perf/total_num_tokens"
VAL_ACC = re.compile(r"val-core/(?P<source>[^/]+)/acc/mean@\d+")
# verl 0.4 names of the same quantities: the entropy logged as a loss term, validation accuracy as the reward mean.
VERL04_ENTROPY = "actor/entropy_loss"
VERL04_VAL_ACC = re.compile(r"val-core/(?P<source>[^/]+)/reward/(?P<stat>mean@\d+)")

Series = dict[str, dict[int, float]]  # metric -> {step: value}


def read_tensorboard(logdir: Path) -> Series:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    series: Series = {}
    for events_dir in sorted({p.parent for p in logdir.rglob("events.out.tfevents.*")}):
        acc = EventAccumulator(str(events_dir), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            series.setdefault(tag, {}).update({e.step: e.value for e in acc.Scalars(tag)})
    return series


def read_wandb(logdir: Path) -> Series:
    series: Series = {}
    files = sorted(logdir.rglob("run-*.wandb"))
    wandb_cli = shutil.which("wandb") or str(Path(sys.executable).parent / "wandb")
    for path in files:
        try:
            out = subprocess.run([wandb_cli, "leet", "inspect", "--json", str(path)], capture_output=True, text=True,
                                 check=True, timeout=600).stdout  # fmt: skip
        except (OSError, subprocess.SubprocessError) as err:
            print(f"note: cannot read W&B run {path} with `wandb leet inspect` ({err}); skipped", file=sys.stderr)
            continue
        for line in out.splitlines():
            record = json.loads(line)
            if record.get("type") != "history":
                continue
            item = record["history"]["item"]
            step = int(item.get("_step", record["history"].get("step", {}).get("num", 0)))
            for key, value in item.items():
                if not key.startswith("_") and isinstance(value, int | float):
                    series.setdefault(key, {})[step] = float(value)
    return series


def with_verl04_names(series: Series) -> Series:
    """`series` plus the verl 0.9.1 names of metrics that only a verl 0.4 run logged."""
    out = dict(series)
    if ENTROPY not in out and VERL04_ENTROPY in out:
        out[ENTROPY] = out[VERL04_ENTROPY]
    for metric in series:
        if match := VERL04_VAL_ACC.fullmatch(metric):
            out.setdefault(f"val-core/{match['source']}/acc/{match['stat']}", series[metric])
    return out


def load_run(logdir: Path) -> Series:
    series = read_wandb(logdir)
    for metric, points in read_tensorboard(logdir).items():  # TensorBoard wins where both logged a step
        series.setdefault(metric, {}).update(points)
    if not series:
        raise FileNotFoundError(f"{logdir}: no TensorBoard event files and no W&B offline run found")
    return with_verl04_names(series)


def ordered(points: dict[int, float]) -> tuple[list[int], list[float]]:
    steps = sorted(points)
    return steps, [points[s] for s in steps]


def episodes(steps: list[int], flags: list[bool], window: int) -> list[tuple[int, int]]:
    """(first step, alarm step) of each run of >= `window` consecutive flagged points; one alarm per run."""
    found, start = [], None
    for i, flag in enumerate(flags):
        if not flag:
            start = None
            continue
        start = i if start is None else start
        if i - start + 1 == window:
            found.append((steps[start], steps[i]))
    return found


@dataclass
class Thresholds:
    entropy_low: float = 0.8
    entropy_high: float = 2.0
    window: int = 50
    flat_window: int = 200
    flat_tolerance: float = 0.02
    length_clip: float = 0.5


def alarms(series: Series, t: Thresholds) -> list[tuple[int, str]]:
    """(step, message) for every health alarm in one run."""
    found = []
    if ENTROPY in series:
        steps, values = ordered(series[ENTROPY])
        for first, at in episodes(steps, [v < t.entropy_low for v in values], t.window):
            found.append((at, f"entropy collapse: {ENTROPY} below {t.entropy_low} since step {first}"))
        for first, at in episodes(steps, [v > t.entropy_high for v in values], t.window):
            found.append((at, f"entropy blow-up: {ENTROPY} above {t.entropy_high} since step {first}"))
    if REWARD in series:
        steps, values = ordered(series[REWARD])
        w = t.flat_window
        flat = [i >= w - 1 and max(values[i - w + 1 : i + 1]) - min(values[i - w + 1 : i + 1]) < t.flat_tolerance
                for i in range(len(values))]  # fmt: skip
        for _, at in episodes(steps, flat, 1):
            found.append((at, f"reward flat: {REWARD} moved less than {t.flat_tolerance} over {w} logged steps"))
    if LENGTH_CLIP in series:
        steps, values = ordered(series[LENGTH_CLIP])
        for first, at in episodes(steps, [v >= t.length_clip for v in values], t.window):
            found.append(
                (at, f"response length pinned at the cap: {LENGTH_CLIP} >= {t.length_clip} since step {first}")
            )
    return sorted(found)


def compute(series: Series, model: str) -> str:
    name, budget, steps_total = TOKEN_BUDGETS[model]
    if TOKENS not in series:
        return f"no {TOKENS} logged: compute not accounted"
    steps, tokens = ordered(series[TOKENS])
    used = sum(tokens)
    projected = used / len(tokens) * steps_total
    return (
        f"{used:.3e} prompt+response tokens in {len(steps)} steps (to step {steps[-1]}); projected to "
        f"{steps_total} steps: {projected:.3e}; {name} budget: {budget:.1e} "
        f"({projected / budget:.0%} of it)"
    )


def plot(runs: dict[str, Series], output_dir: Path) -> list[Path]:
    written = []
    for name, metric, ylabel in (
        ("entropy", ENTROPY, "policy entropy"),
        ("reward", REWARD, "mean reward (score)"),
        ("response_length", LENGTH, "mean response length (tokens)"),
    ):
        fig, ax = figure()
        for label, series in runs.items():
            if metric in series:
                ax.plot(*ordered(series[metric]), label=label)
        if name == "entropy":
            ax.axhspan(
                *ENTROPY_BAND, color="green", alpha=0.15, label=f"JustRL band ({ENTROPY_BAND[0]}-{ENTROPY_BAND[1]})"
            )
        ax.set(xlabel="step", ylabel=ylabel, title=metric)
        ax.legend()
        save_png(fig, output_dir / f"{name}.png")
        written.append(output_dir / f"{name}.png")
    fig, ax = figure()
    for label, series in runs.items():
        for metric in sorted(m for m in series if VAL_ACC.fullmatch(m)):
            ax.plot(*ordered(series[metric]), marker="o", label=f"{label} {VAL_ACC.fullmatch(metric)['source']}")
    ax.set(xlabel="step", ylabel="validation accuracy", title="val-core/<source>/acc/mean@N")
    ax.legend()
    save_png(fig, output_dir / "val_acc.png")
    return [*written, output_dir / "val_acc.png"]


def plot_metrics(runs: dict[str, Series], metrics: list[str], output_dir: Path) -> list[Path]:
    """One figure per metric, runs overlaid; prints each run's first and last value (or that it did not log it)."""
    written = []
    for metric in metrics:
        fig, ax = figure()
        for label, series in runs.items():
            if metric not in series:
                print(f"metric: {label}: {metric} not logged")
                continue
            steps, values = ordered(series[metric])
            ax.plot(steps, values, label=label)
            print(f"metric: {label}: {metric} {values[0]:.4g} (step {steps[0]}) -> {values[-1]:.4g} (step {steps[-1]})")
        ax.set(xlabel="step", ylabel=metric, title=metric)
        ax.legend()
        path = output_dir / f"metric_{re.sub(r'[^A-Za-z0-9@.-]+', '_', metric)}.png"
        save_png(fig, path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logdir", action="append", required=True, type=Path, help="a run's log directory")
    parser.add_argument("--label", action="append", help="a name per --logdir (default: the directory name)")
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--model", choices=sorted(TOKEN_BUDGETS), default="deepseek", help="budget and step count")
    parser.add_argument("--metric", action="append", default=[], help="also plot this logged metric (repeatable)")
    for field, default in vars(Thresholds()).items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=type(default), default=default)
    args = parser.parse_args(argv)
    labels = args.label or [p.name for p in args.logdir]
    if len(labels) != len(args.logdir):
        parser.error("give one --label per --logdir")
    try:
        runs = {label: load_run(path) for label, path in zip(labels, args.logdir, strict=True)}
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    thresholds = Thresholds(**{f: getattr(args, f) for f in vars(Thresholds())})
    for label, series in runs.items():
        for step, message in alarms(series, thresholds):
            print(f"ALERT: {label} step {step}: {message}")
        print(f"compute: {label}: {compute(series, args.model)}")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for path in [*plot(runs, args.output_dir), *plot_metrics(runs, args.metric, args.output_dir)]:
        print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
