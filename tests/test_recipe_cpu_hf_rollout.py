"""The hf rollout's sampling (recipe/cpu/hf_rollout.py) on the tiny model, its server driven as verl's agent loop
drives it (token ids in, token ids out): one model with one seed gives the same responses to the same requests however
they arrive and are batched, so every arm of a study validates the base model identically; its draws follow the
model's distribution after temperature and top-k, and the log-probs it reports are those of that distribution."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
import torch

PARAMS = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "logprobs": True}


@pytest.fixture(scope="module")
def prompts(tiny_tokenizer) -> list[list[int]]:
    return [tiny_tokenizer.encode(q) for q in ("12+34=", "7+8=", "50+25=")]


def server(tiny_model_dir: str, seed: int):
    from verl.workers.config import RolloutConfig

    from recipe.cpu.hf_rollout import HFRolloutServer

    config = RolloutConfig(name="hf", prompt_length=16, response_length=12, seed=seed)
    return HFRolloutServer(config, {"path": tiny_model_dir})


def responses(srv, requests: list[list[int]], params: dict, together: bool = True) -> list:
    async def send():
        if together:
            return await asyncio.gather(*(srv.generate(p, params, "id") for p in requests))
        return [await srv.generate(p, params, "id") for p in requests]

    return asyncio.run(send())


def by_prompt(requests: list[list[int]], outputs: list) -> dict[tuple, Counter]:
    """Each prompt's responses, as a multiset (a prompt's samples are exchangeable)."""
    table: dict[tuple, Counter] = {}
    for prompt, out in zip(requests, outputs, strict=True):
        table.setdefault(tuple(prompt), Counter())[tuple(out.token_ids)] += 1
    return table


def test_one_model_and_seed_answer_the_same_requests_alike_however_they_are_batched(tiny_model_dir, prompts):
    requests = [p for p in prompts for _ in range(6)]  # a validation: every prompt n times
    together = by_prompt(requests, responses(server(tiny_model_dir, 1), requests, PARAMS))
    backwards = list(reversed(requests))  # another arrival order, one request a batch
    alone = by_prompt(backwards, responses(server(tiny_model_dir, 1), backwards, PARAMS, together=False))
    assert together == alone
    assert sum(len(c) for c in together.values()) > len(prompts)  # it samples: not one response a prompt
    other_seed = by_prompt(requests, responses(server(tiny_model_dir, 2), requests, PARAMS))
    assert other_seed != together
    srv = server(tiny_model_dir, 1)
    asyncio.run(srv.set_global_steps(5))  # another step numbers its samples afresh, with other draws
    assert by_prompt(requests, responses(srv, requests, PARAMS)) != together


@pytest.mark.parametrize(("temperature", "top_k"), [(1.0, -1), (0.6, 5)])
def test_its_draws_follow_the_models_distribution_and_carry_their_log_probs(
    tiny_model_dir, prompts, temperature, top_k
):
    from transformers import AutoModelForCausalLM

    prompt, draws = prompts[0], 3000
    params = {**PARAMS, "temperature": temperature, "top_k": top_k, "max_tokens": 1}
    outputs = responses(server(tiny_model_dir, 0), [prompt] * draws, params)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    with torch.no_grad():
        logits = model(torch.tensor([prompt])).logits[0, -1] / temperature
    if top_k > 0:  # keep the k likeliest tokens
        logits = logits.masked_fill(logits < logits.topk(top_k).values[-1], -float("inf"))
    want = logits.log_softmax(-1)
    seen = Counter(out.token_ids[0] for out in outputs)
    observed = torch.tensor([seen[t] for t in range(len(want))], dtype=torch.float64).cumsum(0) / draws
    distance = (observed - want.double().exp().cumsum(0)).abs().max().item()
    assert distance < 1.63 / draws**0.5, distance  # Kolmogorov-Smirnov at 1% (conservative for discrete draws)
    assert set(seen) <= {t for t in range(len(want)) if want[t] > -float("inf")}
    for out in outputs[:50]:
        assert out.log_probs[0] == pytest.approx(want[out.token_ids[0]].item(), abs=1e-5)
