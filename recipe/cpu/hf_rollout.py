"""A transformers-`generate()` rollout for verl 0.9.1's agent loop: `actor_rollout_ref.rollout.name=hf`.

verl 0.9.1 rolls out only through vLLM, SGLang or TensorRT-LLM servers; none runs without a GPU (and the lent GPU
machines have no vLLM). This registers a fourth backend in verl's two registries, with the same shape as the vLLM
one: a `RolloutReplica` that starts one server actor per replica (token ids in, token ids out), and a
`BaseRollout` adapter inside each actor worker that hands the trainer's new weights to that server after each
step. It is meant for tiny models (smoke tests, CI); it generates one request at a time.

Load it with `VERL_USE_EXTERNAL_MODULES=recipe.cpu.hf_rollout` (with the CPU platform on CPU, alone on a GPU).
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import ray
import torch
from verl.workers.config import HFModelConfig, RolloutConfig
from verl.workers.rollout import base as rollout_base
from verl.workers.rollout.base import BaseRollout
from verl.workers.rollout.replica import RolloutReplica, RolloutReplicaRegistry, TokenOutput

NAME = "hf"


def _server_name(replica_rank: int) -> str:
    return f"hf_rollout_server_{replica_rank}"


class HFRolloutServer:
    """Ray actor holding a copy of the policy; generates token ids for the agent loop."""

    def __init__(self, config: RolloutConfig, model_config: HFModelConfig, cuda_visible_devices: str | None = None):
        if cuda_visible_devices is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = cuda_visible_devices
        from transformers import AutoModelForCausalLM
        from verl.utils.config import omega_conf_to_dataclass

        model_config = omega_conf_to_dataclass(model_config, dataclass_type=HFModelConfig)
        self.config = config
        torch.manual_seed(config.seed)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model = AutoModelForCausalLM.from_pretrained(model_config.local_path, torch_dtype=torch.float32)
        self.model.to(self.device).eval()
        self.eos_token_id = self.model.generation_config.eos_token_id
        self.pad_token_id = self.model.generation_config.pad_token_id
        self.lock = threading.Lock()
        self.global_steps: int | None = None

    def _generate(self, prompt_ids: list[int], sampling_params: dict[str, Any]) -> TokenOutput:
        params = dict(sampling_params)
        budget = self.config.prompt_length + self.config.response_length - len(prompt_ids)
        max_tokens = params.pop("max_tokens", params.pop("max_new_tokens", self.config.response_length))
        max_tokens = max(1, min(max_tokens, self.config.response_length, budget))
        temperature = float(params.get("temperature", 1.0))
        top_k = int(params.get("top_k", -1))
        kwargs: dict[str, Any] = {"do_sample": temperature > 0, "max_new_tokens": max_tokens}
        if temperature > 0:
            kwargs.update(temperature=temperature, top_p=float(params.get("top_p", 1.0)), top_k=max(top_k, 0))
        input_ids = torch.tensor([prompt_ids], device=self.device)
        with self.lock, torch.no_grad():
            out = self.model.generate(
                input_ids,
                attention_mask=torch.ones_like(input_ids),
                eos_token_id=self.eos_token_id,
                pad_token_id=self.pad_token_id,
                output_scores=bool(params.get("logprobs")),
                return_dict_in_generate=True,
                **kwargs,
            )
        tokens = out.sequences[0, len(prompt_ids) :].tolist()
        log_probs = None
        if params.get("logprobs"):
            scores = torch.stack(out.scores, dim=1)[0].float().log_softmax(-1)
            log_probs = scores[torch.arange(len(tokens)), torch.tensor(tokens)].tolist()
        return TokenOutput(
            token_ids=tokens,
            log_probs=log_probs,
            stop_reason="completed",
            extra_fields={"global_steps": self.global_steps},
        )

    async def generate(
        self, prompt_ids: list[int], sampling_params: dict[str, Any], request_id: str, **_
    ) -> TokenOutput:
        return await asyncio.to_thread(self._generate, list(prompt_ids), sampling_params)

    async def update_weights(self, state: dict[str, torch.Tensor], global_steps: int | None = None) -> None:
        with self.lock:
            missing, unexpected = self.model.load_state_dict(state, strict=False)
        if unexpected:
            raise RuntimeError(f"hf rollout: weights the model does not have: {unexpected[:5]}")
        if global_steps is not None:
            self.global_steps = global_steps

    async def set_global_steps(self, global_steps: int) -> None:
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
