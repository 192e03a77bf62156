"""The model verifier end to end on CPU (the vLLM lane, tests/vllm_lane.sh): `eval.grade --model-verifier` with a tiny
local model standing in for CompassVerifier-3B, taught to answer the published prompt of two rule-rejected responses
("A" for one, "B" for the other). Its verdicts reach the grades only if the prompt is rendered as published (the
official template, an empty question, the verifier's chat template), decoded greedily and read as the protocol
says."""

from __future__ import annotations

import json

import pytest

from eval.generate import chat_ids
from eval.grade import main as grade
from eval.model_verifier import chat_requests
from eval.store import read_records

pytest.importorskip("vllm", reason="the vLLM lane's environment (tests/vllm_lane.sh)")
pytestmark = pytest.mark.vllm_lane

GOLD = "1/2"
RESPONSES = ["so \\boxed{0.5}", "I think it is one half", "so \\boxed{7}"]  # rule: correct, rejected, rejected
TAUGHT = {RESPONSES[1]: "A", RESPONSES[2]: "B"}  # what the stand-in verifier says of the two rejected ones


@pytest.fixture(scope="module")
def stand_in_verifier(tmp_path_factory) -> str:
    from recipe.smoke.tiny_model import build_model, teach

    out = tmp_path_factory.mktemp("verifier")
    model, tokenizer = build_model(out, seed=3)
    model.config.max_position_embeddings = 8192  # the official template alone is ~2,000 of its tokens
    examples = []
    for response, verdict in TAUGHT.items():
        ids = chat_ids(tokenizer, chat_requests([("", GOLD, response)])[0])  # the published protocol's rendering
        examples.append((ids, tokenizer(verdict, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]))
    teach(model, examples, steps=80, seed=3)
    model.save_pretrained(out)
    return str(out)


def test_rejected_responses_are_judged_by_the_verifier_model_and_the_grades_say_so(stand_in_verifier, tmp_path):
    (tmp_path / "generations").mkdir()
    (tmp_path / "generations" / "AIME24.jsonl").write_text("".join(
        json.dumps({"benchmark": "AIME24", "index": i, "sample": 0, "problem": "What is 1/2?", "ground_truth": GOLD,
                    "response": r}) + "\n" for i, r in enumerate(RESPONSES)))  # fmt: skip
    assert grade(["--input-dir", str(tmp_path), "--protocol", "published", "--model-verifier", stand_in_verifier]) == 0
    grades = {g["index"]: g for g in read_records(tmp_path / "grades" / "AIME24.jsonl")}
    verdicts = [(grades[i]["correct"], grades[i]["by"]) for i in range(3)]
    assert verdicts == [(True, "rule"), (True, "model"), (False, None)]
    assert {g["verifier"] for g in grades.values()} == {stand_in_verifier}
    assert {g["protocol"] for g in grades.values()} == {"published"}
