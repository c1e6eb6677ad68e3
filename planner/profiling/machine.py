"""A description of the machine a run happens on: host, CPU, memory, GPUs and versions."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
import sys
from pathlib import Path

from planner.model.records import Machine, MachineGpu
from planner.profiling.accelerators import AcceleratorBackend, NullBackend

LIBRARIES = ("torch", "codecarbon", "nvidia-ml-py", "numpy", "pydantic", "psutil")


def cpu_model() -> str:
    """The CPU's model name as /proc/cpuinfo gives it (what hardware profiles match on)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape a measurement."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _ram_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:
        return None


def _cuda_version() -> str | None:
    # Only if torch is already loaded: describing the machine must not import torch.
    torch = sys.modules.get("torch")
    return getattr(getattr(torch, "version", None), "cuda", None) if torch else None


def describe_machine(backend: AcceleratorBackend | None = None) -> Machine:
    """The machine record; GPU fields come from the profiler's accelerator backend."""
    backend = backend if backend is not None else NullBackend()
    gpu_list = [
        MachineGpu(index=i, name=info.name, uuid=info.uuid,
                   memory_total_bytes=info.memory_total_bytes)
        for i, info in ((i, backend.info(i)) for i in backend.indices)
    ]
    return Machine(
        hostname=socket.gethostname(),
        os=platform.platform(),
        python_version=platform.python_version(),
        cpu_model=cpu_model(),
        cpu_logical_cores=os.cpu_count() or 1,
        ram_bytes=_ram_bytes(),
        gpus=gpu_list,
        cuda_version=_cuda_version(),
        libraries=library_versions(),
        **backend.versions(),
    )
