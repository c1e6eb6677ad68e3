"""On a real NVIDIA GPU: the NVML counter and power polling agree; the CLI measures CUDA runs.

Skipped unless NVML starts and torch sees CUDA (``pytest -m gpu`` on the GPU machine).
"""

from __future__ import annotations

import time

import pytest


def _gpu_ready() -> bool:
    try:
        import pynvml
        import torch

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        return bool(torch.cuda.is_available())
    except Exception:
        return False


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not _gpu_ready(), reason="needs an NVIDIA GPU with NVML and CUDA"),
]


def _matmuls(seconds: float, a, b) -> None:
    import torch

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(20):
            a @ b
        torch.cuda.synchronize()


def test_energy_counter_and_power_polling_agree_on_a_steady_matmul():
    import torch

    from planner.profiling.measure import Profiler, ProfilerConfig
    from planner.profiling.torch_support import hooks_for

    device = torch.device("cuda", torch.cuda.current_device())
    a = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    cfg = ProfilerConfig(device="cuda", gpus="auto", measure_host=False)  # torch's device
    with Profiler(cfg, hooks=hooks_for(device)) as prof:
        assert prof.backend.vendor == "nvidia" and len(prof.backend.indices) == 1
        if not prof.backend.supports_energy_counter(prof.backend.indices[0]):
            pytest.skip("this GPU has no NVML energy counter (pre-Volta)")
        _matmuls(5.0, a, b)  # let power and clocks settle; NVML power is a ~1 s average
        with prof.window("steady") as w:
            _matmuls(15.0, a, b)
    g = w.measurement.gpus[0]
    assert g.energy_method == "nvml_energy_counter"
    assert g.polled.rate_hz >= 10.0
    assert g.polled.energy_j == pytest.approx(g.energy_j, rel=0.05)
    assert g.polled.avg_power_w > 0.3 * (g.polled.peak_power_w or 1.0)
    assert g.memory_allocated_peak_bytes >= 2 * 8192 * 8192 * 2


@pytest.mark.parametrize(("workload", "mode"), [("mlp", "train"), ("transformer", "infer")])
def test_profile_command_on_cuda(tmp_path, workload, mode):
    from planner.cli import main
    from planner.model.records import load_records

    code = main(["profile", "--workload", workload, "--mode", mode, "--device", "cuda",
                 "--steps", "200", "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    (rec,), errors = load_records(tmp_path)
    assert errors == []
    r = rec.results
    assert rec.settings.precision == "bf16"
    assert r.gpu_energy_j is not None and r.gpu_energy_j.measured
    assert r.gpu_energy_j.method in ("nvml_energy_counter", "nvml_power_polling")
    assert r.gpus[0].peak_power_w is not None and r.gpus[0].sm_clock_mhz is not None
    assert r.total_energy_j.value > r.gpu_energy_j.value
    assert r.utilisation is not None or rec.hardware_id is None
