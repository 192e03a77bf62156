"""reward.score: the strict training verifier pinned case by case and against upstream verl; validation scoring, the
lenient ablation verifier, dispatch errors, and no input that raises."""

from __future__ import annotations

import numpy as np
import pytest
from verl.utils.reward_score import math_dapo

from reward.score import compute_score
from reward.sources import BENCHMARKS


def strict(response: str, gt: str) -> dict:
    return compute_score("math_dapo", response, gt)


def assert_matches_upstream(response: str, gt: str) -> None:
    ours = strict(response, gt)
    upstream = math_dapo.compute_score(response, gt, strict_box_verify=True)
    assert ours == {"score": upstream["score"], "acc": bool(upstream["acc"]), "pred": upstream["pred"]}


def box_at(distance_from_end: int, answer: str = "7") -> str:
    """A response whose `\\boxed{answer}` starts `distance_from_end` characters before the end."""
    box = "\\boxed{" + answer + "}"
    return "x" * 500 + box + "." * (distance_from_end - len(box))


def test_correct_box_scores_plus_one():
    assert strict("so the answer is \\boxed{34}", "34") == {"score": 1.0, "acc": True, "pred": "34"}


def test_wrong_box_scores_minus_one_and_reports_pred():
    assert strict("so the answer is \\boxed{35}", "34") == {"score": -1.0, "acc": False, "pred": "35"}


def test_no_box_scores_minus_one_with_no_pred():
    assert strict("the answer is 34", "34") == {"score": -1.0, "acc": False, "pred": None}


def test_box_starting_exactly_100_chars_from_end_counts():
    assert strict(box_at(100), "7")["score"] == 1.0


def test_box_starting_101_chars_from_end_is_cut_off():
    assert strict(box_at(101), "7") == {"score": -1.0, "acc": False, "pred": None}


@pytest.mark.parametrize("distance", [150, 300, 301])
def test_box_inside_300_window_but_outside_100_is_ignored(distance):
    # The reward cuts to the last 300 characters, the verifier then to the last 100: the 300 window never widens it.
    assert strict(box_at(distance), "7")["pred"] is None


def test_last_of_several_boxes_decides():
    assert strict("\\boxed{1} then \\boxed{2} finally \\boxed{3}", "3")["score"] == 1.0
    assert strict("\\boxed{3} then \\boxed{2}", "3") == {"score": -1.0, "acc": False, "pred": "2"}


def test_nested_braces_are_kept_verbatim():
    assert strict("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}")["score"] == 1.0


def test_nested_box_reads_the_innermost_last_box():
    assert strict("\\boxed{\\boxed{5}}", "5")["pred"] == "5"


def test_unbalanced_last_box_gives_no_answer_even_after_a_good_one():
    assert strict("\\boxed{4} and then \\boxed{4", "4") == {"score": -1.0, "acc": False, "pred": None}


def test_fbox_is_not_a_box():
    assert strict("\\fbox{4}", "4")["pred"] is None


def test_answer_line_is_not_read():
    # verl's math_dapo default reads "Answer:" lines; JustRL's strict mode does not.
    assert strict("Answer: 4", "4")["score"] == -1.0


def test_raw_string_comparison_has_no_normalisation():
    for response in ("\\boxed{ 4}", "\\boxed{4.0}", "\\boxed{4 }", "\\boxed{\\dfrac{1}{2}}"):
        assert strict(response, "4" if "dfrac" not in response else "\\frac{1}{2}")["score"] == -1.0


@pytest.mark.parametrize("response", ["", " ", "\n\t  \n"])
def test_empty_and_whitespace_responses_score_minus_one(response):
    assert strict(response, "4") == {"score": -1.0, "acc": False, "pred": None}


def test_unicode_answers_compare_as_strings():
    assert strict("答案是 \\boxed{π/2} ✓", "π/2")["score"] == 1.0
    assert strict("答案是 \\boxed{π/2}", "pi/2")["score"] == -1.0


def test_ten_megabyte_response_reads_only_the_tail():
    big = "a{" * 5_000_000
    assert strict(big + "\\boxed{9}", "9")["score"] == 1.0
    assert strict(big, "9")["pred"] is None


def test_integer_ground_truth_is_compared_as_its_string():
    assert strict("\\boxed{12}", 12)["score"] == 1.0


@pytest.mark.parametrize(
    "response",
    [
        "so the answer is \\boxed{34}",
        "\\boxed{35}",
        "",
        box_at(100),
        box_at(101),
        box_at(300),
        "\\boxed{4} and then \\boxed{4",
        "\\boxed{\\boxed{5}}",
        "Answer: 34",
        "\\fbox{34}",
        "答案 \\boxed{34}",
        "z" * 1000 + "\\boxed{34}}}",
    ],
)
def test_identical_to_upstream_verl_strict_box_verify(response):
    assert_matches_upstream(response, "34")


@pytest.mark.parametrize("data_source", BENCHMARKS)
def test_every_benchmark_is_scored_one_or_zero(data_source):
    assert compute_score(data_source, "\\boxed{204}", "204") == {"score": 1.0, "acc": True, "pred": "204"}
    assert compute_score(data_source, "\\boxed{205}", "204") == {"score": 0.0, "acc": False, "pred": "205"}


@pytest.mark.parametrize(
    ("pred", "gold"),
    [("0.5", "\\frac{1}{2}"), ("\\frac{2}{4}", "\\frac{1}{2}"), ("\\{2,1\\}", "\\{1,2\\}"), ("2^{10}", "1024")],
)
def test_validation_accepts_equivalent_forms(pred, gold):
    assert compute_score("AIME24", f"thus \\boxed{{{pred}}}", gold)["acc"] is True


def test_validation_reads_the_whole_response_not_only_the_tail():
    assert compute_score("AMC23", "\\boxed{27}" + " checking." * 50, "27")["acc"] is True


# Responses with and without a box, scored by the published route: verl 0.4's math_verify.compute_score, whose
# extraction verl 0.9.1 keeps in its own math_verify.compute_score (called here as the reference).
VALIDATION_CASES = [
    ("\\boxed{204}", "204", True),
    ("so $\\boxed{205}$", "204", False),
    ("The answer is 204.", "204", True),  # no box: the published validation still counts it
    ("The answer is $204$.", "204", True),
    ("I think 204 or 205. Final: 205", "204", False),  # the last number is the prediction
    ("I think 70", "70", True),
    ("no answer here", "70", False),
    ("\\boxed{\\frac{408}{2}}", "204", True),
    ("the answer is \\frac{1}{2}", "0.5", True),
]


@pytest.mark.parametrize(("response", "gold", "correct"), VALIDATION_CASES)
def test_validation_scores_the_whole_response_as_the_published_run(response, gold, correct):
    from verl.utils.reward_score import math_verify

    result = compute_score("AIME25", response, gold)
    assert result["acc"] is correct and result["score"] == float(correct)
    assert math_verify.compute_score(response, gold) == float(correct)


def test_lenient_verifier_accepts_what_strict_rejects():
    response = "\\boxed{\\dfrac12}"
    assert compute_score("math_dapo", response, "\\frac{1}{2}")["score"] == -1.0
    assert compute_score("math_dapo", response, "\\frac{1}{2}", verifier="lenient") == {
        "score": 1.0,
        "acc": True,
        "pred": "\\dfrac12",
    }
    far = "The answer is \\boxed{2}." + " More words." * 20  # beyond the strict verifier's last 100 characters
    assert compute_score("math_dapo", far, "2")["score"] == -1.0
    assert compute_score("math_dapo", far, "2", verifier="lenient")["score"] == 1.0
    assert compute_score("math_dapo", "\\boxed{3}", "2", verifier="lenient")["score"] == -1.0


def test_lenient_verifier_gives_the_published_graders_own_verdicts():
    """The paper's "DeepScaleR-style" verifier is the grader the published evaluation ran: its recorded verdicts
    (tests/data/published_grader_verdicts.json) on the constructed corpus, as +1 / -1."""
    import json

    from conftest import REPO
    from grader_corpus import CONSTRUCTED

    record = json.loads((REPO / "tests" / "data" / "published_grader_verdicts.json").read_text())["constructed"]
    scores = [compute_score("math_dapo", r, g, verifier="lenient")["score"] for r, g in CONSTRUCTED]
    assert scores == [1.0 if v == "1" else -1.0 for v in record]


@pytest.mark.parametrize(("answer", "gold"), [("\\frac{408}{2}", "204"), ("\\{1,2\\}", "\\{2,1\\}")])
def test_math_verify_verifier_is_more_lenient_than_the_papers(answer, gold):
    response = f"\\boxed{{{answer}}}"
    assert compute_score("math_dapo", response, gold, verifier="lenient")["score"] == -1.0
    assert compute_score("math_dapo", response, gold, verifier="math_verify")["score"] == 1.0


def test_unknown_data_source_is_an_error_naming_it_and_the_known_ones():
    with pytest.raises(ValueError, match=r"'gsm8k'.*math_dapo.*AIME24"):
        compute_score("gsm8k", "\\boxed{1}", "1")


def test_unknown_verifier_is_an_error():
    with pytest.raises(ValueError, match="verifier='loose'"):
        compute_score("math_dapo", "\\boxed{1}", "1", verifier="loose")


def test_any_string_input_never_raises():
    odd = [
        "",
        "\\boxed{",
        "\\boxed{}",
        "}}}{{{",
        "\\boxed{\\frac{1}{0}}",
        "\\boxed{\x00}",
        "\\boxed{" + "{" * 2000 + "}",
    ]
    for response in odd:
        for source in ("math_dapo", "AIME24"):
            assert compute_score(source, response, "1")["acc"] is False
        for verifier in ("lenient", "math_verify"):
            assert compute_score("math_dapo", response, "1", verifier=verifier)["score"] == -1.0


@pytest.mark.parametrize("data_source", ["math_dapo", "AIME24"])
def test_non_string_responses_and_missing_ground_truths_are_wrong_with_a_warning(data_source, caplog):
    wrong = -1.0 if data_source == "math_dapo" else 0.0
    for response, truth in [(None, "1"), (b"\\boxed{1}", "1"), (12, "12"), ("\\boxed{None}", None)]:
        result = compute_score(data_source, response, truth, extra_info={"index": 7})
        assert result == {"score": wrong, "acc": False, "pred": None}
    assert "row 7" in caplog.text
    assert compute_score(data_source, "\\boxed{204}", 204)["acc"] is True  # a number read from a loose parquet


def fuzz_responses(count: int, seed: int = 0) -> list[str]:
    """Responses assembled from the pieces answers are made of, nested and repeated at random (fixed seed)."""
    import random

    rng = random.Random(seed)
    pieces = ["\\boxed{", "}", "{", "\\frac", "\\sqrt", "^", "!", "(", ")", "[", "]", "\\{", "\\}", ",", "-", "+", "*",
              "/", "=", "x", "\\pi", "\\infty", "\\text{", "$", "\\%", "0", "7", "99999999", ".", " ", "\\\\", "\x00",
              "é", "\\left(", "\\right)", "\\cdot", "e", "i", "Answer:", "\n"]  # fmt: skip
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 60))) for _ in range(count)]


def test_fuzzed_responses_never_raise_under_the_strict_verifier():
    for response in fuzz_responses(3000):
        result = compute_score("math_dapo", response, "7")
        assert result["score"] in (-1.0, 1.0)


@pytest.mark.parametrize(
    ("data_source", "verifier"), [("AIME24", "strict"), ("math_dapo", "lenient"), ("math_dapo", "math_verify")]
)
def test_fuzzed_responses_never_raise_and_each_check_is_bounded(data_source, verifier):
    import time
    from concurrent.futures import ThreadPoolExecutor

    responses = fuzz_responses(300, seed=1)
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:  # as verl's reward loop calls it
        results = list(pool.map(lambda r: compute_score(data_source, r, "7", verifier=verifier,
                                                        verify_timeout_s=2.0), responses))  # fmt: skip
    assert all(r["score"] in (-1.0, 0.0, 1.0) for r in results)
    assert time.monotonic() - start < 300 / 4 * 2.0 + 30  # every check within its limit, four workers


@pytest.mark.parametrize("data_source", ["math_dapo", "AIME24"])
@pytest.mark.parametrize(
    ("ground_truth", "correct"),
    [(["1"], True), (np.array(["1"]), True), (("2", "1"), True), (["2"], False), ([], False), (np.int64(1), True)],
)
def test_a_list_ground_truth_is_its_acceptable_answers_for_every_verifier(data_source, ground_truth, correct):
    """verl hands a parquet list column to the reward as a list or a numpy array: any listed answer counts."""
    result = compute_score(data_source, "so the answer is \\boxed{1}", ground_truth)
    assert result["acc"] is correct
    assert result["score"] == (1.0 if correct else (-1.0 if data_source == "math_dapo" else 0.0))
