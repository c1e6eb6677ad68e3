"""From Measurements to a Record: provenance, totals over ranks, profile matching."""

from __future__ import annotations

import datetime as dt

import pytest

from planner.model.hardware import HardwareProfile
from planner.model.records import Machine, Settings
from planner.profiling.accelerators.nvml import NVML_METHODS
from planner.profiling.recording import build_record
from planner.profiling.values import GpuInfo, GpuWindow, HostEnergy, Measurement, PolledWindow

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
MACHINE = Machine(hostname="node", os="Linux", python_version="3.11",
                  cpu_model="Intel(R) Xeon(R) Processor", cpu_logical_cores=2)
PROFILE = HardwareProfile.model_validate({
    "id": "test-gpu", "name": "Test GPU", "vendor": "Test", "kind": "gpu",
    "dense_tflops": {"bf16": {"value": 100, "source": "s"}},
    "match_names": ["Test GPU"], "sources": {"s": {"title": "test data", "date": "2026"}},
})


def host(cpu=50.0, ram=20.0, measured=False) -> HostEnergy:
    return HostEnergy(cpu, ram, "codecarbon_rapl" if measured else "codecarbon_cpu_load_estimate",
                      measured, "codecarbon_ram_estimate", False, 400.0, duration_s=10.0)


def gpu_window(energy=2000.0, method="nvml_energy_counter", index=0) -> GpuWindow:
    polled = PolledWindow(energy * 0.99, energy * 0.099, 250.0, 90.0, 4e10, 1800.0, 2600.0,
                          60.0, 200, 20.0)
    return GpuWindow(GpuInfo(index, "Test GPU 80GB", None, None), energy, method, polled,
                     methods=NVML_METHODS)


def meas(**kw) -> Measurement:
    base = dict(name="measure", started_at=T0, ended_at=T0 + dt.timedelta(seconds=10),
                wall_time_s=10.0, host=host(), samples=1000, steps=10, flops=5e14)
    base.update(kw)
    return Measurement(**base)


def settings(**kw) -> Settings:
    base = dict(workload="mlp", mode="train", precision="bf16", device="cpu",
                country_iso_code="FRA")
    base.update(kw)
    return Settings(**base)


def test_cpu_run_says_gpu_energy_was_not_measured():
    r = build_record([meas()], machine=MACHINE, settings=settings(precision="fp32"),
                     profiles=[PROFILE])
    res = r.results
    assert res.gpu_energy_j is None and res.gpu_avg_power_w is None
    assert any("GPU energy not measured" in n for n in r.notes)
    assert res.cpu_energy_j.value == 50 and res.cpu_energy_j.measured is False
    assert res.total_energy_j.value == 70 and res.total_energy_j.note == "CPU + RAM"
    assert res.co2e_kg.value == pytest.approx(70 / 3.6e6 * 400 / 1000)
    assert res.co2e_kg.measured is False
    assert res.throughput_samples_per_s.value == 100
    assert r.hardware_id is None and r.device_name == MACHINE.cpu_model
    assert any("no hardware profile matches" in n for n in r.notes)


def test_gpu_run_matches_its_profile_and_computes_utilisation():
    m = meas(gpus=(gpu_window(),))
    r = build_record([m], machine=MACHINE, settings=settings(device="cuda"), profiles=[PROFILE])
    res = r.results
    assert r.hardware_id == "test-gpu"
    assert res.gpu_energy_j.value == 2000 and res.gpu_energy_j.method == "nvml_energy_counter"
    assert res.gpu_avg_power_w.value == 200
    assert res.achieved_tflops.value == pytest.approx(50.0)
    assert res.utilisation.value == pytest.approx(0.5)
    assert res.total_energy_j.value == 2070 and res.total_energy_j.measured is False
    g = res.gpus[0]
    assert g.peak_power_w.value == 250 and g.energy_polled_j.method == "nvml_power_polling"
    assert g.temperature_max_c.value == 60 and g.kernel_active_pct.unit == "%"


def test_gpu_run_without_gpu_energy_has_no_total():
    m = meas(gpus=(GpuWindow(GpuInfo(0, "Test GPU", None, None), None, None,
                             PolledWindow(*([None] * 8), 0, None), note="no power",
                             methods=NVML_METHODS),))
    r = build_record([m], machine=MACHINE, settings=settings(device="cuda"), profiles=[])
    assert r.results.gpu_energy_j is None and r.results.total_energy_j is None
    assert r.results.co2e_kg is None


def test_latency_percentiles_per_request():
    lat = tuple(0.01 * (i + 1) for i in range(100))
    r = build_record([meas(latencies_s=lat)], machine=MACHINE, settings=settings(mode="infer"),
                     profiles=[])
    assert r.results.latency_p50_s.value == pytest.approx(0.505)
    assert r.results.latency_p99_s.value == pytest.approx(0.9901)
    assert r.results.latency_p95_s.note == "per request, 100 requests"


def test_ranks_are_listed_and_totalled():
    ms = [meas(gpus=(gpu_window(2000.0, index=0),)),
          meas(gpus=(gpu_window(2200.0, index=1),), wall_time_s=11.0, samples=900)]
    r = build_record(ms, machine=MACHINE, settings=settings(device="cuda", world_size=2),
                     hostnames=["node", "node"], profiles=[PROFILE])
    res = r.results
    assert [k.rank for k in res.ranks] == [0, 1]
    assert res.samples.value == 1900 and res.wall_time_s.value == 11.0
    assert res.gpu_energy_j.value == 4200
    assert res.cpu_energy_j.value == 100  # process mode: each rank's own share, summed
    assert [g.rank for g in res.gpus] == [0, 1]
    assert res.utilisation.value == pytest.approx(1e15 / 11 / 1e12 / 200)
    assert res.ranks[1].gpu_energy_j.value == 2200


def test_machine_mode_counts_each_host_once():
    ms = [meas(), meas()]
    s = settings(cpu_tracking_mode="machine", world_size=2)
    r = build_record(ms, machine=MACHINE, settings=s, hostnames=["a", "a"], profiles=[])
    assert r.results.cpu_energy_j.value == 50
    r2 = build_record(ms, machine=MACHINE, settings=s, hostnames=["a", "b"], profiles=[])
    assert r2.results.cpu_energy_j.value == 100


def test_mixed_measured_and_estimated_inputs_make_an_estimate():
    m = meas(host=host(measured=True))
    r = build_record([m], machine=MACHINE, settings=settings(), profiles=[])
    assert r.results.cpu_energy_j.measured is True
    assert r.results.ram_energy_j.measured is False
    assert r.results.total_energy_j.measured is False
