"""Rule grading of responses against ground truths under a named protocol, hang-free.

Protocols (recorded in every grade and in the report's title):
- `published` (default): the published evaluation's rule grader. The answer is the last `\\boxed{...}` of the
  response as the published scripts read it (`reward.extract.published_boxed_answer`), the ground truth stripped
  and unboxed if boxed; correct if the Hendrycks/MATH normalisations agree or SymPy finds the difference zero: the
  PRM800K `grade_answer` that DeepScaleR ships, which `mathruler.grader.grade_answer` (installed with verl) is.
  tests/data/published_grader_verdicts.json holds the published grader's own verdicts, which this reproduces.
- `lenient` (ours): the training reward's reading of the last box (`reward.extract.last_boxed_answer`, which also
  takes `\\fbox{}` and `\\boxed x`), correct if the published grader or math-verify accepts it (unreduced
  fractions, reordered sets, ...). Its model verifier also sees the question.

Exact decisions are taken in this process before any SymPy work: no answer, the same string, the normalised strings
(cached), tuple shapes, reduced fractions, integers; answers no SymPy check settles (factorials of huge numbers,
nesting past Python's parser limit) are screened as incorrect, the verdict the time-limited check reaches (the
published grader's own guards already refuse exponent towers). Only what needs SymPy goes to worker processes, under
a hard limit per check (5 s), each distinct pair once. A check that runs out of time is incorrect and recorded as a
timeout; one that raised is recorded as an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from reward.bounded import bounded_decide
from reward.extract import last_boxed_answer, published_boxed_answer
from reward.math_equal import DEFAULT_TIMEOUT_S, math_equal_unbounded

PROTOCOLS = ("published", "lenient")
LOCAL_MAX_CHARS = 2_000  # longer answers are normalised in a worker, under the time limit
_PLAIN_INTEGER = re.compile(r"-?\d{1,300}")
# What no SymPy check settles: the factorial of a number of 5+ digits runs past any limit, and Python's parser,
# which SymPy's uses, rejects expressions nested 200 deep (the published grader then answers "not equal").
_HUGE_FACTORIAL = re.compile(r"\d{5,}\s*!")
# a^b^c (right-associative, `**` or `^`, braces or not) whose exponent b^c exceeds 10^5: no result in time.
_POWER_TOWER = re.compile(r"(\d+)\s*(?:\*\*|\^)\s*\{?\s*(\d+)\s*(?:\*\*|\^)\s*\{?\s*(\d+)")
PARSER_MAX_NESTING = 199  # with the "(truth)-(given)" SymPy wraps around it, 200


def unsafe_for_sympy(text: str) -> bool:
    """Whether every SymPy check of `text` ends in a timeout or an error, i.e. "not equivalent"."""
    if _HUGE_FACTORIAL.search(text) or _nesting(text) >= PARSER_MAX_NESTING:
        return True
    for base, exponent_base, exponent_power in _POWER_TOWER.findall(text):
        if int(base) > 1 and int(exponent_base) > 1 and int(exponent_power) * math.log10(int(exponent_base)) > 5:
            return True
    return False


class Grade(NamedTuple):
    answer: str | None
    correct: bool
    how: str  # "here" (decided in this process), "checked" (in a worker), "timeout", or "error: ..."

    @property
    def timed_out(self) -> bool:
        return self.how == "timeout"


def published_ground_truth(ground_truth: str) -> str:
    """The ground truth as the published grader compared it: stripped, and unboxed if it holds a box."""
    ground_truth = ground_truth.strip()
    if "\\boxed" in ground_truth:
        return published_boxed_answer(ground_truth) or ""
    return ground_truth


_BRACKETS = re.compile(r"[()\[\]]")


def _nesting(text: str) -> int:
    depth = deepest = 0
    for bracket in _BRACKETS.finditer(text):
        depth += 1 if bracket.group() in "([" else -1
        deepest = max(deepest, depth)
    return deepest


@lru_cache(maxsize=65_536)
def _normalized(text: str) -> tuple[str | None, str | None]:
    """(mathd normalisation, PRM800K normalisation) of an answer: the two strings `grade_answer` compares."""
    from mathruler.grader import _normalize
    from mathruler.math_normalize import normalize_answer

    return normalize_answer(text), _normalize(text)


def _published_here(given: str | None, truth: str) -> bool | None:
    """`mathruler.grader.grade_answer(given, truth)` where it is decided without SymPy, else None."""
    from mathruler.grader import _is_frac, _str_is_int, split_tuple

    if given is None or not truth:
        return False
    if given == truth:
        return True
    if len(given) > LOCAL_MAX_CHARS or len(truth) > LOCAL_MAX_CHARS:
        # Too long to normalise here. Only one kind is settled anyway: nesting past Python's parser limit survives
        # both normalisations (they keep brackets), so it cannot equal a short ground truth, and SymPy cannot parse it.
        return False if len(truth) <= LOCAL_MAX_CHARS and _nesting(given) >= PARSER_MAX_NESTING else None
    (truth_mathd, truth_norm), (given_mathd, given_norm) = _normalized(truth), _normalized(given)
    if truth_mathd == given_mathd:
        return True
    if truth_norm is None:
        return False
    if truth_norm == given_norm:
        return True
    if len(given_norm) == 0:
        return False
    truth_elems, given_elems = split_tuple(truth_norm), split_tuple(given_norm)
    if len(truth_elems) > 1 and (truth_norm[0] != given_norm[0] or truth_norm[-1] != given_norm[-1]):
        return False
    if len(truth_elems) != len(given_elems):
        return False
    verdict: bool | None = True
    for truth_elem, given_elem in zip(truth_elems, given_elems, strict=True):
        if _is_frac(truth_elem) and _is_frac(given_elem):
            ok = truth_elem == given_elem  # unreduced fractions are wrong, by design
        elif _str_is_int(truth_elem) != _str_is_int(given_elem):
            ok = False
        elif _PLAIN_INTEGER.fullmatch(truth_elem) and _PLAIN_INTEGER.fullmatch(given_elem):
            ok = int(truth_elem) == int(given_elem)  # what SymPy finds for two integer literals
        elif unsafe_for_sympy(given_elem) and not unsafe_for_sympy(truth_elem):
            ok = False
        else:
            ok = None  # needs SymPy
        if ok is False:
            return False
        if ok is None:
            verdict = None
    return verdict


def published_equivalent(given: str, truth: str) -> bool:
    """The published rule grader, with no time limit; run it through `grade_many`."""
    from mathruler.grader import grade_answer

    return bool(grade_answer(given, truth))


def lenient_equivalent(given: str, truth: str) -> bool:
    """The published rule grader or math-verify equivalence, with no time limit; run it through `grade_many`."""
    return published_equivalent(given, truth) or math_equal_unbounded(given, truth)


def _lenient_here(given: str | None, truth: str) -> bool | None:
    """True where the published grader accepts here; False with no answer or an answer no checker settles."""
    if given is None or _published_here(given, truth):
        return given is not None
    return False if unsafe_for_sympy(given) and not unsafe_for_sympy(truth) else None


_RULES = {
    "published": (published_boxed_answer, _published_here, published_equivalent),
    "lenient": (last_boxed_answer, _lenient_here, lenient_equivalent),
}


def grade_many(
    pairs: Iterable[tuple[str, str]],
    protocol: str = "published",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    workers: int | None = None,
) -> list[Grade]:
    """A `Grade` for each (response, ground truth) under `protocol`, checks in parallel over `workers` processes."""
    if protocol not in _RULES:
        raise ValueError(f"unknown grading protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    extract, decide_here, check = _RULES[protocol]
    items = []
    for response, ground_truth in pairs:
        answer = extract(response) if isinstance(response, str) else None
        truth = published_ground_truth(ground_truth) if isinstance(ground_truth, str) else ""
        items.append((answer, truth))
    unique = list(dict.fromkeys(items))  # each ground truth appears up to N times, often with the same answer
    verdicts = dict(zip(unique, bounded_decide(unique, decide_here, check, timeout_s, workers), strict=True))
    return [Grade(item[0], *verdicts[item]) for item in items]


def is_correct(
    response: str, ground_truth: str, protocol: str = "published", timeout_s: float = DEFAULT_TIMEOUT_S
) -> bool:
    """Whether the response's final answer is correct under `protocol`, decided within `timeout_s` seconds."""
    return grade_many([(response, ground_truth)], protocol, timeout_s)[0].correct
