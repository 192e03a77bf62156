"""Generation backends: vLLM (default; one engine per visible GPU, data parallel) and transformers (`hf`, for CPU
runs and tests with tiny models). Both take (prompt token ids, seed) requests and return one sample per request, so
a sample depends only on its prompt and seed, never on batching or on which GPU ran it. Prompts travel as token ids
(the chat template applied once by the caller), so no backend adds a special token a second time."""

from __future__ import annotations

import os
import queue
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Sampling:
    temperature: float
    top_p: float
    max_new_tokens: int


@dataclass(frozen=True)
class Request:
    key: tuple[str, int, int]  # (benchmark, problem index, sample)
    prompt_ids: list[int]
    seed: int


@dataclass(frozen=True)
class Output:
    key: tuple[str, int, int]
    text: str
    tokens: int
    finish_reason: str  # "stop" (end token) or "length" (hit max_new_tokens)


class HFBackend:
    """transformers `generate()`, one request at a time, seeded per request."""

    def __init__(self, model: str):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model = AutoModelForCausalLM.from_pretrained(model, torch_dtype="auto").to(self.device).eval()

    def generate(self, requests: list[Request], sampling: Sampling) -> Iterator[Output]:
        eos = self.model.generation_config.eos_token_id or self.tokenizer.eos_token_id
        for request in requests:
            ids = self.torch.tensor([request.prompt_ids])
            self.torch.manual_seed(request.seed)
            with self.torch.no_grad():
                out = self.model.generate(
                    ids.to(self.device),
                    attention_mask=self.torch.ones_like(ids).to(self.device),
                    do_sample=sampling.temperature > 0,
                    temperature=sampling.temperature,
                    top_p=sampling.top_p,
                    top_k=0,
                    max_new_tokens=sampling.max_new_tokens,
                    eos_token_id=eos,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new = out[0, ids.shape[1] :].tolist()
            eos_ids = eos if isinstance(eos, list) else [eos]
            stopped = bool(new) and new[-1] in eos_ids
            yield Output(
                key=request.key,
                text=self.tokenizer.decode(new, skip_special_tokens=True),
                tokens=len(new),
                finish_reason="stop" if stopped else "length",
            )


def _vllm_worker(gpu: str, model: str, max_model_len: int, sampling: Sampling, inbox, outbox) -> None:
    os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    llm = LLM(model=model, max_model_len=max_model_len, enable_prefix_caching=True)
    while (chunk := inbox.get()) is not None:
        params = [
            SamplingParams(
                temperature=sampling.temperature, top_p=sampling.top_p, max_tokens=sampling.max_new_tokens, seed=r.seed
            )
            for r in chunk
        ]
        prompts = [TokensPrompt(prompt_token_ids=r.prompt_ids) for r in chunk]
        results = llm.generate(prompts, params, use_tqdm=False)
        outbox.put(
            [
                Output(r.key, res.outputs[0].text, len(res.outputs[0].token_ids), res.outputs[0].finish_reason or "")
                for r, res in zip(chunk, results, strict=True)
            ]
        )
    outbox.put(None)


class VLLMBackend:
    """One vLLM engine per visible GPU in its own process; chunks of requests go to whichever is free."""

    def __init__(self, model: str, max_model_len: int, chunk: int = 256):
        import importlib.util
        import multiprocessing as mp

        import torch

        if importlib.util.find_spec("vllm") is None:
            raise ImportError("vLLM is not installed (bash launch/install_gpu.sh on a GPU machine); or --backend hf")
        gpus = os.environ.get("CUDA_VISIBLE_DEVICES")
        self.gpus = gpus.split(",") if gpus else [str(i) for i in range(torch.cuda.device_count())]
        if not self.gpus:
            raise RuntimeError("--backend vllm needs a GPU; use --backend hf on CPU")
        self.mp, self.model, self.max_model_len, self.chunk = mp.get_context("spawn"), model, max_model_len, chunk

    def generate(self, requests: list[Request], sampling: Sampling) -> Iterator[Output]:
        inbox, outbox = self.mp.Queue(), self.mp.Queue()
        for start in range(0, len(requests), self.chunk):
            inbox.put(requests[start : start + self.chunk])
        workers = [
            self.mp.Process(target=_vllm_worker, args=(g, self.model, self.max_model_len, sampling, inbox, outbox))
            for g in self.gpus
        ]
        for worker in workers:
            inbox.put(None)
            worker.start()
        running = len(workers)
        try:
            while running:
                try:
                    outputs = outbox.get(timeout=60)
                except queue.Empty:
                    if not any(worker.is_alive() for worker in workers):
                        codes = [worker.exitcode for worker in workers]
                        raise RuntimeError(f"every vLLM engine process exited (exit codes {codes})") from None
                    continue
                if outputs is None:
                    running -= 1
                    continue
                yield from outputs
        finally:
            for worker in workers:
                worker.join(timeout=60)
                if worker.is_alive():
                    worker.terminate()
