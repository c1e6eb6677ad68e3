"""torch.distributed glue: each rank measures its own device, rank 0 writes one record.

Launched by ``torchrun`` (which sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT), the
profile command joins the process group (NCCL on GPUs, gloo on CPUs), wraps training in
DistributedDataParallel, and gathers every rank's Measurement on rank 0 with
``all_gather_object``. Without torchrun every function here is a no-op.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import torch
import torch.distributed as td
from torch import nn


def world_size() -> int:
    """Processes in the job (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's global rank (0 without torchrun)."""
    return td.get_rank() if td.is_available() and td.is_initialized() else int(
        os.environ.get("RANK", "0")
    )


def init(device: str) -> bool:
    """Join the process group if launched by torchrun; return whether distributed."""
    if world_size() <= 1 or not td.is_available():
        return False
    if not td.is_initialized():
        td.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    return True


def finish() -> None:
    """Leave the process group."""
    if td.is_available() and td.is_initialized():
        td.destroy_process_group()


def barrier() -> None:
    """Wait for every rank, so the measured windows start together."""
    if td.is_available() and td.is_initialized():
        td.barrier()


def wrap_model(model: nn.Module, device: torch.device) -> nn.Module:
    """DistributedDataParallel when distributed, so gradients are all-reduced as in real jobs."""
    if not (td.is_available() and td.is_initialized()):
        return model
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def gather(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (a one-item list when not distributed)."""
    if not (td.is_available() and td.is_initialized()):
        return [obj]
    out: list[Any] = [None] * td.get_world_size()
    td.all_gather_object(out, obj)
    return out


def hostname() -> str:
    return socket.gethostname()
