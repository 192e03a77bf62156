"""Answer extraction, shared by the training reward and the offline evaluation.

Two readings of a response:
- `strict_boxed_answer`: JustRL's training verifier. Only the last 100 characters are read (the reward first cuts
  the response to its last 300, then the verifier to the last 100 of those), and only the last `\\boxed{` there
  counts; if its braces do not balance inside the window there is no answer. This is upstream verl's
  `math_dapo.is_correct_strict_box`, which is what JustRL trained with; we call verl's own helpers.
- `last_boxed_answer`: the whole response, the last balanced `\\boxed{...}` (or `\\fbox{...}`, or `\\boxed x`),
  as rule graders for evaluation read it (verl's `math_reward` helpers).
- `published_boxed_answer`: the published evaluation's reading: the last `\\boxed` of the whole response (or, if there
  is none, the last `\\fbox`), its braces balanced from there; an answer only if that span is `\\boxed{...}`. So
  `\\fbox{42}` and `\\boxed 42` give no answer, and a later `\\boxed 7` hides an earlier `\\boxed{5}`.

Both return the content without the box, or None when there is no answer. Neither raises on any string.

verl's two modules (`verl/utils/reward_score/math_dapo.py`, `math_reward.py`) import nothing but `re` and `typing`,
but importing them through their package runs `verl/__init__.py`, which imports torch, Ray and transformers: 6 s or
more before a data-prep or grading command could say anything. So, unless verl is already imported (as in verl's own
workers), they are loaded from verl's files on their own (`_verl_module`): the same code, without the package.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from types import ModuleType

from reward.verl_files import verl_dir


def _verl_module(name: str) -> ModuleType:
    """`verl.utils.reward_score.<name>`: imported when verl already is, otherwise loaded from its file alone."""
    full = f"verl.utils.reward_score.{name}"
    if "verl" in sys.modules:
        return importlib.import_module(full)
    path = verl_dir() / "utils" / "reward_score" / f"{name}.py"
    module_spec = importlib.util.spec_from_file_location(full, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


math_reward = _verl_module("math_reward")
_math_dapo = _verl_module("math_dapo")
last_boxed_only_string, remove_boxed = _math_dapo.last_boxed_only_string, _math_dapo.remove_boxed

_BRACES = re.compile(r"[{}]")
STRICT_REWARD_WINDOW = 300  # verl's math_dapo.compute_score: solution_str[-300:]
STRICT_VERIFY_WINDOW = 100  # verl's math_dapo.is_correct_strict_box: pred[-100:]


def strict_boxed_answer(response: str) -> str | None:
    """The answer JustRL's strict verifier reads: last balanced `\\boxed{}` within the last 100 characters."""
    window = response[-STRICT_REWARD_WINDOW:][-STRICT_VERIFY_WINDOW:]
    boxed = last_boxed_only_string(window)
    return remove_boxed(boxed) if boxed is not None else None


def last_boxed_answer(response: str) -> str | None:
    """The content of the last `\\boxed{...}` (or `\\boxed x`, or `\\fbox{...}`) of the whole response, or None.

    verl's `math_reward` extraction, the Hendrycks MATH convention that the published rule grader uses too; an
    unbalanced last box gives None.
    """
    boxed = math_reward.last_boxed_only_string(response)
    if boxed is None:
        return None
    if boxed.startswith("\\fbox{"):
        return boxed[len("\\fbox{") : -1]
    try:
        return math_reward.remove_boxed(boxed)
    except AssertionError:  # e.g. `\\boxedx{5}`: a command that only starts like a box
        return None


def published_boxed_answer(response: str) -> str | None:
    """The answer the published evaluation's rule grader read (see the module docstring), or None."""
    start = response.rfind("\\boxed")
    if start < 0:
        start = response.rfind("\\fbox")
        if start < 0:
            return None
    depth = 0
    for brace in _BRACES.finditer(response, start):
        if brace.group() == "{":
            depth += 1
            continue
        depth -= 1
        if depth == 0:  # only a closing brace ends the span
            span = response[start : brace.end()]
            return span[len("\\boxed{") : -1] if span.startswith("\\boxed{") else None
    return None
