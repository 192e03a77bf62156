"""eval.grading: the published ground truths, equivalent forms, no false positives, and no hangs."""

from __future__ import annotations

import time

import pyarrow.parquet as pq
import pytest

from eval.grading import grade_many, is_correct
from recipe.protocol import BENCHMARKS
from reward.extract import last_boxed_answer


@pytest.fixture(scope="module")
def ground_truths(prepared_benchmarks):
    out = prepared_benchmarks
    return {
        n: [r["reward_model"]["ground_truth"] for r in pq.read_table(out / f"{n}.parquet").to_pylist()]
        for n in BENCHMARKS
    }


def test_every_published_ground_truth_grades_itself_correct(ground_truths):
    pairs = [(f"Thus the answer is $\\boxed{{{gt}}}$.", gt) for gts in ground_truths.values() for gt in gts]
    results = grade_many(pairs)
    wrong = [pairs[i][1] for i, (_, ok, _) in enumerate(results) if not ok]
    assert wrong == []
    assert len(pairs) == 1646


@pytest.mark.parametrize(
    ("answer", "gold"),
    [
        ("\\frac{2}{4}", "\\frac{1}{2}"),  # unreduced fraction (the rule grader rejects it)
        ("0.5", "\\frac12"),
        ("\\{2, 1\\}", "\\{1,2\\}"),  # reordered set
        ("\\dfrac{1}{2}", "\\frac{1}{2}"),
        ("x=5", "5"),
        (" 204 ", "204"),
        ("\\text{(A)}", "A"),
        ("10^\\circ", "10"),
        ("(3,\\pi/2)", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("2\\sqrt{2}", "\\sqrt{8}"),
    ],
)
def test_equivalent_forms_are_accepted(answer, gold):
    assert is_correct(f"... so \\boxed{{{answer}}}", gold)


@pytest.mark.parametrize(
    ("answer", "gold"),
    [("-2", "2"), ("(1,2)", "(2,1)"), ("0.33", "\\frac{1}{3}"), ("\\sqrt{2}", "2"), ("205", "204"), ("x", "y")],
)
def test_different_answers_are_rejected(answer, gold):
    assert not is_correct(f"\\boxed{{{answer}}}", gold)


@pytest.mark.parametrize("answer", ["9**9**9", "100000000!", "10^{10^{10}}", "(" * 5000 + "1" + ")" * 5000])
def test_pathological_answers_are_false_within_the_limit(answer):
    start = time.monotonic()
    assert is_correct(f"\\boxed{{{answer}}}", "\\sqrt{2}", timeout_s=2.0) is False
    assert time.monotonic() - start < 15  # liveness: the hard limit held


def test_timeouts_are_reported_as_such():
    ((answer, ok, timed_out),) = grade_many([("\\boxed{100000000!}", "\\sqrt{2}")], timeout_s=1.0)
    assert (ok, timed_out) == (False, True)


def test_missing_box_is_a_format_error_not_a_crash():
    assert grade_many([("the answer is 4", "4")]) == [(None, False, False)]


def test_grading_reads_answers_with_the_training_reward_extraction():
    response = "first \\boxed{1}, finally \\boxed{\\frac{1}{2}}"
    ((answer, ok, _),) = grade_many([(response, "0.5")])
    assert answer == last_boxed_answer(response) and ok
