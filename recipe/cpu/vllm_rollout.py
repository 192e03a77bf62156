"""verl's vLLM rollout on CPU: the trainer's weight updates loaded through vLLM's own layerwise reload.

verl 0.9.1's vLLM worker extension (`vLLMColocateWorkerExtension.update_weights_from_ipc`) loads each received bucket
with `model.load_weights` and runs vLLM's `process_weights_after_loading` once at the end. That assumes a layer's
parameters keep their checkpoint form after loading, which vLLM's CPU backend does not: once loaded, every
unquantized linear layer repacks its weight for its GEMM kernel and replaces `layer.weight` by an empty Parameter
(`dispatch_cpu_unquantized_gemm(layer, remove_weight=True)` in vllm/model_executor/layers/utils.py). The first update
then fails in `linear.py` `load_weights` with `AttributeError: 'Parameter' object has no attribute 'weight_loader'`,
followed by `BufferError: cannot close exported pointers exist` as the receiver closes the shared-memory bucket that
the failed load still points into. tests/test_vllm_rollout.py reproduces both halves without verl.

vLLM's own path for new weights in a running engine (`GPUModelRunner.reload_weights`) handles kernel-format layers:
`initialize_layerwise_reload` puts every layer back in checkpoint form (on the meta device) and buffers its loads,
each layer is materialised, loaded and processed (repacked) again once all its weights have arrived, and
`finalize_layerwise_reload` settles the rest. `CPUWorkerExtension` wraps verl's bucketed receive in exactly that, and
copies each bucket first, since buffered loads outlive the reused shared-memory buffer they arrive in.

One more step covers updates that leave out a tied copy. vLLM documents that a tied parameter reflects the
processing of one of its layers only, and on CPU the LM head keeps a packed copy of the weight it shares with the
embedding (`dispatch_cpu_unquantized_gemm(remove_weight=False)`). An update that names only
`model.embed_tokens.weight` (a saved checkpoint of a tied model) leaves the head unprocessed and the logits computed
from the old embedding (measured: garbage tokens). In training the step made no measured difference, consistent with
verl's update also carrying the state dict's `lm_head.weight`, which vLLM's Qwen2 loader takes into the head.
`repack_kept_weights` runs the processing again for every layer that keeps its weight beside a packed copy, whatever
the update named.

Selected with `actor_rollout_ref.rollout.engine_kwargs.vllm.worker_extension_cls=` this module's `CPUWorkerExtension`
(recipe/smoke/vllm_cpu.yaml; verl passes engine_kwargs to vLLM after its own arguments). Written as an upstream
candidate (`[rollout] fix: vLLM weight sync on CPU through layerwise reload`): upstream, the same branch would sit in
`update_weights_from_ipc` for platforms whose kernels repack weights after loading.
"""

from __future__ import annotations

import torch
from verl.utils.vllm.vllm_quant_utils import is_quantized_model
from verl.workers.rollout.vllm_rollout.bucketed_weight_transfer import BucketedWeightReceiver
from verl.workers.rollout.vllm_rollout.utils import vLLMColocateWorkerExtension


def repack_kept_weights(model: torch.nn.Module) -> int:
    """Process again every layer that kept its (possibly tied, just reloaded) weight beside a packed copy for vLLM's CPU
    GEMM (`cpu_linear`); linear layers that dropped theirs were processed by the layerwise reload. Returns how many."""
    repacked = 0
    for module in model.modules():
        weight = getattr(module, "weight", None)
        method = getattr(module, "quant_method", None)
        if hasattr(module, "cpu_linear") and weight is not None and weight.numel() and method is not None:
            method.process_weights_after_loading(module)
            repacked += 1
    return repacked


def reload_layerwise(models: list, load) -> None:
    """Run `load()` (which calls each model's `load_weights`) inside vLLM's layerwise reload of `models`, a list of
    (model, model_config), then repack what the reload leaves stale on CPU."""
    from vllm.model_executor.model_loader.reload import finalize_layerwise_reload, initialize_layerwise_reload

    for model, _ in models:
        initialize_layerwise_reload(model)
    load()
    for model, model_config in models:
        finalize_layerwise_reload(model, model_config)
        repack_kept_weights(model)


class CPUWorkerExtension(vLLMColocateWorkerExtension):
    """verl's worker extension, with full-weight updates loaded as vLLM reloads weights (LoRA and quantised models:
    verl's own path, unchanged)."""

    def update_weights_from_ipc(self, peft_config: dict = None, base_sync_done=False, use_shm: bool = False):
        if peft_config or is_quantized_model(self.model_runner.vllm_config) or self._is_qat_model:
            return super().update_weights_from_ipc(peft_config, base_sync_done, use_shm)
        if self.device is None:
            self.device = torch.device("cpu")

        def on_bucket_received(weights: list[tuple[str, torch.Tensor]], is_last: bool) -> None:
            owned = [(name, tensor.clone()) for name, tensor in weights]  # the bucket's buffer is reused
            self._update_weights(owned, peft_config=None, base_sync_done=False)

        receiver = BucketedWeightReceiver(zmq_handle=self._get_zmq_handle(), device=self.device, use_shm=use_shm)
        reload_layerwise(
            list(self._iter_all_models_with_config()),
            lambda: receiver.receive_weights(on_bucket_received=on_bucket_received),
        )
