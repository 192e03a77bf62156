"""Grading a full run side by side with slower paths (run by hand: `python tests/bench/grade_speed.py`).

Builds, deterministically, a full nine-benchmark evaluation's worth of responses from the published benchmark files
beside the checkout (../shared/benchmarks; the protocol's N for each problem, 12,184 in all, ~6.6 KB each): 60%
correct in another form (`\\dfrac{6}{3}` for 2, `0.5` for `\\frac12`, spaces, `\\text{}`), 35% wrong, 5% truncated
(no box), and 20 adversarial answers (`9**9**9`, `100000000!`, 3,000 nested parentheses, exponent towers). Then, in
one run, for each protocol:
1. `reward.grading.grade_many(pairs, protocol=...)`, with where its time goes (extraction, decisions taken without
   SymPy, checker start-up, worker checks, checks that ran to the limit);
2. the slow reference path: every pair through the protocol's full check in the time-limited pool, one by one,
   no shortcut, no de-duplication; the verdicts must be equal;
and once, plain math-verify serially in one process (the naive loop), on the same pairs.
Target: <= 30 s for grade_many on 2 cores under either protocol, and >= 4x less than the serial loop.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from eval import grading
from eval.protocol import EVAL_SAMPLES
from reward.bounded import bounded_map
from reward.sources import BENCHMARKS

SHARED = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"
FILLER = "Let me think about this step by step, checking each case carefully. " * 95  # ~6.6 KB with the answer
ADVERSARIAL = ["9**9**9", "100000000!", "(" * 3000 + "1" + ")" * 3000, "10^{10^{10}}", "9^{9^{9^9}}"]


def other_form(truth: str, rng: random.Random) -> str:
    """The ground truth written another way a model would write it."""
    if truth.lstrip("-").isdigit():
        n = int(truth)
        return rng.choice([f"\\dfrac{{{2 * n}}}{{2}}", f"{n}.0", f" {n} ", f"\\text{{{n}}}", f"{n:,}"])
    return rng.choice([truth.replace("\\frac", "\\dfrac"), f" {truth} ", truth.replace(" ", ""), f"{{{truth}}}"])


def workload(seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = []
    for name in BENCHMARKS:
        for row in pq.read_table(SHARED / name / "test.parquet").to_pylist():
            truth = str(row["reward_model"]["ground_truth"] if "reward_model" in row else row["answer"]).strip()
            clean = grading.published_ground_truth(truth).strip("$")
            for _ in range(EVAL_SAMPLES[name]):
                roll = rng.random()
                if roll < 0.60:
                    ending = f"So the answer is $\\boxed{{{other_form(clean, rng)}}}$."
                elif roll < 0.95:
                    ending = f"So the answer is $\\boxed{{{rng.randint(0, 999)}}}$."
                else:
                    ending = "So the answer is"  # cut off by the length limit
                pairs.append((FILLER + ending, truth))
    for i in range(20):
        pairs[i * 600] = (FILLER + f"\\boxed{{{ADVERSARIAL[i % len(ADVERSARIAL)]}}}", "\\frac{1}{3}")
    return pairs


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def serial_math_verify(pairs: list[tuple[str, str]]) -> list[bool]:
    """The naive loop: math-verify on every pair, one after the other, in this process (its own 5 s timeouts)."""
    import logging

    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # one warning per timeout otherwise
    out = []
    for response, truth in pairs:
        try:
            out.append(bool(verify(parse("\\boxed{" + truth + "}"), parse(response))))
        except BaseException:  # noqa: BLE001 - math-verify's TimeoutException is a BaseException
            out.append(False)
    return out


def breakdown(pairs: list[tuple[str, str]], protocol: str) -> str:
    """Where grade_many's time goes, measured stage by stage."""
    extract, decide_here, check = grading._RULES[protocol]
    (items, t_extract) = timed(lambda: [(extract(r), grading.published_ground_truth(t)) for r, t in pairs])
    unique = list(dict.fromkeys(items))
    grading._normalized.cache_clear()
    verdicts, t_here = timed(lambda: [decide_here(*item) for item in unique])
    todo = [item for item, verdict in zip(unique, verdicts, strict=True) if verdict is None]
    outcomes, t_checks = timed(bounded_map, check, todo, grading.DEFAULT_TIMEOUT_S)
    limit = sum(o.status == "timeout" for o in outcomes)
    return (f"extraction {t_extract:.1f} s | {len(unique):,} distinct pairs, {len(todo):,} to SymPy | decided here "
            f"{t_here:.1f} s | worker checks {t_checks:.1f} s, of which {limit} ran to the limit")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-serial", action="store_true", help="skip the serial math-verify loop (about 2 min)")
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"{SHARED} not found")
    pairs = workload()
    size = sum(len(r) for r, _ in pairs) / len(pairs)
    print(f"workload: {len(pairs):,} responses, {size / 1000:.1f} KB each on average")
    _, t_start = timed(bounded_map, grading.published_equivalent, [("1", "1")], 5.0)
    print(f"checker start-up (host, forkserver, first worker): {t_start:.1f} s")
    for protocol in grading.PROTOCOLS:
        grades, t_fast = timed(grading.grade_many, pairs, protocol)
        reference, t_ref = timed(bounded_map, grading._RULES[protocol][2],
                                 [(grading._RULES[protocol][0](r), grading.published_ground_truth(t))
                                  for r, t in pairs], grading.DEFAULT_TIMEOUT_S)  # fmt: skip
        want = [o.status == "ok" and bool(o.value) for o in reference]
        # the full check on a missing answer is "not correct" by definition
        same = sum(g.correct == w for g, w in zip(grades, want, strict=True))
        print(f"[{protocol}] grade_many: {t_fast:.1f} s ({len(pairs) / t_fast:,.0f}/s), "
              f"{sum(g.correct for g in grades):,} correct, {sum(g.timed_out for g in grades)} timed out")  # fmt: skip
        print(f"[{protocol}]   {breakdown(pairs, protocol)}")
        print(f"[{protocol}] reference (full check per pair, pool): {t_ref:.1f} s; verdicts equal on "
              f"{same:,}/{len(pairs):,}")  # fmt: skip
    if not args.no_serial:
        _, t_serial = timed(serial_math_verify, pairs)
        print(f"serial math-verify, one process: {t_serial:.1f} s; grade_many is {t_serial / t_fast:.1f}x faster "
              f"({grading.PROTOCOLS[-1]})")  # fmt: skip


if __name__ == "__main__":
    main()
