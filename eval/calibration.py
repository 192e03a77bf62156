"""How often eval.study's interval separates two arms: false separation between arms of one distribution, and power.

    python -m eval.calibration [--replicates 4000] [--seed 0]

Each replicate is a study as the CPU learning task makes one (recipe/smoke/learn.yaml): 20 held-out problems, shared
by both arms, each with its own chance of a right answer (a Beta(2, 4) draw, mean 0.33, as the toy base model's
spread); 16 samples a problem at validation. A run's training moves every problem's chance by one normal draw of
standard deviation `sd` (the seed-to-seed spread), of which the share `shared` is common to the two arms' runs of one
seed (same base, same data order, same first rollouts: they are paired); arm b adds `effect`. Each run's accuracy is
its mean over the problems, and `eval.study.seed_interval` draws the interval the study reports. Prints the table
eval/README.md holds: the false-separation rate (effect 0; nominal 5%) and the power (effect > 0).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from eval.study import seed_interval

PROBLEMS, SAMPLES = 20, 16  # recipe/smoke/learn.yaml: the held-out problems, val_kwargs.n
SEEDS = (2, 3, 5, 10)
NULL_SDS = (0.0, 0.05, 0.1, 0.15, 0.2)
EFFECTS = ((0.1, 0.05), (0.2, 0.05), (0.2, 0.1), (0.3, 0.1))  # (effect, sd) pairs of the power table


def simulate(
    seeds: int,
    sd: float,
    effect: float = 0.0,
    shared: float = 0.0,
    replicates: int = 2000,
    rng: np.random.Generator | None = None,
) -> float:
    """The share of `replicates` simulated studies (module doc) whose interval excludes 0."""
    rng = rng or np.random.default_rng(0)
    base = rng.beta(2, 4, size=(replicates, 1, PROBLEMS))  # the problems, shared by the arms and their seeds
    common = rng.standard_normal((replicates, seeds, 1))  # a seed's draw both arms' runs share
    scores = []
    for shift in (0.0, effect):
        own = rng.standard_normal((replicates, seeds, 1))
        chance = np.clip(base + shift + sd * (np.sqrt(shared) * common + np.sqrt(1 - shared) * own), 0, 1)
        scores.append((rng.binomial(SAMPLES, chance) / SAMPLES).mean(axis=-1))  # replicates x seeds
    _, low, high = seed_interval(*scores)
    return float(np.mean((low > 0) | (high < 0)))


def table(replicates: int, seed: int) -> str:
    """eval/README.md's tables: false separation by seeds and sd (independent and paired seeds), power by effect."""
    rng = np.random.default_rng(seed)
    head = "| seeds an arm | " + " | ".join(f"sd {sd:.2f}" for sd in NULL_SDS) + " |"
    lines = ["False separation (effect 0; shared 0 / shared 0.5):", "", head, "|---" * (len(NULL_SDS) + 1) + "|"]
    for n in SEEDS:
        cells = [f"{simulate(n, sd, 0, 0, replicates, rng):.3f} / {simulate(n, sd, 0, 0.5, replicates, rng):.3f}"
                 for sd in NULL_SDS]  # fmt: skip
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    head = "| seeds an arm | " + " | ".join(f"effect {e:.1f}, sd {sd:.2f}" for e, sd in EFFECTS) + " |"
    lines += ["", "Power (shared 0):", "", head, "|---" * (len(EFFECTS) + 1) + "|"]
    for n in SEEDS:
        cells = [f"{simulate(n, sd, effect, 0, replicates, rng):.3f}" for effect, sd in EFFECTS]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicates", type=int, default=4000, help="simulated studies a cell (default: 4000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(table(args.replicates, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
