"""recipe/smoke/tiny_model.py and toy_task.py: a tokenizer that tokenises alike in memory and from disk, and a cached
base model that knows the sums but writes the verifier's form only one time in four."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from data_prep.schema import user_prompt
from recipe.smoke import toy_task
from recipe.smoke.tiny_model import build_model, build_tokenizer

TEXTS = ["What is 3 + 4?", "\\boxed{15}", "Answer: 12", " 0 + 0 = 0 ", "ünïcode ✓ 42"]


def test_the_tokenizer_tokenises_alike_in_memory_and_loaded_from_a_model_directory(tmp_path):
    """From a directory with a Qwen2 config.json, AutoTokenizer builds transformers' Qwen2Tokenizer, with Qwen2's own
    split pattern; the tiny tokenizer is trained with that pattern, so the model is taught what verl will feed it."""
    alone = build_tokenizer(tmp_path / "tokenizer")
    model, returned = build_model(tmp_path / "model")
    loaded = AutoTokenizer.from_pretrained(tmp_path / "model")
    assert type(loaded).__name__ == "Qwen2Tokenizer"
    for text in TEXTS + [loaded.apply_chat_template(user_prompt(TEXTS[0]), add_generation_prompt=True, tokenize=False)]:
        want = loaded(text, add_special_tokens=False)["input_ids"]
        assert alone(text, add_special_tokens=False)["input_ids"] == want
        assert returned(text, add_special_tokens=False)["input_ids"] == want
        assert loaded.decode(want) == text


def test_the_toy_data_keeps_the_held_out_problems_out_of_training(tmp_path):
    toy_task.write_data(tmp_path)
    train = pq.read_table(tmp_path / "dapo_math_17k.parquet").to_pylist()
    held = pq.read_table(tmp_path / toy_task.HELD_OUT_FILE).to_pylist()
    assert len(train) == 80 and len(held) == 20
    assert {r["extra_info"]["split"] for r in train} == {"train"} and {r["extra_info"]["split"] for r in held} == {
        "test"
    }
    assert {r["data_source"] for r in train + held} == {"math_dapo"}  # both scored by the strict verifier
    assert not {r["prompt"][0]["content"] for r in train} & {r["prompt"][0]["content"] for r in held}


@pytest.fixture(scope="module")
def base_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("base") / "model"
    how = toy_task.cached_base_model(out)
    return out, how


def test_the_base_model_knows_the_sums_but_boxes_one_answer_in_four(base_model):
    model_dir, _ = base_model
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    boxed, right = [], []
    for a, b in toy_task.PROBLEMS:
        prompt = tokenizer.apply_chat_template(user_prompt(toy_task.problem(a, b)), add_generation_prompt=True)
        prompt = list(prompt["input_ids"] if hasattr(prompt, "keys") else prompt)
        opening = tokenizer("\\boxed{", add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            first = model(torch.tensor([prompt])).logits[0, -1].softmax(-1)
            after = model(torch.tensor([prompt + opening])).logits[0, -1].softmax(-1)
        boxed.append(first[opening[0]].item())
        right.append(after[tokenizer(str(a + b)[0], add_special_tokens=False)["input_ids"][0]].item())
    assert abs(sum(boxed) / len(boxed) - toy_task.BOXED_SHARE) < 0.1
    assert sum(right) / len(right) >= toy_task.CONFIDENCE - 0.02


def test_the_base_model_is_built_once_and_reused_by_its_hash(base_model, tmp_path):
    _, how = base_model
    assert how.startswith(("built in", "reused"))
    assert toy_task.cached_base_model(tmp_path / "again").startswith("reused")
    assert (tmp_path / "again" / "config.json").is_file()
    assert toy_task.base_model_key(0) == toy_task.base_model_key(0) != toy_task.base_model_key(1)
