"""Generation throughput of eval's VLLMBackend against one bare `LLM.generate` call: the same requests (token-id
prompts, a seed each) on the same engine settings, side by side in one run. Run by hand, not collected by pytest:

    python tests/bench/vllm_generate_speed.py [--model DIR] [--requests 1024] [--max-new-tokens 128] [--rounds 2]

Without --model it builds the tiny test model (recipe/smoke/tiny_model.py), so it runs on CPU in the vLLM lane's
environment. Engine start-up is left out of both figures: the bare engine is timed from `generate` to its return,
the backend from the first request sent to the last output received (its engines are up once it is constructed).
Prints tokens/s of both, round by round, and the ratio of the medians; the target is >= 0.95.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time


def requests(tokenizer, count: int, seed: int = 0):
    from eval.backends import Request
    from eval.generate import prompt_ids

    return [Request(("bench", i, 0), prompt_ids(tokenizer, f"What is {i} + {i % 7}?"), seed + i) for i in range(count)]


def bare(settings: dict, reqs, sampling, rounds: int) -> list[tuple[int, float]]:
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    llm = LLM(**settings)
    prompts = [TokensPrompt(prompt_token_ids=r.prompt_ids) for r in reqs]
    params = [SamplingParams(temperature=sampling.temperature, top_p=sampling.top_p,
                             max_tokens=sampling.max_new_tokens, seed=r.seed) for r in reqs]  # fmt: skip
    results = []
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            outputs = llm.generate(prompts, params, use_tqdm=False)
            results.append((sum(len(o.outputs[0].token_ids) for o in outputs), time.perf_counter() - start))
    finally:
        llm.llm_engine.engine_core.shutdown()
    return results


def backend(model: str, max_model_len: int, reqs, sampling, rounds: int) -> list[tuple[int, float]]:
    from eval.backends import VLLMBackend

    results = []
    with VLLMBackend(model, max_model_len) as engines:
        for _ in range(rounds):
            start = time.perf_counter()
            tokens = sum(o.tokens for o in engines.generate(reqs, sampling))
            results.append((tokens, time.perf_counter() - start))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a Hugging Face model directory (default: the tiny test model, built here)")
    parser.add_argument("--requests", type=int, default=1024)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from transformers import AutoTokenizer

    from eval import protocol
    from eval.backends import Sampling, generation_engine, visible_devices

    model = args.model
    if model is None:
        from recipe.smoke.tiny_model import build_model

        model = tempfile.mkdtemp(prefix="bench-tiny-")
        build_model(model)
    tokenizer = AutoTokenizer.from_pretrained(model)
    reqs = requests(tokenizer, args.requests)
    sampling = Sampling(protocol.EVAL_TEMPERATURE, protocol.EVAL_TOP_P, args.max_new_tokens)
    max_model_len = max(len(r.prompt_ids) for r in reqs) + args.max_new_tokens
    device = visible_devices()[0]  # the bare engine on the backend's first device: the same settings as its engines
    settings = generation_engine(device, model, max_model_len)

    rows = {"bare LLM.generate": bare(settings, reqs, sampling, args.rounds),
            "VLLMBackend": backend(model, max_model_len, reqs, sampling, args.rounds)}  # fmt: skip
    print(f"\n{args.requests} requests x up to {args.max_new_tokens} tokens on {device}, {model}")
    medians = {}
    for name, results in rows.items():
        rates = [tokens / seconds for tokens, seconds in results]
        medians[name] = statistics.median(rates)
        rounds = ", ".join(f"{tokens} tok in {seconds:.2f} s" for tokens, seconds in results)
        print(f"{name:<18} {medians[name]:>10,.0f} tokens/s  ({rounds})")
    print(f"ratio VLLMBackend / bare: {medians['VLLMBackend'] / medians['bare LLM.generate']:.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()
