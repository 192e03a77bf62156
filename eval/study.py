"""A study across seeds: does an arm differ from the first by more than seed-to-seed noise, and from which step?

    python -m eval.study --input-dir DIR

DIR is a study folder of `launch/study.sh` (recipe/tools/study.py): its `study.yaml` names the task, the arms and, per
arm and seed, the run; each run's own logs are read where the run wrote them: verl's TensorBoard events
(`tensorboard_log/justrl/<run>`) and its validation generations (`validation/<run>/<step>.jsonl`, one verdict a held-out
sample, written with `trainer.validation_data_dir`); where the run's last checkpoint was evaluated on the nine
benchmarks (`eval/<run>`, launch/eval.sh's output, as GPU studies do), those grades are its final verdicts. Runs not
finished yet are named as missing and left out, so it runs on a partial study. Writes, atomically:
- `study_<metric>.png`: per arm, the mean over seeds and a band, by step, arms overlaid, for the training reward,
  the entropy, the response length (band: one standard deviation over seeds, descriptive) and the held-out accuracy
  (band: the 95% t-interval of each arm's mean over seeds, at each validation);
- `study_val_acc_diff.png`: each arm's held-out accuracy minus the first arm's, by validated step, with its 95%
  interval by the t-interval below (the band the separation step reads) and the separation step dotted;
- `study.json` and `study.md`: per arm and seed the held-out accuracy before and after training (study.json: also its
  best later validation), and for each arm against the first:
  - `diff`: the final held-out accuracy, arm minus first arm (means over seeds), and `ci95`, its 95% interval: a
    two-sample Student t-interval over the runs' accuracies (each the mean over the held-out problems), with the two
    arms' pooled seed-to-seed variance and n_a + n_b - 2 degrees of freedom. Both arms are scored on the same
    problems (and, seeded, the same seed validates the same model identically), so the problems are a shared,
    fixed set: their noise is not resampled, and what varies between runs is the seed. At 2-3 seeds an arm the
    interval is wide because the seed variance is estimated from 2-6 numbers (t_0.975 = 4.30 with 2 seeds an arm);
    a bootstrap over so few seeds understates it and separated a null pair 11-23% of the time (eval/README.md;
    eval/calibration.py measures this interval). With one seed in an arm there is no seed noise to estimate, and no
    interval is drawn;
  - `separation_step`: the first validated step from which the difference's 95% interval (the same t-interval, at
    each step both arms validated) excludes 0, on the same side, to the last step, where it is `ci95` (null: not
    separated, or one seed), with the difference and its interval at each step in `by_step` ({step: [diff, low,
    high]}). The arms' own bands in study_val_acc.png (each arm's mean over seeds, its one-sample t-interval) may
    overlap where the difference is separated: two 95% intervals that overlap do not make a difference that is noise;
  - `seeds_needed`: seeds per arm for which the same t-test detects a difference of the observed size at 80% power
    and a two-sided 5% level (the noncentral t), given the pooled seed-to-seed standard deviation observed (with 2-3
    seeds, itself uncertain).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from eval.dynamics import ENTROPY, LENGTH, REWARD, read_tensorboard
from eval.plots import figure, save_png
from eval.store import read_records

MANIFEST = "study.yaml"
EVALUATIONS = "eval"  # <study>/eval/<run>: launch/eval.sh on the run's last checkpoint (GPU studies)
CURVES = {"reward": REWARD, "entropy": ENTROPY, "response_length": LENGTH}
LEVEL, POWER = 0.95, 0.8
MAX_SEEDS = 1000  # seeds_needed looks no further


@dataclass
class Run:
    """One run of an arm: its curves {metric: {step: value}} and its held-out verdicts {step: {problem: [0/1...]}}."""

    name: str
    curves: dict[str, dict[int, float]] = field(default_factory=dict)
    verdicts: dict[int, dict[str, list[float]]] = field(default_factory=dict)

    def accuracy(self, step: int) -> np.ndarray:
        """Per held-out problem (sorted by its prompt), the share of its samples judged right at `step`."""
        by_problem = self.verdicts[step]
        return np.array([np.mean(by_problem[p]) for p in sorted(by_problem)])


def read_manifest(study: Path) -> dict:
    from omegaconf import OmegaConf

    path = study / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no study here (launch/study.sh writes it with the first run)")
    return OmegaConf.to_container(OmegaConf.load(path), resolve=True)


def read_verdicts(folder: Path) -> dict[int, dict[str, list[float]]]:
    """{step: {prompt: [verdicts]}} from verl's validation dumps: `acc` where the reward gives it, else score > 0."""
    verdicts: dict[int, dict[str, list[float]]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for record in read_records(path):
            right = record.get("acc", record["score"] > 0)
            verdicts.setdefault(int(record["step"]), {}).setdefault(record["input"], []).append(float(bool(right)))
    return verdicts


def read_grades(folder: Path) -> dict[str, list[float]]:
    """{benchmark/index: [verdicts]} from eval.grade's grades of one evaluation (<folder>/grades/<BENCHMARK>.jsonl)."""
    verdicts: dict[str, list[float]] = {}
    for path in sorted((folder / "grades").glob("*.jsonl")):
        for grade in read_records(path):
            verdicts.setdefault(f"{grade['benchmark']}/{grade['index']}", []).append(float(bool(grade["correct"])))
    return verdicts


def read_run(study: Path, manifest: dict, name: str) -> Run | None:
    """A finished run's logs, or None while its last step is not logged (a run not started, killed or under way).
    Where the run's last checkpoint was evaluated (`<study>/eval/<run>`, launch/eval.sh's output; GPU studies), its
    grades on the nine benchmarks are the final held-out verdicts, in place of the last in-training validation."""
    series = read_tensorboard(study / manifest["logdir"] / name)
    verdicts = read_verdicts(study / manifest["validation_dir"] / name)
    graded = read_grades(study / EVALUATIONS / name)
    if graded:
        verdicts[manifest["steps"]] = graded
    steps = series.get(REWARD, {})
    if not steps or max(steps) < manifest["steps"] or manifest["steps"] not in verdicts:
        return None
    return Run(name, {label: series.get(key, {}) for label, key in CURVES.items()}, verdicts)


def seed_accuracies(runs: list[Run], step: int) -> list[float]:
    """Each run's held-out accuracy at `step` (the mean over its problems): an arm's seeds, side by side."""
    return [float(run.accuracy(step).mean()) for run in runs]


def sd_band(values: list[float]) -> tuple[float, float, float]:
    """(mean, mean - sd, mean + sd) over seeds: a descriptive band (none for one seed)."""
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return mean, mean - sd, mean + sd


def seed_interval(a: np.ndarray, b: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(diff, low, high): b's mean minus a's over the last axis (the seeds) and its pooled-variance Student
    t-interval (module doc). Leading axes are independent studies, as eval/calibration.py simulates them; two arms
    without any spread give the point interval [diff, diff]."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with warnings.catch_warnings():  # identical runs: scipy warns of a zero variance, the interval is [diff, diff]
        warnings.simplefilter("ignore", RuntimeWarning)
        interval = stats.ttest_ind(b, a, axis=-1).confidence_interval(level)
    diff = b.mean(axis=-1) - a.mean(axis=-1)
    return diff, np.nan_to_num(interval.low, nan=diff), np.nan_to_num(interval.high, nan=diff)


def difference_intervals(a: list[Run], b: list[Run]) -> dict[int, tuple[float, float, float]]:
    """{step: (diff, low, high)}: b's held-out accuracy minus a's (means over seeds) and its 95% t-interval, at each
    step every run of both arms validated."""
    steps = set.intersection(*(set(r.verdicts) for r in a + b))
    intervals = {}
    for step in sorted(steps):
        diff, low, high = seed_interval(seed_accuracies(a, step), seed_accuracies(b, step))
        intervals[step] = (float(diff), float(low), float(high))
    return intervals


def separation_step(intervals: dict[int, tuple[float, ...]]) -> int | None:
    """The first step from which the difference's interval (the last two numbers of each step's) excludes 0, on the
    side of the last step's, at every later step; None where the last step's includes 0."""
    steps = sorted(intervals)
    bounds = [intervals[s][-2:] for s in steps]
    side = [1 if low > 0 else -1 if high < 0 else 0 for low, high in bounds]
    if not steps or side[-1] == 0:
        return None
    i = len(steps)
    while i > 0 and side[i - 1] == side[-1]:
        i -= 1
    return steps[i]


def power(seeds: np.ndarray | int, sd: float, diff: float, level: float = LEVEL) -> np.ndarray:
    """The chance that seed_interval separates two arms of `seeds` runs each whose means differ by `diff`, when each
    run's accuracy spreads with standard deviation `sd` (normal runs: the noncentral t)."""
    seeds = np.asarray(seeds, dtype=float)
    df = 2 * seeds - 2
    shift = abs(diff) / (sd * np.sqrt(2 / seeds))
    critical = stats.t.ppf(0.5 + level / 2, df)
    return stats.nct.sf(critical, df, shift) + stats.nct.cdf(-critical, df, shift)


def pooled_sd(finals_a: list[float], finals_b: list[float]) -> float:
    """The two arms' pooled seed-to-seed standard deviation (n_a + n_b - 2 degrees of freedom)."""
    squares = sum(float(np.sum((np.asarray(x) - np.mean(x)) ** 2)) for x in (finals_a, finals_b))
    return (squares / (len(finals_a) + len(finals_b) - 2)) ** 0.5


def seeds_needed(finals_a: list[float], finals_b: list[float], diff: float) -> int | None:
    """Seeds per arm for 80% power at a two-sided 5% level (module doc): at least 2; None without a seed spread in
    both arms, without a difference, or past MAX_SEEDS."""
    if len(finals_a) < 2 or len(finals_b) < 2 or diff == 0:
        return None
    sd = pooled_sd(finals_a, finals_b)
    if sd == 0:
        return 2
    counts = np.arange(2, MAX_SEEDS + 1)
    enough = np.flatnonzero(power(counts, sd, diff) >= POWER)
    return int(counts[enough[0]]) if enough.size else None


def analyse(manifest: dict, runs: dict[str, dict[int, Run]]) -> dict:
    """study.json's content from the finished runs {arm: {seed: Run}}."""
    last = manifest["steps"]
    result = {"task": manifest["task"], "steps": last, "arms": {}, "comparisons": [], "missing": []}
    result["changes"] = manifest.get("changes", {})
    for arm, seeds in manifest["runs"].items():
        result["arms"][arm] = {"seeds": {}}
        for s, name in seeds.items():
            run = runs.get(arm, {}).get(int(s))
            if run is None:
                result["missing"].append(name)
                continue
            first = min(run.verdicts)
            later = [step for step in run.verdicts if step > first] or [last]
            result["arms"][arm]["seeds"][int(s)] = {
                "run": name,
                "val_acc_before": float(run.accuracy(first).mean()),
                "val_acc_after": float(run.accuracy(last).mean()),
                # the highest of the later validations: a run that learned and then dipped at its last one shows both
                "val_acc_best": max(float(run.accuracy(step).mean()) for step in later),
            }
    base, *others = manifest["runs"]
    if not runs.get(base):  # the others are compared with the first arm only
        result["note"] = f"the first arm, {base}, has no finished run yet: nothing to compare with"
        return result
    done = [arm for arm in others if runs.get(arm)]
    for arm in done:
        a, b = list(runs[base].values()), list(runs[arm].values())
        finals_a, finals_b = seed_accuracies(a, last), seed_accuracies(b, last)
        diff = float(np.mean(finals_b) - np.mean(finals_a))
        comparison = {
            "a": base,
            "b": arm,
            "diff": diff,
            "ci95": None,
            "excludes_zero": None,
            "separation_step": None,
            "seeds_needed": seeds_needed(finals_a, finals_b, diff),
        }
        if len(a) < 2 or len(b) < 2:
            single = base if len(a) < 2 else arm
            comparison["note"] = f"one seed in {single}: no interval can be drawn (it needs the seed-to-seed noise)"
        else:
            intervals = difference_intervals(a, b)
            _, low, high = intervals[last]
            comparison.update(
                ci95=[low, high],
                excludes_zero=low > 0 or high < 0,
                separation_step=separation_step(intervals),
                by_step={step: list(v) for step, v in intervals.items()},
            )
        result["comparisons"].append(comparison)
    return result


def val_bands(runs: list[Run]) -> dict[int, tuple[float, float, float]]:
    """{step: (mean, low, high)} of an arm's held-out accuracy at each step every run validated: the mean over seeds
    and its one-sample t-interval (one seed: no band)."""
    steps = set.intersection(*(set(r.verdicts) for r in runs))
    bands = {}
    for step in sorted(steps):
        values = seed_accuracies(runs, step)
        mean = float(np.mean(values))
        if len(values) < 2:
            bands[step] = (mean, mean, mean)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            interval = stats.ttest_1samp(values, 0.0).confidence_interval(LEVEL)
        bands[step] = (mean, *(float(np.nan_to_num(x, nan=mean)) for x in interval))
    return bands


def plot(study: Path, runs: dict[str, dict[int, Run]]) -> list[str]:
    """study_<metric>.png for each curve and the held-out accuracy; returns the file names."""
    names = []
    for label in [*CURVES, "val_acc"]:
        fig, ax = figure()
        for arm, seeds in runs.items():
            members = list(seeds.values())
            if label == "val_acc":
                bands = val_bands(members)
            else:
                steps = set.intersection(*(set(r.curves[label]) for r in members))
                bands = {s: sd_band([r.curves[label][s] for r in members]) for s in sorted(steps)}
            xs = sorted(bands)
            line = ax.plot(xs, [bands[s][0] for s in xs], label=f"{arm} ({len(members)} seeds)")[0]
            ax.fill_between(xs, [bands[s][1] for s in xs], [bands[s][2] for s in xs], color=line.get_color(), alpha=0.2)
        ax.set_xlabel("step")
        ax.set_ylabel(label.replace("_", " "))
        band = "95% t-interval over seeds" if label == "val_acc" else "one standard deviation over seeds"
        ax.set_title(f"{CURVES.get(label, 'held-out accuracy')}: mean over seeds, band: {band}", fontsize=9)
        ax.legend()
        save_png(fig, study / f"study_{label}.png")
        names.append(f"study_{label}.png")
    return names


def plot_differences(study: Path, result: dict) -> list[str]:
    """study_val_acc_diff.png: each arm's held-out accuracy minus the first arm's by step, with its 95% interval (the
    band the separation step reads) and the separation step marked; nothing where no interval was drawn."""
    drawn = [c for c in result["comparisons"] if c.get("by_step")]
    if not drawn:
        return []
    fig, ax = figure()
    for c in drawn:
        steps = sorted(c["by_step"])
        diff, low, high = zip(*(c["by_step"][s] for s in steps), strict=True)
        line = ax.plot(steps, diff, label=f"{c['b']} - {c['a']}")[0]
        ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2)
        if c["separation_step"] is not None:
            ax.axvline(c["separation_step"], color=line.get_color(), linestyle=":")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("held-out accuracy difference")
    ax.set_title(
        "arm minus first: mean over seeds, band: 95% t-interval over seeds\ndotted: separated from",
        fontsize=9,
    )
    ax.legend()
    save_png(fig, study / "study_val_acc_diff.png")
    return ["study_val_acc_diff.png"]


def markdown(result: dict, pngs: list[str]) -> str:
    lines = [f"# Study: {result['task']}, {result['steps']} steps", ""]
    if result["missing"]:
        lines += [f"Missing (not finished): {', '.join(result['missing'])}.", ""]
    if result.get("note"):
        lines += [result["note"] + ".", ""]
    lines += ["| arm | seed | run | held-out accuracy before | after |", "|---|---|---|---|---|"]
    for arm, info in result["arms"].items():
        for s, r in info["seeds"].items():
            lines.append(f"| {arm} | {s} | {r['run']} | {r['val_acc_before']:.3f} | {r['val_acc_after']:.3f} |")
    lines += [
        "",
        "| arm vs first | diff | 95% t-interval over seeds | separated from step | seeds needed |",
        "|---|---|---|---|---|",
    ]
    for c in result["comparisons"]:
        interval = (
            f"[{c['ci95'][0]:+.3f}, {c['ci95'][1]:+.3f}] " + ("excludes 0" if c["excludes_zero"] else "includes 0")
            if c["ci95"]
            else c["note"]
        )
        separated = c["separation_step"]
        if separated is None:  # no interval drawn (one seed): nothing to say of separation
            separated = "-" if c["ci95"] is None else f"not separated in {result['steps']} steps"
        needed = c["seeds_needed"] if c["seeds_needed"] is not None else "-"
        lines.append(f"| {c['b']} vs {c['a']} | {c['diff']:+.3f} | {interval} | {separated} | {needed} |")
    for arm, changed in result.get("changes", {}).items():
        lines += ["", f"What {arm} changes against {next(iter(result['arms']))}, as composed:", ""]
        lines += [f"- `{line}`" for line in changed]
    lines += [
        "",
        "Interval: the two-sample Student t over seeds (pooled variance, n_a + n_b - 2 degrees of freedom); seeds "
        "needed: seeds per arm for 80% power of the same test at the observed difference and pooled seed-to-seed "
        "standard deviation (eval/study.py; its calibration: eval/calibration.py).",
        "",
    ] + [f"![{p}]({p})" for p in pngs]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from data_prep.files import atomic_output

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input-dir", type=Path, required=True, help="the study folder (launch/study.sh --output)")
    args = parser.parse_args(argv)
    try:
        manifest = read_manifest(args.input_dir)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    runs: dict[str, dict[int, Run]] = {}
    for arm, seeds in manifest["runs"].items():
        for s, name in seeds.items():
            run = read_run(args.input_dir, manifest, name)
            if run is not None:
                runs.setdefault(arm, {})[int(s)] = run
    result = analyse(manifest, runs)
    if result["missing"]:
        print(f"study: {len(result['missing'])} run(s) not finished, left out: {', '.join(result['missing'])}")
    if not runs:
        print("study: no finished run yet; nothing to compare", file=sys.stderr)
        return 1
    pngs = plot(args.input_dir, runs) + plot_differences(args.input_dir, result)
    for name, text in (("study.json", json.dumps(result, indent=1) + "\n"), ("study.md", markdown(result, pngs))):
        with atomic_output(args.input_dir / name) as tmp:
            Path(tmp).write_text(text)
    if result.get("note"):
        print(f"study: {result['note']}")
    for c in result["comparisons"]:
        interval = f"ci95=[{c['ci95'][0]:+.3f}, {c['ci95'][1]:+.3f}]" if c["ci95"] else c["note"]
        print(
            f"study: {c['b']} vs {c['a']}: diff={c['diff']:+.3f} {interval} separation_step={c['separation_step']} "
            f"seeds_needed={c['seeds_needed']}"
        )
    print(f"study: wrote {args.input_dir / 'study.md'}, study.json and {len(pngs)} figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
