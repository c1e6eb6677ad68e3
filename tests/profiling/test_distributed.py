"""Many processes: under torchrun each rank measures, rank 0 writes one record (gloo, CPU)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from planner.model.records import load_records

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_ranks_write_one_record_with_per_rank_figures(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "planner", "profile", "--workload", "mlp", "--mode", "train", "--steps", "40",
           "--batch", "8", "--warmup", "1", "--out", str(tmp_path), "--no-progress"]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    records, errors = load_records(tmp_path)
    assert errors == [] and len(records) == 1
    rec = records[0]
    r = rec.results
    assert rec.settings.world_size == 2
    assert [k.rank for k in r.ranks] == [0, 1]
    assert all(k.samples.value == 320 for k in r.ranks)
    assert r.samples.value == 640  # totals are sums over ranks
    assert r.flops.value == pytest.approx(sum(k.flops.value for k in r.ranks))
    assert r.wall_time_s.value == max(k.wall_time_s.value for k in r.ranks)
    assert r.cpu_energy_j.value == pytest.approx(sum(k.cpu_energy_j.value for k in r.ranks))
    assert r.gpu_energy_j is None


def test_without_torchrun_nothing_is_distributed(monkeypatch):
    from planner.profiling import distributed as dist

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert dist.world_size() == 1 and dist.rank() == 0
    assert dist.init("cpu") is False
    assert dist.gather("x") == ["x"]
