"""eval.model_verifier without a GPU: the official template pinned to the published text, prompts rendered as the
protocols say, outputs read as published (exactly "A"), and eval.grade handing the verifier what it should."""

from __future__ import annotations

import hashlib
import json

import pytest

from eval.grade import main as grade
from eval.model_verifier import (
    COMPASS_VERIFIER_TEMPLATE,
    DEFAULT_MODEL,
    MAX_TOKENS,
    chat_requests,
    judged_correct,
    verifier_prompt,
)
from eval.store import read_records

# SHA-256 of CV_PROMPT in CompassVerifier's src/prompts.py (open-compass/CompassVerifier, the template the model was
# trained with), which is also, byte for byte, the CV_PROMPT of the published JustRL evaluation (evals/grade.py).
OFFICIAL_SHA256 = "aee9c27520639ca543f0b5077164dc32c1976be0f16c87bee7055f3b7ba45e72"


def test_the_template_is_compass_verifiers_official_one_character_for_character():
    assert hashlib.sha256(COMPASS_VERIFIER_TEMPLATE.encode()).hexdigest() == OFFICIAL_SHA256
    assert len(COMPASS_VERIFIER_TEMPLATE) == 2709
    assert COMPASS_VERIFIER_TEMPLATE.count("\n6. If the candidate's answer is invalid") == 1  # six criteria
    assert "A: CORRECT \nB: INCORRECT\nC: INVALID\n" in COMPASS_VERIFIER_TEMPLATE


def test_the_rendered_prompt_puts_question_gold_and_whole_response_in_their_places():
    response = "x" * 20_000 + " so \\boxed{\\frac{1}{2}}"
    prompt = verifier_prompt("What is 1/2?", "0.5", response)
    assert "<Original Question Begin>:\nWhat is 1/2?\n<Original Question End>" in prompt
    assert "<Standard Answer Begin>:\n0.5\n<Standard Answer End>" in prompt
    assert f"<Candidate's Answer Begin>: \n{response}\n<Candidate's Answer End>" in prompt  # whole, not a tail
    assert prompt.endswith("Judging the correctness of the candidate's answer:\n")
    assert "\\boxed{}" in prompt  # the template's own doubled braces render as one pair
    assert chat_requests([("q", "g", "r")]) == [[{"role": "user", "content": verifier_prompt("q", "g", "r")}]]


@pytest.mark.parametrize(
    ("output", "correct"),
    [("A", True), (" A\n", True), ("B", False), ("C", False), ("A: CORRECT", False), ("a", False), ("", False)],
)
def test_only_an_exact_a_is_correct(output, correct):
    assert judged_correct(output) is correct


def test_greedy_and_the_published_token_budget():
    assert (DEFAULT_MODEL, MAX_TOKENS) == ("opencompass/CompassVerifier-3B", 2048)


class RecordedVerifier:
    """Stands in for the vLLM engine: records what it is asked and answers with recorded verifier outputs."""

    model = DEFAULT_MODEL

    def __init__(self, outputs: list[str]):
        self.outputs, self.asked = outputs, []

    def judge(self, items):
        self.asked += items
        return [judged_correct(self.outputs[len(self.asked) - len(items) + i]) for i in range(len(items))]


@pytest.mark.parametrize(("protocol", "question"), [("published", ""), ("lenient", "What is 1/2?")])
def test_rejected_responses_go_to_the_verifier_as_the_protocol_says(tmp_path, monkeypatch, protocol, question):
    (tmp_path / "generations").mkdir()
    responses = ["so \\boxed{0.5}", "I think it is one half", "so \\boxed{7}"]
    (tmp_path / "generations" / "AIME24.jsonl").write_text("".join(
        json.dumps({"benchmark": "AIME24", "index": i, "sample": 0, "problem": "What is 1/2?", "ground_truth": "1/2",
                    "response": r}) + "\n" for i, r in enumerate(responses)))  # fmt: skip
    verifier = RecordedVerifier(["A", "B"])  # recorded outputs for the two rule-rejected responses
    monkeypatch.setattr("eval.model_verifier.ModelVerifier", lambda model: verifier)
    assert grade(["--input-dir", str(tmp_path), "--protocol", protocol, "--model-verifier", DEFAULT_MODEL]) == 0
    assert verifier.asked == [(question, "1/2", responses[1]), (question, "1/2", responses[2])]
    grades = list(read_records(tmp_path / "grades" / "AIME24.jsonl"))
    assert [(g["correct"], g["by"]) for g in grades] == [(True, "rule"), (True, "model"), (False, None)]
    assert {g["verifier"] for g in grades} == {DEFAULT_MODEL}
