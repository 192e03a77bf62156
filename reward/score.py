"""verl custom reward for JustRL: `reward.custom_reward_function.path=pkg://reward.score` (name `compute_score`).

- Training (`data_source == "math_dapo"`), verifier "strict" (the default): JustRL's reward, +1.0 / -1.0. The last
  balanced `\\boxed{}` within the response's last 100 characters, compared with the ground truth as a raw string.
  No normalisation, no SymPy, no format bonus. Identical to upstream verl's
  `math_dapo.compute_score(..., strict_box_verify=True)`, which JustRL's fork used.
- Training, verifier "lenient" (the paper's second ablation, "DeepScaleR-style"): the last boxed answer of the whole
  response, correct if Hendrycks/MATH-normalised equal or SymPy-equal to the ground truth: DeepScaleR's grader, the
  one the published evaluation uses (`reward.grading`, protocol `published`); same +1.0 / -1.0 scale. Select it with
  `reward.custom_reward_function.reward_kwargs.verifier=lenient` (recipe/ablation/lenient_verifier.yaml).
- Training, verifier "math_verify" (ours): the same answer, equivalent under math-verify, which also accepts
  unreduced fractions and reordered sets (recipe/ablation/math_verify_verifier.yaml).
- Validation (`data_source` one of the nine benchmarks): 1.0 / 0.0 as JustRL's in-training validation scored
  AIME24/AIME25/AMC23: verl 0.4's `math_verify.compute_score` over the whole response, so an unboxed final answer
  can count (`reward.math_equal.math_verify_score`).

A ground truth may also arrive as a list of acceptable answers (a parquet list column reaches the reward as a list or a
numpy array): the response is correct if it matches any of them, under each verifier alike, so `['1']` is `'1'`.
data_prep writes plain strings.

Every call returns the same keys, `score` (float), `acc` (bool) and `pred` (the extracted answer or None), so verl
can batch them as metrics. A response with no readable answer is simply wrong; no input raises or hangs (math-verify
runs under a hard process-level time limit, see reward/bounded.py): a non-string response or a missing ground truth
is scored wrong with a warning naming the row. An unknown `data_source` or verifier raises: nothing is scored
silently.
"""

from __future__ import annotations

import logging
from typing import Any

from reward.extract import last_boxed_answer, strict_boxed_answer
from reward.grading import grade_many
from reward.math_equal import DEFAULT_TIMEOUT_S, math_equal, math_verify_score
from reward.sources import BENCHMARKS, TRAIN_SOURCE

VERIFIERS = ("strict", "lenient", "math_verify")
logger = logging.getLogger(__name__)


def _result(score: float, acc: bool, pred: str | None) -> dict[str, Any]:
    return {"score": float(score), "acc": bool(acc), "pred": pred}


def _math_verify_correct(response: str, ground_truth: str, timeout_s: float) -> tuple[bool, str | None]:
    pred = last_boxed_answer(response)
    return (pred is not None and math_equal(pred, ground_truth, timeout_s=timeout_s)), pred


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: dict | None = None,
    verifier: str = "strict",
    verify_timeout_s: float = DEFAULT_TIMEOUT_S,
    **kwargs: Any,
) -> dict[str, Any]:
    """Score one response. Signature of verl's custom reward; extra kwargs come from `reward_kwargs`."""
    if data_source not in BENCHMARKS and data_source != TRAIN_SOURCE:
        raise ValueError(
            f"reward/score.py: unknown data_source {data_source!r}; known: {TRAIN_SOURCE!r} (training) and "
            f"{', '.join(BENCHMARKS)} (validation). Prepare data with data_prep/ so that rows carry one of these."
        )
    if verifier not in VERIFIERS:
        raise ValueError(f"reward_kwargs.verifier={verifier!r} is not one of {VERIFIERS}")
    wrong = _result(-1.0 if data_source == TRAIN_SOURCE else 0.0, False, None)
    answers = _answers(ground_truth)
    if not isinstance(solution_str, str) or not answers:
        row = (extra_info or {}).get("index", "?") if isinstance(extra_info, dict) else "?"
        logger.warning(
            "reward: %s row %s: response of type %s, ground truth %r: scored incorrect",
            data_source, row, type(solution_str).__name__, ground_truth,
        )  # fmt: skip
        return wrong
    first = None
    for answer in answers:
        result = _score_one(data_source, solution_str, answer, verifier, verify_timeout_s)
        if result["acc"]:
            return result
        first = first or result
    return first


def _answers(ground_truth: Any) -> list[str]:
    """The acceptable answers: one for a string or a number, each element of a list, tuple or array; none for a
    missing, empty or binary ground truth."""
    if ground_truth is None or isinstance(ground_truth, bytes):
        return []
    if hasattr(ground_truth, "tolist"):  # numpy arrays and scalars
        ground_truth = ground_truth.tolist()
    if isinstance(ground_truth, list | tuple):
        return [str(x) for x in ground_truth if x is not None and not isinstance(x, bytes)]
    return [str(ground_truth)]  # numbers from a loosely typed parquet


def _score_one(data_source: str, solution_str: str, ground_truth: str, verifier: str, verify_timeout_s: float):
    if data_source == TRAIN_SOURCE:
        if verifier == "strict":
            pred = strict_boxed_answer(solution_str)
            correct = pred == ground_truth
        elif verifier == "lenient":
            pred, correct, _ = grade_many([(solution_str, ground_truth)], "published", verify_timeout_s)[0]
        else:
            correct, pred = _math_verify_correct(solution_str, ground_truth, verify_timeout_s)
        return _result(1.0 if correct else -1.0, correct, pred)
    correct, pred = math_verify_score(solution_str, ground_truth, verify_timeout_s)
    return _result(1.0 if correct else 0.0, correct, pred)
