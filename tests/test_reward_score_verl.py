"""The reward through verl's own reward loop: config -> loader -> DAPO manager -> token-level scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import verl_config
from verl import DataProto
from verl.experimental.reward_loop.reward_loop import RewardLoopWorker
from verl.trainer.ppo.reward import load_reward_manager


@pytest.fixture
def reward_config(tiny_model_dir):
    return verl_config(
        "reward.reward_manager.name=dapo",
        "reward.custom_reward_function.path=pkg://reward.score",
        "reward.custom_reward_function.name=compute_score",
        f"actor_rollout_ref.model.path={tiny_model_dir}",
    )


def make_batch(tokenizer, responses: list[str], ground_truths: list[str], sources: list[str], resp_len: int = 48):
    """A left-padded prompt + right-padded response batch shaped as verl's rollout hands it to the reward."""
    prompt_len = 8
    prompts, resps, masks = [], [], []
    for text in responses:
        p = tokenizer("What is 3+4?")["input_ids"][-prompt_len:]
        r = tokenizer(text)["input_ids"][:resp_len]
        pad = tokenizer.pad_token_id
        prompts.append([pad] * (prompt_len - len(p)) + p)
        resps.append(r + [pad] * (resp_len - len(r)))
        masks.append([0] * (prompt_len - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (resp_len - len(r)))
    prompts_t, resps_t = torch.tensor(prompts), torch.tensor(resps)
    return DataProto.from_dict(
        tensors={
            "prompts": prompts_t,
            "responses": resps_t,
            "input_ids": torch.cat([prompts_t, resps_t], dim=1),
            "attention_mask": torch.tensor(masks),
        },
        non_tensors={
            "data_source": np.array(sources, dtype=object),
            "reward_model": np.array([{"ground_truth": g, "style": "rule"} for g in ground_truths], dtype=object),
            "extra_info": np.array([{"index": i} for i in range(len(responses))], dtype=object),
        },
    )


def test_dapo_manager_loads_our_compute_score(reward_config, tiny_tokenizer):
    manager = load_reward_manager(reward_config, tiny_tokenizer)
    assert type(manager).__name__ == "DAPORewardManager"
    batch = make_batch(tiny_tokenizer, ["so \\boxed{7}"], ["7"], ["math_dapo"])
    out = manager.loop.run_until_complete(manager.run_single(batch[0:1]))
    assert out["reward_score"] == 1.0
    assert out["reward_extra_info"] == {"score": 1.0, "acc": True, "pred": "7"}


def test_scores_land_on_the_last_valid_response_token(reward_config, tiny_tokenizer):
    responses = ["so \\boxed{7}", "I guess \\boxed{8}", "no idea", "\\boxed{\\frac{1}{2}}"]
    ground_truths = ["7", "7", "7", "0.5"]
    sources = ["math_dapo", "math_dapo", "math_dapo", "AIME24"]
    batch = make_batch(tiny_tokenizer, responses, ground_truths, sources)

    worker = RewardLoopWorker(reward_config)  # verl's reward-loop worker, run in-process instead of as a Ray actor
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(batch))
    scores = [o["reward_score"] for o in outputs]
    assert scores == [1.0, -1.0, -1.0, 1.0]

    rm_scores = type(worker.reward_manager).assemble_rm_scores(batch, scores)
    response_lengths = [len(tiny_tokenizer(r)["input_ids"]) for r in responses]
    for i, length in enumerate(response_lengths):
        expected = torch.zeros(rm_scores.shape[1])
        expected[length - 1] = scores[i]
        assert torch.equal(rm_scores[i], expected), i


def test_lenient_switch_reaches_the_function_through_reward_kwargs(tiny_model_dir, tiny_tokenizer):
    config = verl_config(
        "reward.reward_manager.name=dapo",
        "reward.custom_reward_function.path=pkg://reward.score",
        "+reward.custom_reward_function.reward_kwargs.verifier=lenient",
        f"actor_rollout_ref.model.path={tiny_model_dir}",
    )
    manager = load_reward_manager(config, tiny_tokenizer)
    batch = make_batch(tiny_tokenizer, ["\\boxed{7.0}"], ["7"], ["math_dapo"])  # strict: -1, lenient: +1
    assert manager.loop.run_until_complete(manager.run_single(batch[0:1]))["reward_score"] == 1.0
