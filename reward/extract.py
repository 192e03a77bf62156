"""Answer extraction, shared by the training reward and the offline evaluation.

Two readings of a response:
- `strict_boxed_answer`: JustRL's training verifier. Only the last 100 characters are read (the reward first cuts
  the response to its last 300, then the verifier to the last 100 of those), and only the last `\\boxed{` there
  counts; if its braces do not balance inside the window there is no answer. This is upstream verl's
  `math_dapo.is_correct_strict_box`, which is what JustRL trained with; we call verl's own helpers.
- `last_boxed_answer`: the whole response, the last balanced `\\boxed{...}` (or `\\fbox{...}`, or `\\boxed x`),
  as rule graders for evaluation read it.

Both return the content without the box, or None when there is no answer. Neither raises on any string.
"""

from __future__ import annotations

from verl.utils.reward_score.math_dapo import last_boxed_only_string, remove_boxed

STRICT_REWARD_WINDOW = 300  # verl's math_dapo.compute_score: solution_str[-300:]
STRICT_VERIFY_WINDOW = 100  # verl's math_dapo.is_correct_strict_box: pred[-100:]


def strict_boxed_answer(response: str) -> str | None:
    """The answer JustRL's strict verifier reads: last balanced `\\boxed{}` within the last 100 characters."""
    window = response[-STRICT_REWARD_WINDOW:][-STRICT_VERIFY_WINDOW:]
    boxed = last_boxed_only_string(window)
    return remove_boxed(boxed) if boxed is not None else None


def _balanced_from(text: str, open_idx: int) -> str | None:
    """Content of the brace group opening at `text[open_idx] == '{'`, or None if it never closes."""
    depth = 0
    for i in range(open_idx, len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[open_idx + 1 : i]
    return None


def last_boxed_answer(response: str) -> str | None:
    """The content of the last `\\boxed{...}` / `\\fbox{...}` / `\\boxed x` in the whole response, or None.

    The last command wins by position; an unbalanced last box gives None (no fallback to an earlier box), as in
    the strict reading.
    """
    idx = max(response.rfind("\\boxed"), response.rfind("\\fbox"))
    if idx < 0:
        return None
    rest_at = idx + (len("\\boxed") if response.startswith("\\boxed", idx) else len("\\fbox"))
    if response.startswith(" ", rest_at):  # `\boxed 5`: the token up to the next space or `$`
        token = response[rest_at + 1 :].split("$", 1)[0].split(None, 1)
        return token[0] if token else None
    if response.startswith("{", rest_at):
        return _balanced_from(response, rest_at)
    return None
