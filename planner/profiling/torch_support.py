"""The torch side of profiling: device checks, precision, synchronisation, memory and OOM.

Uses only long-stable torch APIs (``torch.autocast``, ``torch.cuda.synchronize``,
``torch.cuda.max_memory_allocated``, ``torch.cuda.mem_get_info``), so the same code runs on
torch 2.11 (the GPU machine) and 2.13 (this CPU-only machine).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from planner.errors import PlannerError
from planner.profiling.values import AcceleratorHooks

#: Precisions each device runs: fp32 everywhere; bf16 by autocast on both; tf32 and fp16 on
#: CUDA (tf32: TF32 tensor-core matmuls for fp32 tensors; fp16: autocast and a GradScaler).
PRECISIONS: dict[str, tuple[str, ...]] = {
    "cpu": ("fp32", "bf16"),
    "cuda": ("fp32", "tf32", "bf16", "fp16"),
}
DEFAULT_PRECISION = {"cpu": "fp32", "cuda": "bf16"}
GIB = 1024**3


class OutOfMemoryError(PlannerError):
    """The batch does not fit in the device's memory."""


def resolve_device(device: str) -> torch.device:
    """``cpu`` or ``cuda`` as a torch device; PlannerError where CUDA is missing."""
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda":
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else "a CUDA build"
            raise PlannerError(
                f"--device cuda: torch {torch.__version__} ({build}) finds no CUDA GPU on this "
                "machine; use --device cpu"
            )
        local = int(os.environ.get("LOCAL_RANK", "0"))
        index = local % torch.cuda.device_count()
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    raise PlannerError(f"--device {device!r}: choose cpu or cuda")


def resolve_precision(precision: str | None, device: torch.device) -> str:
    """The precision to run at; PlannerError if the device cannot run it."""
    chosen = precision or DEFAULT_PRECISION[device.type]
    allowed = PRECISIONS[device.type]
    if chosen not in allowed:
        raise PlannerError(
            f"--precision {chosen}: not available on {device.type}; choose one of "
            f"{', '.join(allowed)}"
        )
    if chosen == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise PlannerError("--precision bf16: this GPU has no bfloat16 support; use fp16 or fp32")
    return chosen


@contextlib.contextmanager
def precision_context(precision: str, device: torch.device) -> Iterator[None]:
    """Autocast for bf16/fp16; TF32 matmuls for tf32; nothing for fp32."""
    if precision in ("bf16", "fp16"):
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        with torch.autocast(device_type=device.type, dtype=dtype):
            yield
    elif precision == "tf32":
        old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old
    else:
        yield


def hooks_for(device: torch.device) -> AcceleratorHooks:
    """Sync and allocator-peak hooks for the profiler; no-ops on the CPU."""
    if device.type != "cuda":
        return AcceleratorHooks()
    return AcceleratorHooks(
        sync=lambda: torch.cuda.synchronize(device),
        reset_peak_memory=lambda: torch.cuda.reset_peak_memory_stats(device),
        peak_memory_bytes=lambda: float(torch.cuda.max_memory_allocated(device)),
    )


@dataclass(frozen=True)
class CudaDevice:
    """This process's current CUDA device, as the accelerator backend needs to find it."""

    hooks: AcceleratorHooks
    uuid: str | None
    """torch's device UUID; the backend matches it to its own index."""
    visible_index: int
    """The device's index through CUDA_VISIBLE_DEVICES, where its UUID cannot be matched."""


def current_cuda() -> CudaDevice | None:
    """Hooks, UUID and index of this process's current CUDA device; None without CUDA."""
    if not torch.cuda.is_available():
        return None
    device = torch.device("cuda", torch.cuda.current_device())
    uuid = getattr(torch.cuda.get_device_properties(device), "uuid", None)
    return CudaDevice(hooks_for(device), None if uuid is None else str(uuid),
                      visible_index(device))


def visible_index(device: torch.device) -> int:
    """The driver's index of a CUDA device through CUDA_VISIBLE_DEVICES (numeric lists only)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    ids = [x.strip() for x in visible.split(",") if x.strip()]
    if ids and all(x.isdigit() for x in ids) and (device.index or 0) < len(ids):
        return int(ids[device.index or 0])
    return int(device.index or 0)


def is_oom(exc: BaseException) -> bool:
    """Whether an exception is the allocator running out of memory (CPU or CUDA)."""
    if isinstance(exc, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text or "not enough memory" in text
    )


def free_memory_bytes(device: torch.device) -> int | None:
    """Memory free for a new allocation on ``device``."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        return None


@dataclass(frozen=True)
class MemoryEstimate:
    """A rough upper bound of a step's memory, from the model run on the meta device."""

    params_bytes: int
    state_bytes: int
    inputs_bytes: int
    activations_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.params_bytes + self.state_bytes + self.inputs_bytes + self.activations_bytes


def _nbytes(obj: Any) -> int:
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, list | tuple):
        return sum(_nbytes(o) for o in obj)
    return 0


def estimate_memory(
    workload: Any, params: dict, batch_size: int, train: bool, precision: str
) -> MemoryEstimate:
    """Parameters, optimiser state, inputs and activations of one step, without allocating.

    Activations: every leaf module's output is kept for the backward pass when training;
    in inference only the two largest live at once. Half precisions halve them.
    """
    meta = torch.device("meta")
    with meta:
        model = workload.build(params)
    inputs, target = workload.batch(params, batch_size, meta, None)
    outputs: list[int] = []

    def hook(_m: nn.Module, _i: Any, out: Any) -> None:
        outputs.append(_nbytes(out))

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if not list(m.children())]
    try:
        with torch.no_grad():
            workload.forward(model, inputs)
    finally:
        for h in handles:
            h.remove()
    scale = 0.5 if precision in ("bf16", "fp16") else 1.0
    acts = sum(outputs) if train else sum(sorted(outputs)[-2:])
    p_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    states = 1 + workload.optimizer_states_per_param() if train else 0  # grads + optimiser
    return MemoryEstimate(
        params_bytes=p_bytes,
        state_bytes=p_bytes * states,
        inputs_bytes=_nbytes(inputs) + _nbytes(target),
        activations_bytes=int(acts * scale),
    )
