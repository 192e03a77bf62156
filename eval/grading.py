"""Rule grading of one response against a ground truth, hang-free.

The answer is read with the same extraction module as the training reward (`reward.extract.last_boxed_answer`:
the last boxed answer of the whole response). It is correct if it equals the ground truth after the Hendrycks MATH
normalisation (verl's `math_reward.is_equiv`, the published rule grader's first test) or if math-verify finds the
two equivalent (`reward.math_equal`), which accepts forms the published grader rejects (unreduced fractions,
reordered sets, `25\\%` vs `0.25`). Every check that needs normalisation or SymPy runs in a worker process under a
hard time limit; an answer that runs out of time is counted incorrect.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from verl.utils.reward_score.math_reward import is_equiv

from reward.bounded import bounded_decide
from reward.extract import last_boxed_answer
from reward.math_equal import DEFAULT_TIMEOUT_S, math_equal_unbounded

_INTEGER = re.compile(r"-?\d+")


def _decided_here(answer: str | None, ground_truth: str) -> bool | None:
    """The verdicts that need no worker: no answer, an identical answer, two different integer literals."""
    if answer is None:
        return False
    if answer == ground_truth:
        return True
    if _INTEGER.fullmatch(answer) and _INTEGER.fullmatch(ground_truth):
        return int(answer) == int(ground_truth)
    return None


def equivalent(answer: str, ground_truth: str) -> bool:
    """Normalised string equality or math-verify equivalence, with no time limit; run it through `grade_many`."""
    return bool(is_equiv(answer, ground_truth) or math_equal_unbounded(answer, ground_truth))


def grade_many(
    pairs: Iterable[tuple[str, str]], timeout_s: float = DEFAULT_TIMEOUT_S, workers: int | None = None
) -> list[tuple[str | None, bool, bool]]:
    """(answer, correct, timed_out) for each (response, ground truth), in parallel over `workers` processes.

    The answer is extracted here (a linear scan) and trivial verdicts are taken here; only the bare answers that
    need normalisation or SymPy go to the time-limited workers."""
    items = []
    for response, ground_truth in pairs:
        answer = last_boxed_answer(response)
        items.append((None if answer is None else answer.strip(), ground_truth))
    verdicts = bounded_decide(items, _decided_here, equivalent, timeout_s, workers)
    return [(answer, ok, timed_out) for (answer, _), (ok, timed_out) in zip(items, verdicts, strict=True)]


def is_correct(response: str, ground_truth: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> bool:
    """Whether the response's final boxed answer is correct, decided within `timeout_s` seconds (else False)."""
    return grade_many([(response, ground_truth)], timeout_s)[0][1]
