"""recipe/smoke/tiny_model.py and toy_task.py: a tokenizer that tokenises alike in memory and from disk, and a cached
base model for each toy task, answering with the task's mix."""

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


@pytest.fixture(scope="module", params=toy_task.TASKS)
def base_model(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("base") / "model"
    how = toy_task.cached_base_model(out, task=request.param)
    return out, how, request.param


def answer_probabilities(model, tokenizer, prompt: str, answer: str) -> float:
    """The model's probability of `answer` then its end token, after the chat prompt (teacher-forced)."""
    ids = tokenizer.apply_chat_template(user_prompt(prompt), add_generation_prompt=True)
    ids = list(ids["input_ids"] if hasattr(ids, "keys") else ids)
    target = tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    with torch.no_grad():
        logp = model(torch.tensor([ids + target])).logits[0, len(ids) - 1 : -1].log_softmax(-1)
    return logp.gather(-1, torch.tensor(target)[:, None]).sum().exp().item()


def test_the_base_model_answers_with_its_tasks_mix(base_model):
    """carry: always boxed, the right sum about 3 times in 10 and the carry wrong otherwise; format: every sum right,
    boxed about 1 time in 4 and `Answer: c` otherwise. Either way the task's answers hold nearly all the probability."""
    model_dir, _, task = base_model
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    first, together = [], []
    for a, b in toy_task.PROBLEMS:
        probs = [answer_probabilities(model, tokenizer, toy_task.problem(a, b), text)
                 for text, _ in toy_task.answers(task, a, b)]  # fmt: skip
        first.append(probs[0])
        together.append(sum(probs))
    share = toy_task.answers(task, 0, 0)[0][1]
    assert abs(sum(first) / len(first) - share) < 0.1
    assert sum(together) / len(together) >= toy_task.CONFIDENCE - 0.02
    if task == "carry":  # right or wrong, in the verifier's form: what RL has to learn is the sum
        assert all(
            text.startswith("\\boxed{") for a, b in toy_task.PROBLEMS for text, _ in toy_task.answers(task, a, b)
        )
        assert (
            toy_task.answers(task, 7, 8)[1][0] == "\\boxed{5}" and toy_task.answers(task, 3, 4)[1][0] == "\\boxed{17}"
        )


def test_the_base_model_is_built_once_and_reused_by_its_hash(base_model, tmp_path):
    _, how, task = base_model
    assert how.startswith(("built in", "reused"))
    assert toy_task.cached_base_model(tmp_path / "again", task=task).startswith("reused")
    assert (tmp_path / "again" / "config.json").is_file()
    assert toy_task.base_model_key(0, task) == toy_task.base_model_key(0, task) != toy_task.base_model_key(1, task)
    assert toy_task.base_model_key(0, "carry") != toy_task.base_model_key(0, "format")
    with pytest.raises(ValueError, match="unknown toy task 'sums'; known: carry, format"):
        toy_task.cached_base_model(tmp_path / "none", task="sums")
