"""Does the recipe learn the CPU task on every seed, beside controls that must not, and where does a study's time go?
(run by hand: about 2-3 minutes a run on an idle 2-core machine)

    python tests/bench/learning_seeds.py [--seeds 1,2,3] [--output DIR] [--task carry] [ARM ...]

Runs `bash launch/study.sh --cpu --seeds S --output DIR ARM...` (default arms: recipe control-random low_lr), timing the
whole study, then prints for each run its closing `learn:` figures, its wall time split into start-up (everything
but steps and validations: Ray, the actors, the model, teardown), training steps and validations (verl's
timing_s/step and timing_s/testing), and per arm the held-out accuracy's rise (mean, spread). It checks the
learning-task targets of recipe/smoke/README.md: held-out pass@1 rises by at least 0.1 on every recipe seed at its
best later validation; the random control's and low_lr's best rises are below the recipe's on every seed, the control's
final rise at most 0.05 on average over seeds; with 3 seeds or more, eval.study separates both from the recipe. A rerun
with the same DIR only runs what is missing (the others' figures come from their logs; their wall time is then the
rerun's few seconds).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from eval.dynamics import read_tensorboard  # noqa: E402


def rises_to(result: dict, key: str) -> dict[str, dict[str, float]]:
    """{arm: {seed: held-out accuracy at `key` (study.json's val_acc_after or val_acc_best) minus at step 0}}."""
    return {
        arm: {seed: r[key] - r["val_acc_before"] for seed, r in info["seeds"].items()}
        for arm, info in result["arms"].items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--task", default="carry")
    parser.add_argument("--output", type=Path, default=Path(tempfile.gettempdir()) / "justrl-learning-seeds")
    parser.add_argument("arms", nargs="*", default=["recipe", "control-random", "low_lr"])
    args = parser.parse_args()
    start = time.monotonic()
    command = [
        "bash",
        str(REPO / "launch" / "study.sh"),
        "--cpu",
        "--task",
        args.task,
        "--seeds",
        args.seeds,
        "--output",
        str(args.output),
        *args.arms,
    ]
    walls = {}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("study: ") and " done in " in line:
                name, seconds = line[len("study: ") :].split(" done in ")
                walls[name] = float(seconds.rstrip(" s\n"))
    code = proc.returncode
    total = time.monotonic() - start
    if code != 0:
        print(f"study failed (exit {code})")
        return code
    result = json.loads((args.output / "study.json").read_text())
    print(f"\nstudy of {len(args.arms)} arms x {len(args.seeds.split(','))} seeds: {total:.0f} s wall, this invocation")
    print("\n| arm | seed | held-out pass@1 | pass@8 | wall | start-up | steps | validations |")
    print("|---|---|---|---|---|---|---|---|")
    for arm, info in result["arms"].items():
        for seed, run in info["seeds"].items():
            series = read_tensorboard(args.output / "tensorboard_log" / "justrl" / run["run"])
            steps_s = sum(series.get("timing_s/step", {}).values())
            val_s = sum(series.get("timing_s/testing", {}).values())
            wall = walls.get(run["run"], float("nan"))
            pass8 = series.get("val-aux/math_dapo/acc/best@8/mean", {})
            p8 = f"{pass8[min(pass8)]:.3f} -> {pass8[max(pass8)]:.3f}" if pass8 else "-"
            startup = wall - steps_s - val_s
            print(
                f"| {arm} | {seed} | {run['val_acc_before']:.3f} -> {run['val_acc_after']:.3f} | {p8} | {wall:.0f} s | "
                f"{f'{startup:.0f} s' if startup >= 0 else '- (ran before)'} | {steps_s:.0f} s | {val_s:.0f} s |"
            )
    rises = rises_to(result, "val_acc_after")
    means = {arm: sum(by_seed.values()) / len(by_seed) for arm, by_seed in rises.items()}
    print("\n| arm | rise, mean | spread (max - min) |\n|---|---|---|")
    for arm, by_seed in rises.items():
        print(f"| {arm} | {means[arm]:+.3f} | {max(by_seed.values()) - min(by_seed.values()):.3f} |")
    best = rises_to(result, "val_acc_best")  # the rises the trainer lane checks (tests/test_recipe_smoke_learn.py)
    control, recipe = rises.get("control-random", {}), best.get("recipe", {})
    failures = [f"recipe seed {seed}: best rise {rise:+.3f}" for seed, rise in recipe.items() if rise < 0.1]
    if control and means["control-random"] > 0.05:
        failures.append(f"control-random: mean rise {means['control-random']:+.3f}")
    for arm in ("control-random", "low_lr"):
        for seed in best.get(arm, {}).keys() & recipe.keys():
            if best[arm][seed] >= recipe[seed]:
                failures.append(f"{arm} seed {seed}: best rise {best[arm][seed]:+.3f}, recipe {recipe[seed]:+.3f}")
    for c in result["comparisons"]:  # the known effect and the control must be separated from the recipe at 3 seeds
        if c["b"] in ("control-random", "low_lr") and len(recipe) >= 3 and not c["excludes_zero"]:
            failures.append(f"{c['b']} vs recipe: {c['diff']:+.3f}, interval {c['ci95']}: not separated")
    print("\n" + (args.output / "study.md").read_text())
    for failure in failures:
        print(f"TARGET MISSED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
