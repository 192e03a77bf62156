"""A transformers-`generate()` rollout for verl 0.9.1's agent loop: `actor_rollout_ref.rollout.name=hf`.

verl 0.9.1 rolls out only through vLLM, SGLang or TensorRT-LLM servers; none runs without a GPU (and the lent GPU
machines have no vLLM). This registers a fourth backend in verl's two registries, with the same shape as the vLLM
one: a `RolloutReplica` that starts one server actor per replica (token ids in, token ids out), and a
`BaseRollout` adapter inside each actor worker that hands the trainer's new weights to that server after each
step. It is meant for tiny models (smoke tests, CI); requests that arrive together are generated in one batch.

This project's `verl.plugins` entry point (recipe/cpu/plugin.py) registers the name `hf` in every verl process and
imports this module when a config selects it; without the project installed, `VERL_USE_EXTERNAL_MODULES` can name it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections import Counter
from typing import Any

import ray
import torch
from transformers import LogitsProcessor, LogitsProcessorList
from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper
from verl.workers.config import HFModelConfig, RolloutConfig
from verl.workers.rollout import base as rollout_base
from verl.workers.rollout.base import BaseRollout
from verl.workers.rollout.replica import RolloutReplica, RolloutReplicaRegistry, TokenOutput

NAME = "hf"


def _server_name(replica_rank: int) -> str:
    return f"hf_rollout_server_{replica_rank}"


def request_seed(seed: int, global_steps: int | None, prompt_ids: list[int], draw: int) -> int:
    """The seed of one response: the run's rollout seed, the step, the prompt and which of the prompt's samples at
    that step it is (0, 1, ...). Samples of one prompt are exchangeable, so numbering them by arrival leaves each
    prompt's set of responses independent of timing and batching."""
    key = f"{seed}/{global_steps}/{draw}/" + ",".join(map(str, prompt_ids))
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little") >> 1


class SeededSampling(LogitsProcessor):
    """Samples each row of a batch from its own random stream, after temperature, top-k and top-p (transformers' own
    warpers, in `generate()`'s order), and returns scores that leave only the drawn token, for a greedy `generate()`
    to take. Row i's t-th token reads the t-th uniform of its stream (inverse CDF), so what a response draws does not
    depend on the rows beside it. Keeps each row's log-probability of its token under the warped distribution, as
    `generate(output_scores=True)` gives it when sampling."""

    def __init__(self, seeds: list[int], length: int, temperature: float, top_k: int, top_p: float, device):
        warpers = [TemperatureLogitsWarper(temperature)]
        if top_k > 0:
            warpers.append(TopKLogitsWarper(top_k))
        if top_p < 1.0:
            warpers.append(TopPLogitsWarper(top_p))
        self.warpers = LogitsProcessorList(warpers)
        # a fixed length a row, whatever the batch asks: a stream's t-th number is the same in every batch
        streams = [torch.rand(length, generator=torch.Generator().manual_seed(s), dtype=torch.float64) for s in seeds]
        self.uniforms = torch.stack(streams).to(device)
        self.position = 0
        self.log_probs: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        warped = self.warpers(input_ids, scores).double().log_softmax(-1)
        cdf = warped.exp().cumsum(-1)
        threshold = self.uniforms[:, self.position, None] * cdf[:, -1:]
        chosen = torch.searchsorted(cdf, threshold, right=True).clamp_(max=scores.shape[-1] - 1)
        self.position += 1
        self.log_probs.append(warped.gather(-1, chosen).squeeze(-1).float())
        return torch.full_like(scores, -float("inf")).scatter_(-1, chosen, 0.0)


class HFRolloutServer:
    """Ray actor holding a copy of the policy; generates token ids for the agent loop.

    Requests that arrive together are generated together. verl's agent loop sends a step's prompts one by one as it
    prepares them, a few milliseconds apart, so a request waits until `QUIET_S` pass without another (at most
    `GATHER_S`), then each group with the same sampling settings is one left-padded `generate()` call. Each response
    stops at its own end token and its own `max_tokens`, and draws from its own random stream (`request_seed`), so
    batching changes neither what a response may be nor what it is: one model with one seed gives the same responses
    to the same requests, as in every arm of a study at step 0."""

    QUIET_S = 0.01
    GATHER_S = 0.1
    MAX_BATCH = 512

    def __init__(self, config: RolloutConfig, model_config: HFModelConfig, cuda_visible_devices: str | None = None):
        if cuda_visible_devices is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = cuda_visible_devices
        from transformers import AutoModelForCausalLM
        from verl.utils.config import omega_conf_to_dataclass

        model_config = omega_conf_to_dataclass(model_config, dataclass_type=HFModelConfig)
        self.config = config
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model = AutoModelForCausalLM.from_pretrained(model_config.local_path, dtype=torch.float32)
        self.model.to(self.device).eval()
        eos = self.model.generation_config.eos_token_id
        self.eos_token_ids = set(eos if isinstance(eos, list) else [eos])
        self.pad_token_id = self.model.generation_config.pad_token_id
        if self.pad_token_id is None:
            self.pad_token_id = min(self.eos_token_ids)
        self.lock = threading.Lock()
        self.global_steps: int | None = None
        self.drawn: Counter[tuple[int | None, tuple[int, ...]]] = Counter()  # samples of a prompt so far, by step
        self.pending: list[tuple[list[int], dict[str, Any], int, asyncio.Future]] = []
        self.batcher: asyncio.Task | None = None

    def _max_tokens(self, prompt_ids: list[int], params: dict[str, Any]) -> int:
        """As verl's vLLM server: the request's `max_tokens` (validation may ask for more than `response_length`) or
        `response_length`, within the context `max_model_len` leaves after the prompt."""
        context = self._context()
        wanted = params.get("max_tokens", params.get("max_new_tokens"))
        if wanted is None:
            wanted = min(self.config.response_length, self.config.prompt_length + self.config.response_length
                         - len(prompt_ids))  # fmt: skip
        return max(1, min(int(wanted), context - len(prompt_ids)))

    def _context(self) -> int:
        return self.config.max_model_len or self.config.prompt_length + self.config.response_length

    def _generate_batch(self, prompts: list[list[int]], params: dict[str, Any], seeds: list[int]) -> list[TokenOutput]:
        """One `generate()` over left-padded prompts that share sampling settings; row i samples with `seeds[i]`."""
        temperature = float(params.get("temperature", 1.0))
        sampling = None
        if temperature > 0:
            top_k, top_p = max(int(params.get("top_k", -1)), 0), float(params.get("top_p", 1.0))
            sampling = SeededSampling(seeds, self._context(), temperature, top_k, top_p, self.device)
        limits = [self._max_tokens(p, params) for p in prompts]
        width = max(map(len, prompts))
        input_ids = torch.full((len(prompts), width), self.pad_token_id, device=self.device)
        attention_mask = torch.zeros_like(input_ids)
        for row, prompt in enumerate(prompts):
            input_ids[row, width - len(prompt) :] = torch.tensor(prompt, device=self.device)
            attention_mask[row, width - len(prompt) :] = 1
        with self.lock, torch.no_grad():
            out = self.model.generate(
                input_ids,
                attention_mask=attention_mask,
                max_new_tokens=max(limits),
                eos_token_id=sorted(self.eos_token_ids),
                pad_token_id=self.pad_token_id,
                do_sample=False,  # greedy over SeededSampling's scores: its draw
                logits_processor=LogitsProcessorList([sampling] if sampling else []),
                output_scores=bool(params.get("logprobs")) and sampling is None,
                return_dict_in_generate=True,
            )
        outputs = []
        for row, limit in enumerate(limits):
            tokens = out.sequences[row, width:].tolist()[:limit]
            end = next((i for i, t in enumerate(tokens) if t in self.eos_token_ids), None)
            tokens = tokens if end is None else tokens[: end + 1]
            log_probs = None
            if params.get("logprobs") and sampling is not None:
                log_probs = [step[row].item() for step in sampling.log_probs[: len(tokens)]]
            elif params.get("logprobs"):
                scores = torch.stack([s[row] for s in out.scores[: len(tokens)]]).float().log_softmax(-1)
                log_probs = scores[torch.arange(len(tokens)), torch.tensor(tokens)].tolist()
            outputs.append(
                TokenOutput(
                    token_ids=tokens,
                    log_probs=log_probs,
                    stop_reason="completed",
                    extra_fields={"global_steps": self.global_steps},
                )
            )
        return outputs

    async def _gather(self) -> None:
        """Wait for the rest of the requests sent together with the first (see the class docstring)."""
        deadline = time.monotonic() + self.GATHER_S
        seen = -1
        while len(self.pending) != seen and len(self.pending) < self.MAX_BATCH and time.monotonic() < deadline:
            seen = len(self.pending)
            await asyncio.sleep(self.QUIET_S)

    async def _drain(self) -> None:
        while self.pending:
            await self._gather()
            batch, self.pending = self.pending[: self.MAX_BATCH], self.pending[self.MAX_BATCH :]
            groups: dict[str, list[tuple[list[int], dict[str, Any], int, asyncio.Future]]] = {}
            for request in batch:
                groups.setdefault(repr(sorted(request[1].items())), []).append(request)
            for group in groups.values():
                prompts, seeds = [r[0] for r in group], [r[2] for r in group]
                try:
                    outputs = await asyncio.to_thread(self._generate_batch, prompts, group[0][1], seeds)
                except Exception as err:  # every waiting request learns what failed
                    for *_, future in group:
                        future.set_exception(err)
                    continue
                for (*_, future), output in zip(group, outputs, strict=True):
                    future.set_result(output)

    async def generate(
        self, prompt_ids: list[int], sampling_params: dict[str, Any], request_id: str, **_
    ) -> TokenOutput:
        future = asyncio.get_running_loop().create_future()
        prompt = list(prompt_ids)
        key = (self.global_steps, tuple(prompt))
        seed = request_seed(self.config.seed, self.global_steps, prompt, self.drawn[key])
        self.drawn[key] += 1
        self.pending.append((prompt, dict(sampling_params), seed, future))
        if self.batcher is None or self.batcher.done():
            self.batcher = asyncio.create_task(self._drain())
        return await future

    async def update_weights(self, state: dict[str, torch.Tensor], global_steps: int | None = None) -> None:
        with self.lock:
            missing, unexpected = self.model.load_state_dict(state, strict=False)
        if unexpected:
            raise RuntimeError(f"hf rollout: weights the model does not have: {unexpected[:5]}")
        if global_steps is not None:
            await self.set_global_steps(global_steps)

    async def set_global_steps(self, global_steps: int) -> None:
        if global_steps != self.global_steps:  # a new step numbers its samples afresh
            self.drawn.clear()
        self.global_steps = global_steps

    # Memory management and request control are no-ops for an in-process transformers model.
    async def wake_up(self, *args, **kwargs):
        pass

    async def sleep(self, *args, **kwargs):
        pass

    async def clear_kv_cache(self, *args, **kwargs):
        pass

    async def release_kv_cache(self, *args, **kwargs):
        pass

    async def resume_kv_cache(self, *args, **kwargs):
        pass

    async def abort_all_requests(self, *args, **kwargs) -> dict[str, Any]:
        return {}

    async def resume_generation(self, *args, **kwargs):
        pass

    async def start_profile(self, *args, **kwargs):
        pass

    async def stop_profile(self, *args, **kwargs):
        pass


class HFReplica(RolloutReplica):
    """One `HFRolloutServer` per replica, on the node (and, on GPU, the device) of the replica's first worker."""

    async def launch_servers(self):
        # The device of the replica's first worker (asked of the worker itself: the caller may be a CPU-only actor).
        # On the CPU platform this is Ray's logical GPU id, harmless to a process that finds no CUDA.
        ids = await self.workers[0].__ray_call__.remote(lambda w: ray.get_runtime_context().get_accelerator_ids())
        cuda_visible_devices = ",".join(ids.get("GPU", [])) or None
        server = (
            ray.remote(HFRolloutServer)
            .options(name=_server_name(self.replica_rank), num_cpus=0, max_concurrency=self.max_concurrency)
            .remote(config=self.config, model_config=self.model_config, cuda_visible_devices=cuda_visible_devices)
        )
        self.servers = [server]
        self._server_handle = server
        self._server_address = f"ray://{_server_name(self.replica_rank)}"


class HFServerAdapter(BaseRollout):
    """Inside each actor worker: sends the trainer's weights to its replica's server after each update."""

    def __init__(self, config, model_config, device_mesh, replica_rank: int = -1, **kwargs):
        super().__init__(config, model_config, device_mesh)
        world = self.config.tensor_model_parallel_size * self.config.data_parallel_size
        rank = int(os.environ.get("RANK", 0))
        self.replica_rank = rank // world if replica_rank == -1 else replica_rank
        self.is_leader = rank % world == 0
        self._server = None

    async def resume(self, tags: list[str]):
        pass

    async def release(self):
        pass

    async def update_weights(self, weights, global_steps: int | None = None, **kwargs):
        state = {}
        for name, tensor in weights:  # consume the generator on every rank: it may hold collectives
            full = tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor
            if self.is_leader:
                state[name] = full.detach().to("cpu", copy=True)
        if not self.is_leader:
            return
        if self._server is None:
            self._server = ray.get_actor(_server_name(self.replica_rank))
        await self._server.update_weights.remote(state, global_steps=global_steps)


rollout_base._ROLLOUT_REGISTRY[(NAME, "async")] = f"{__name__}.HFServerAdapter"
RolloutReplicaRegistry.register(NAME, lambda: HFReplica)
