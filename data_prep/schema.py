"""verl's row schema (`data_source`, `prompt`, `ability`, `reward_model`, `extra_info`) with JustRL's prompt."""

from __future__ import annotations

from data_prep.protocol import TRAIN_PROMPT_SUFFIX


class DataError(ValueError):
    """Bad input data: the message names the file, and the column or row."""


def user_prompt(content: str, suffix: str = TRAIN_PROMPT_SUFFIX) -> list[dict[str, str]]:
    """verl's `prompt` column: one user message carrying JustRL's boxed-answer instruction (or another `suffix`)."""
    return [{"content": content + suffix, "role": "user"}]


def verl_row(
    data_source: str, content: str, ground_truth: str, ability: str, extra_info: dict, suffix: str = TRAIN_PROMPT_SUFFIX
) -> dict:
    return {
        "data_source": data_source,
        "prompt": user_prompt(content, suffix),
        "ability": ability,
        "reward_model": {"ground_truth": ground_truth, "style": "rule"},
        "extra_info": extra_info,
    }


def first_user_content(source: str, row: int, messages) -> str:
    """The content of the first user message of a `prompt` cell, or a DataError naming the row."""
    for message in messages or ():
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if not isinstance(content, str):
                raise DataError(f"{source}: row {row}: column 'prompt' user content is {type(content).__name__}")
            return content
    raise DataError(f"{source}: row {row}: column 'prompt' has no user message")
