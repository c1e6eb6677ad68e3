"""The API for a user's own training script, as documented in planner/profiling/measure.py."""

from __future__ import annotations

import torch

from planner.model.records import load_records
from planner.profiling import Profiler, ProfilerConfig, build_record, save_record


def test_a_training_script_measures_its_own_loop(tmp_path):
    model = torch.nn.Linear(32, 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = [torch.randn(16, 32) for _ in range(30)]

    def train_step(x: torch.Tensor) -> None:
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()

    with Profiler(ProfilerConfig(device="cpu", country="FRA")) as prof:
        for x in batches[:3]:  # warm-up, outside the window
            train_step(x)
        with prof.window("train") as w:
            for x in batches:
                train_step(x)
                w.add(samples=len(x))
        record = build_record([w.measurement], profiler=prof, workload="my-model", mode="train",
                              batch_size=16)
    path = save_record(record, tmp_path)
    (loaded,), errors = load_records(tmp_path)
    assert errors == [] and path.exists()
    assert loaded.settings.workload == "my-model" and loaded.settings.country_iso_code == "FRA"
    assert loaded.results.samples.value == 480 and loaded.results.steps.value == 30
    assert loaded.results.gpu_energy_j is None  # a CPU-only script measures no GPU
    assert loaded.results.ram_energy_j is not None


def test_the_profilers_own_cost_is_small():
    """Bench helper: fixed cost per window and background CPU while a window is open."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "profiling_overhead.py"
    spec = importlib.util.spec_from_file_location("profiling_overhead", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    with Profiler(ProfilerConfig(device="cpu")) as prof:
        budget = bench.overhead_budget(prof, idle_s=2.0, windows=5)
    assert budget["per_window_s"] < 0.25  # CodeCarbon start + stop: ~20 ms here
    assert budget["background_cpu_share"] < 0.02  # under 2 % of one core
