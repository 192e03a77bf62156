"""reward.extract: the whole-response boxed-answer reading that evaluation shares with the reward."""

from __future__ import annotations

import pytest

from reward.extract import last_boxed_answer


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        ("so \\boxed{3}", "3"),
        ("\\fbox{4}", "4"),
        ("thus \\boxed 5$", "5"),
        ("\\boxed{1} and \\boxed{2", None),
        ("\\boxedx{5}", None),
        ("\\boxed", None),
        ("no answer", None),
    ],
)
def test_last_boxed_answer_reads_the_whole_response(response, answer):
    assert last_boxed_answer(response) == answer
