"""Reward throughput and worst cases (run by hand: `python tests/bench/reward_speed.py`; not collected by pytest).

Prints calls per second for the strict path (training), the lenient and math_verify paths (ablations) and validation
scoring, on
responses shaped like training rollouts (a few thousand characters ending in a boxed answer), and the slowest
single calls on pathological inputs.
"""

from __future__ import annotations

import random
import time

from reward.score import compute_score


def responses(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        gt = str(rng.randint(0, 999))
        answer = gt if rng.random() < 0.4 else rng.choice([str(rng.randint(0, 999)), f"\\frac{{{gt}}}{{1}}"])
        out.append(("Let us think. " * rng.randint(50, 400) + f"\\boxed{{{answer}}}", gt))
    return out


def rate(label: str, data, **kwargs) -> None:
    source = kwargs.pop("data_source", "math_dapo")
    compute_score(source, *data[0], **kwargs)  # warm the worker pool
    start = time.perf_counter()
    for response, gt in data:
        compute_score(source, response, gt, **kwargs)
    elapsed = time.perf_counter() - start
    print(f"{label:<28} {len(data) / elapsed:>10,.0f} calls/s  ({elapsed / len(data) * 1e6:,.1f} us/call)")


def worst(label: str, response: str, gt: str, **kwargs) -> None:
    source = kwargs.pop("data_source", "math_dapo")
    start = time.perf_counter()
    result = compute_score(source, response, gt, **kwargs)
    print(f"{label:<28} {time.perf_counter() - start:>8.3f} s  -> score {result['score']}")


def main() -> None:
    data = responses(2000)
    print("throughput (single caller, as one verl executor thread):")
    rate("strict (math_dapo)", data * 10)
    rate("lenient (math_dapo)", data, verifier="lenient")
    rate("math_verify (math_dapo)", data, verifier="math_verify")
    rate("validation (AIME24)", data, data_source="AIME24")
    print("worst cases (hard limit 5 s):")
    big = "a{" * 5_000_000
    worst("strict, 10 MB response", big + "\\boxed{9}", "9")
    worst("lenient, 10 MB response", big + "\\boxed{9}", "9", verifier="lenient")
    worst("lenient, 10 MB unbalanced", "\\boxed{" + big, "9", verifier="lenient")
    worst("lenient, 9**9**9", "\\boxed{9**9**9}", "\\sqrt{2}", verifier="lenient")
    worst("math_verify, 10 MB response", big + "\\boxed{9}", "9", verifier="math_verify")
    worst("validation, 100000000!", "\\boxed{100000000!}", "\\sqrt{2}", data_source="AIME24")
    worst("validation, 10^{10^{10}}", "\\boxed{10^{10^{10}}}", "3", data_source="AIME24")
    worst("validation, 5000 parens", "\\boxed{" + "(" * 5000 + "1" + ")" * 5000 + "}", "2", data_source="AIME24")


if __name__ == "__main__":
    main()
