"""Reference workloads on the CPU: every workload in both modes, warm-up, Ctrl-C, bad input."""

from __future__ import annotations

import itertools
import time

import pytest
import torch

from planner.errors import PlannerError
from planner.profiling.measure import Profiler, ProfilerConfig
from planner.profiling.runner import RunConfig, measure, prepare
from planner.profiling.torch_support import OutOfMemoryError, estimate_memory, is_oom
from planner.profiling.workloads import SIZES, WORKLOAD_NAMES, get_workload

QUIET = ProfilerConfig(device="cpu", gpus="none", measure_host=False)


@pytest.mark.parametrize("mode", ["train", "infer"])
@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_every_workload_runs_and_counts_flops(name, mode):
    prep = prepare(RunConfig(workload=name, mode=mode, batch_size=4, steps=3, warmup_steps=1))
    assert prep.flops_per_step > 0
    with Profiler(QUIET) as prof:
        out = measure(prep, prof)
    m = out.measurement
    assert not out.interrupted
    assert m.steps == 3 and m.samples == 12
    assert m.flops == pytest.approx(3 * prep.flops_per_step)
    assert len(m.latencies_s) == (3 if mode == "infer" else 0)
    assert (m.tokens is not None) == (name == "transformer")


def test_mlp_flops_match_the_formula():
    # Forward 2·m·n·k per Linear; backward twice that, except the input gradient of the
    # first layer, which is not needed (the input does not require grad).
    p = get_workload("mlp").params("small")
    b = 4
    dims = [p["in_features"]] + [p["hidden"]] * p["layers"] + [p["classes"]]
    fwd = sum(2 * b * a * c for a, c in itertools.pairwise(dims))
    first = 2 * b * dims[0] * dims[1]
    prep_i = prepare(RunConfig(workload="mlp", mode="infer", batch_size=b, warmup_steps=0))
    prep_t = prepare(RunConfig(workload="mlp", mode="train", batch_size=b, warmup_steps=0))
    assert prep_i.flops_per_step == fwd
    assert prep_t.flops_per_step == 3 * fwd - first


def test_warmup_is_excluded_and_ctrl_c_keeps_the_steps_done():
    prep = prepare(RunConfig(workload="mlp", steps=50, warmup_steps=2, batch_size=4))

    def stop_at_5(done: int) -> None:
        if done == 5:
            raise KeyboardInterrupt

    with Profiler(QUIET) as prof:
        out = measure(prep, prof, on_step=stop_at_5)
    assert out.interrupted
    assert out.measurement.steps == 5 and out.measurement.samples == 20


def test_seconds_bound_the_run():
    # One torch thread: on two busy cores, two threads spin-wait for each other and a step
    # took 0.17 s instead of 2.5 ms, which left a single step in the 0.3 s.
    threads = torch.get_num_threads()
    ends: list[float] = []  # when each measured step ended
    try:
        prep = prepare(RunConfig(workload="mlp", seconds=0.3, batch_size=4, threads=1))
        with Profiler(QUIET) as prof:
            m = measure(prep, prof, on_step=lambda done: ends.append(time.perf_counter()))
            m = m.measurement
    finally:
        torch.set_num_threads(threads)  # set_num_threads is process-wide
    assert m.steps == len(ends) > 1  # several steps were measured
    assert m.wall_time_s >= 0.3  # the run lasted the bound ...
    # ... and stopped at the first step that ended past it: the step before the last ended
    # within 0.3 s of a moment before the first step ended (when the clock started).
    assert ends[-2] - ends[0] < 0.3


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (RunConfig(workload="gpt5"), "unknown workload 'gpt5'"),
        (RunConfig(workload="mlp", mode="serve"), "--mode 'serve'"),
        (RunConfig(workload="mlp", size="huge"), "--size 'huge'"),
        (RunConfig(workload="mlp", batch_size=0), "--batch 0"),
        (RunConfig(workload="mlp", steps=0), "--steps 0"),
        (RunConfig(workload="mlp", precision="fp16"), "not available on cpu"),
        (RunConfig(workload="mlp", precision="int3"), "not available on cpu"),
    ],
)
def test_bad_input_is_one_line(cfg, message):
    with pytest.raises(PlannerError, match=message):
        prepare(cfg)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_on_a_machine_without_it():
    with pytest.raises(PlannerError, match="finds no CUDA GPU"):
        prepare(RunConfig(workload="mlp", device="cuda"))


def test_a_batch_that_does_not_fit_is_refused_before_allocating():
    with pytest.raises(OutOfMemoryError, match=r"--batch 100000000: .* not fit in cpu memory"):
        prepare(RunConfig(workload="cnn", batch_size=100_000_000))


def test_memory_estimate_grows_with_the_batch_and_training():
    w = get_workload("transformer")
    p = w.params("small")
    small = estimate_memory(w, p, 8, train=True, precision="fp32")
    big = estimate_memory(w, p, 64, train=True, precision="fp32")
    infer = estimate_memory(w, p, 64, train=False, precision="fp32")
    assert big.activations_bytes > 4 * small.activations_bytes
    assert infer.total_bytes < big.total_bytes
    assert small.state_bytes == 3 * small.params_bytes  # grads + two AdamW moments


def test_allocator_failures_are_recognised():
    assert is_oom(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried ..."))
    assert is_oom(MemoryError())
    assert not is_oom(RuntimeError("shape mismatch"))


def test_every_named_workload_exists_in_every_size():
    for name in WORKLOAD_NAMES:
        w = get_workload(name)
        assert w.name == name and set(w.sizes) == set(SIZES) == set(w.default_batch)
