"""reward.math_equal: math-verify equivalence under the hard process-level time limit, from any thread."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from reward.math_equal import math_equal, math_equal_many
from reward.score import compute_score


@pytest.mark.parametrize("pred", ["100000000!", "10^{10^{10}}", "(" * 5000 + "1" + ")" * 5000])
def test_pathological_answers_are_false_and_bounded_by_the_hard_limit(pred):
    start = time.monotonic()
    assert math_equal(pred, "\\sqrt{2}", timeout_s=1.0) is False
    assert time.monotonic() - start < 10  # liveness: the worker was killed, not waited for


def test_pool_recovers_after_a_timeout():
    assert math_equal("100000000!", "\\sqrt{2}", timeout_s=1.0) is False
    assert math_equal("\\frac{1}{2}", "0.5") is True


def test_scoring_from_worker_threads_as_verl_does():
    # verl's reward managers call compute_score through loop.run_in_executor (threads): SIGALRM would raise there.
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: compute_score("AIME24", f"\\boxed{{{i}/2}}", f"{i / 2}"), range(1, 9)))
    assert all(r["acc"] for r in results)


def test_many_returns_one_result_per_pair_in_order():
    pairs = [("1", "1"), ("2", "3"), ("\\frac{1}{2}", "0.5"), ("x", "y")]
    assert math_equal_many(pairs) == [True, False, True, False]
