"""math-verify checks under a hard process-level time limit (reward/bounded.py).

- `math_equal`: symbolic equivalence of two bare answers (the lenient verifier, evaluation's rule grader).
- `math_verify_score`: the published in-training validation score, verl 0.4's `math_verify.compute_score`: math-verify's
  `math_metric` with the ground truth boxed and extracted as LaTeX, and the prediction extracted from the *whole*
  response as an expression or LaTeX (so an unboxed final answer such as "The answer is 204." can count).

Nothing here raises on any pair of strings; a check that times out counts as not equivalent.
"""

from __future__ import annotations

from collections.abc import Iterable

from reward.bounded import bounded_decide, bounded_map

DEFAULT_TIMEOUT_S = 5.0  # hard limit for one check (the published grader had none and could hang)
REWARD_WORKERS = 4  # per calling process: verl runs several reward workers, each with its own pool


def _boxed(answer: str) -> str:
    # math-verify's LaTeX extractor reads a boxed expression first; boxing both sides lets plain numbers, LaTeX and
    # text answers go through the same path.
    return "\\boxed{" + answer + "}"


def math_equal_unbounded(pred: str, gold: str) -> bool:
    """math-verify equivalence of two bare answers, in this process, with no time limit. Prefer `math_equal`."""
    from math_verify import parse, verify

    try:
        gold_parsed = parse(_boxed(gold), parsing_timeout=None)
        pred_parsed = parse(_boxed(pred), parsing_timeout=None)
        if not gold_parsed or not pred_parsed:
            return False
        return bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))
    except ImportError:  # a broken installation is an error, never a verdict
        raise
    except Exception:  # math-verify and SymPy raise many types on odd input; an unparseable answer is wrong
        return False


def math_verify_score_unbounded(response: str, ground_truth: str) -> tuple[bool, str | None]:
    """(correct, last extracted prediction) as verl 0.4's `math_verify.compute_score` decided it, with math-verify's
    own timeouts and no hard limit: run it through `math_verify_score`."""
    from math_verify.errors import TimeoutException
    from math_verify.metric import math_metric
    from math_verify.parser import ExprExtractionConfig, LatexExtractionConfig

    verify = math_metric(
        gold_extraction_target=(LatexExtractionConfig(),),
        pred_extraction_target=(ExprExtractionConfig(), LatexExtractionConfig()),
    )
    try:
        score, extracted = verify([_boxed(ground_truth)], [response])
    except (Exception, TimeoutException):  # verl 0.4 scored any error and math-verify's own timeout as 0
        return False, None
    predictions = extracted[1] if extracted else []
    return score > 0, (predictions[-1] if predictions else None)


def math_verify_score(
    response: str, ground_truth: str, timeout_s: float = DEFAULT_TIMEOUT_S
) -> tuple[bool, str | None]:
    """`math_verify_score_unbounded` under a hard limit of `timeout_s` seconds; a timeout is (False, None)."""
    (out,) = bounded_map(math_verify_score_unbounded, [(response, ground_truth)], timeout_s, REWARD_WORKERS)
    return out.value if out.status == "ok" else (False, None)


def math_equal_many(
    pairs: Iterable[tuple[str, str]], timeout_s: float = DEFAULT_TIMEOUT_S, workers: int | None = None
) -> list[bool]:
    """`math_equal` over many (pred, gold) pairs in parallel; one result per pair, in order."""
    results = bounded_decide(pairs, _identical, math_equal_unbounded, timeout_s, workers or REWARD_WORKERS)
    return [ok for ok, _ in results]  # a timeout or an error is "not shown equivalent"


def _identical(pred: str, gold: str) -> bool | None:
    return True if pred == gold else None  # exact matches need no SymPy


def math_equal(pred: str, gold: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> bool:
    """Whether math-verify finds `pred` equivalent to `gold` within `timeout_s` seconds (hard limit)."""
    return math_equal_many([(pred, gold)], timeout_s=timeout_s)[0]
