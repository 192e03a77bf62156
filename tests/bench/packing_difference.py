"""How much does verl 0.9.1's micro-batch packing change JustRL's loss, against chance? (run by hand, seconds)

    python tests/bench/packing_difference.py [--trials 200] [--seed 0]

JustRL's loss weights each micro-batch by its share of the rank's mini-batch (verl 0.4, recipe/policy_loss.py), so
which responses share a micro-batch changes the gradient. The two sides pack a rank's mini-batch differently, both with
the same Karmarkar-Karp partitioner (`get_seqlen_balanced_partitions`, identical in both but for its docstrings):
- verl 0.4 as JustRL ran it (`utils/seqlen_balancing.py` `rearrange_micro_batches`): k = the largest over ranks of
  ceil(tokens / ppo_max_token_len_per_gpu), partitions balanced by token count;
- verl 0.9.1: the same k to start, partitions balanced by the compute estimate `24576 s + s^2`, k raised until every
  micro-batch of every rank fits the budget.
verl 0.9.1 offers no extension point for packing (the engine calls `prepare_micro_batches` itself), so the recipe
cannot pack as the fork did. This measures what that costs: mini-batches of synthetic JustRL-like lengths (prompt
80-500 tokens, response log-normal around 6,000 capped at 15,360, 10% at the cap), packed by each side with verl's own
partitioner, and by chance (each response put in a random micro-batch with room, among the fork's k). A packing gives
every token the weight n_m / (B T_m); the gradient difference between two packings is read two ways: every token's
gradient independent (relative L2 distance of the token weights), or every response's tokens pulling one way (of the
response weights). Printed for 32 ranks x 16 responses (JustRL's 4 x 8 GPUs) and 8 ranks x 64 (one node), beside
verl 0.9's global token-mean (the `verl09_loss` ablation) for scale.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from verl.utils.seqlen_balancing import calculate_workload, get_seqlen_balanced_partitions

BUDGET = 32768  # ppo_max_token_len_per_gpu
CAP = 15360


def lengths(rng: np.random.Generator, n: int) -> list[int]:
    response = np.minimum(rng.lognormal(np.log(6000), 0.6, n), CAP)
    response[rng.random(n) < 0.1] = CAP
    return [int(p + r) for p, r in zip(rng.integers(80, 500, n), response, strict=True)]


def fork_packing(ranks: list[list[int]]) -> list[list[list[int]]]:
    k = max(min(len(r), math.ceil(sum(r) / BUDGET)) for r in ranks)
    return [get_seqlen_balanced_partitions(r, k, equal_size=False) for r in ranks]


def verl091_packing(ranks: list[list[int]]) -> list[list[list[int]]]:
    k = max(min(len(r), math.ceil(sum(r) / BUDGET)) for r in ranks)
    while True:
        parts = [get_seqlen_balanced_partitions(calculate_workload(torch.tensor(r)).tolist(), k, False) for r in ranks]
        if all(sum(r[i] for i in p) <= BUDGET for r, ps in zip(ranks, parts, strict=True) for p in ps):
            return parts
        k += 1


def random_packing(ranks: list[list[int]], k: int, rng: np.random.Generator) -> list[list[list[int]]]:
    """Each rank's responses in a random order, each put in a random one of the k micro-batches it still fits in
    (k + 1 if an order finds no room after 200 tries)."""
    out = []
    for r in ranks:
        bins = k
        while True:
            for _ in range(200):
                parts, room = [[] for _ in range(bins)], [BUDGET] * bins
                for i in rng.permutation(len(r)):
                    fits = [j for j in range(bins) if room[j] >= r[i]]
                    if not fits:
                        break
                    j = fits[rng.integers(len(fits))]
                    parts[j].append(int(i))
                    room[j] -= r[i]
                else:
                    if all(parts):
                        out.append(parts)
                        break
                    continue
            else:
                bins += 1
                continue
            break
    return out


def weights(ranks: list[list[int]], packing: list[list[list[int]]]) -> tuple[np.ndarray, np.ndarray]:
    """(per-token, per-response) weights in the gradient of verl 0.4's loss, averaged over ranks as FSDP does."""
    tokens, responses = [], []
    for r, parts in zip(ranks, packing, strict=True):
        per_token = np.zeros(len(r))
        for part in parts:
            share, count = len(part) / len(r), sum(r[i] for i in part)
            per_token[part] = share / count / len(ranks)
        tokens.append(np.repeat(per_token, r))
        responses.append(per_token * np.array(r))
    return np.concatenate(tokens), np.concatenate(responses)


def global_token_mean(ranks: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The same for verl 0.9's token-mean: every token of the mini-batch weighs 1 / its tokens on all ranks."""
    total = sum(map(sum, ranks))
    return np.full(total, 1.0 / total), np.concatenate([np.array(r, float) / total for r in ranks])


def distance(a, b) -> tuple[float, float]:
    return tuple(float(np.linalg.norm(x - y) / np.linalg.norm(x)) for x, y in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| ranks x responses | comparison | token weights: mean / max rel. L2 | response weights: mean / max | "
          "same partition |\n|---|---|---|---|---|")  # fmt: skip
    for dp, per_rank in ((32, 16), (8, 64)):
        rng = np.random.default_rng(args.seed)
        found: dict[str, list[tuple[float, float]]] = {}
        same = 0
        for _ in range(args.trials):
            ranks = [lengths(rng, per_rank) for _ in range(dp)]
            fork, ours = fork_packing(ranks), verl091_packing(ranks)
            k = len(fork[0])
            chance = [random_packing(ranks, k, rng) for _ in range(2)]
            w_fork = weights(ranks, fork)
            same += all(sorted(map(sorted, a)) == sorted(map(sorted, b)) for a, b in zip(fork, ours, strict=True))
            found.setdefault("fork vs verl 0.9.1 packing", []).append(distance(w_fork, weights(ranks, ours)))
            found.setdefault("random vs random packing", []).append(
                distance(weights(ranks, chance[0]), weights(ranks, chance[1]))
            )
            found.setdefault("fork vs random packing", []).append(distance(w_fork, weights(ranks, chance[0])))
            found.setdefault("fork vs verl 0.9's global token-mean", []).append(
                distance(w_fork, global_token_mean(ranks))
            )
        for name, values in found.items():
            v = np.array(values)
            extra = f"{same}/{args.trials}" if name == "fork vs verl 0.9.1 packing" else ""
            print(f"| {dp} x {per_rank} | {name} | {v[:, 0].mean():.3f} / {v[:, 0].max():.3f} | "
                  f"{v[:, 1].mean():.3f} / {v[:, 1].max():.3f} | {extra} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
