"""Peer baseline: llm-analysis (cli99/llm-analysis, Apache-2.0) on the validation runs.

    pip install llm-analysis fire     # once; offline afterwards
    python bench/peer_llm_analysis.py  # writes tests/model/data/peer_llm_analysis.csv

For every case of ``tests/model/data/published_training_runs.csv`` this runs llm-analysis's
``train()`` with the case's shape, device, device count and batch, the published layout where
one is given (else tensor parallelism 8 and data parallelism over the rest), ZeRO-1, the
case's recomputation where its ``parallelism`` names one (else selective) and
``flops_efficiency=0.5`` (its own note: "FLOPS efficiency achieved by Megatron-LM is ~0.5").
Device-hours = devices × ``total_training_latency`` ÷ 3600. TPUs are not in its GPU catalogue
(nor the H800), so those cases have no peer figure. Its model config takes a 4·h FFN and
no grouped-query attention, so the parameter count is its own 12·L·h² estimate. The validation
table (``tests/model/validation_cases.py``) reads the CSV written here.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "model" / "data" / "published_training_runs.csv"
OUT = ROOT / "tests" / "model" / "data" / "peer_llm_analysis.csv"
GPUS = {"nvidia-a100-sxm-80gb": "a100-sxm-80gb", "nvidia-h100-sxm": "h100-sxm-80gb",
        "nvidia-v100-sxm2-32gb": "v100-sxm-32gb", "nvidia-h800-sxm": "h800-sxm-80gb",
        "nvidia-a100-sxm-40gb": "a100-sxm-40gb"}
RECOMPUTE = {"none": 0, "selective": 1, "full": 2}  # llm-analysis's ActivationRecomputation
FLOPS_EFFICIENCY = 0.5
# FP8 cases: its 8-bit weights and activations (the GEMMs at its 8-bit peak, 1979 TFLOP/s on
# an H100), 16-bit embeddings; every other case 16-bit throughout.
DTYPES = {"fp8": "w8a8e16"}


def _layout(row) -> tuple[int, int]:
    text = row.published_layout if isinstance(row.published_layout, str) else ""
    if not re.search(r"tp\d+", text) and isinstance(row.parallelism, str):
        text = row.parallelism  # e.g. the NeMo tables' "TP 4, PP 8": the parsed layout
    tp = re.search(r"tp(\d+)", text)
    pp = re.search(r"pp(\d+)", text)
    return (int(tp.group(1)) if tp else (1 if row.experts > 1 else 8),
            int(pp.group(1)) if pp else 1)


def _recompute(row) -> str:
    text = row.parallelism if isinstance(getattr(row, "parallelism", None), str) else ""
    found = re.search(r"recompute=(\w+)", text)
    return found.group(1) if found else "selective"


def peer_device_hours(row, folder: Path) -> tuple[float, str]:
    """llm-analysis's device-hours for one case, or NaN and why not."""
    try:
        from llm_analysis.analysis import train
    except ImportError:
        return float("nan"), "llm-analysis not installed"
    if row.hardware not in GPUS:
        return float("nan"), "no TPU in llm-analysis's device catalogue"
    tp, pp = _layout(row)
    experts = 1 if pd.isna(row.experts) else int(row.experts)
    cfg = {"name": row.case, "num_layers": int(row.layers), "n_head": int(row.heads),
           "hidden_dim": int(row.hidden), "vocab_size": int(row.vocab),
           "max_seq_len": int(row.sequence_tokens), "ffn_embed_dim": 4 * int(row.hidden),
           "moe_num_experts": experts,
           "moe_top_k": 1 if pd.isna(row.experts_per_token) else int(row.experts_per_token)}
    path = folder / f"{row.case}.json"
    path.write_text(json.dumps(cfg))
    devices = int(row.devices) // (tp * pp) * (tp * pp)
    sequences = int(row.global_batch_tokens // row.sequence_tokens)
    dp = devices // (tp * pp)
    sequences = max(dp, sequences // dp * dp)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            out = train(model_name=str(path), gpu_name=GPUS[row.hardware],
                        dtype_name=DTYPES.get(row.precision, "w16a16e16"),
                        total_num_gpus=devices, tp_size=tp,
                        pp_size=pp, ep_size=1, seq_len=int(row.sequence_tokens),
                        global_batch_size=sequences, batch_size_per_gpu=1,
                        total_num_tokens=float(row.tokens),
                        activation_recomputation=RECOMPUTE[_recompute(row)],
                        ds_zero=1, flops_efficiency=FLOPS_EFFICIENCY, log_level="ERROR")
    except Exception as exc:  # the peer's own assertions (e.g. memory): say so, no figure
        return float("nan"), f"llm-analysis refused: {str(exc)[:80]}"
    hours = int(row.devices) * out["total_training_latency"] / 3600.0
    note = (f"tp{tp} pp{pp} dp{dp} recompute={_recompute(row)}, flops_efficiency "
            f"{FLOPS_EFFICIENCY}, {DTYPES.get(row.precision, 'w16a16e16')}")
    if row.kind == "throughput":
        note += "; no restarts (steady state)"
    return hours, note


def main() -> None:
    cases = pd.read_csv(CASES, comment="#")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for row in cases.itertuples():
            hours, note = peer_device_hours(row, Path(tmp))
            rows.append({"case": row.case, "peer_device_hours": hours, "peer_note": note})
    table = pd.DataFrame(rows)
    import importlib.metadata as md

    try:
        version = md.version("llm-analysis")
    except md.PackageNotFoundError:
        version = "not installed"
    header = (f"# llm-analysis {version} on the validation runs, written by "
              "bench/peer_llm_analysis.py (flops_efficiency 0.5, ZeRO-1, the case's "
              "recomputation; see its docstring)\n")
    OUT.write_text(header + table.to_csv(index=False), encoding="utf-8")
    print(table.to_string(index=False))
    print(f"wrote {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
