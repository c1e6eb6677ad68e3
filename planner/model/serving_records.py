"""Calibration of the serving step model from serving records (issue 10 item 3).

A serving record is a measurement record with serving results (``results.serving``): an
imported vLLM serving benchmark (``python -m planner import result.json --model llama-3-8b
--device-name "NVIDIA H100 80GB HBM3" --precision bf16``) or any record in that shape. Each
one is planned as it ran (``serving_observation``: the model preset, the matched hardware
profile, the precision, the tensor-parallel size, its mean prompt and output tokens and its
mean running concurrency by Little's law, completed requests/s × mean end-to-end latency)
and compared with what it measured: the time per output token of one sequence (concurrency
over output tokens/s) and, where the file carries GPU energy, the mean GPU power.

``calibrate_serving`` fits, per hardware profile and precision, the decode bandwidth
efficiency (always), the engine overhead per step (where the records span concurrencies at
least ``SPREAD`` apart, so the two can be told apart) and the decode power (where energy is
given), with ``planner.model.serving_calibration``; the other constants stay at the
planner's defaults. The rows join the inference calibration (``calibration.calibrate``) and
a plan with that calibration uses them (``inference.serving_assumptions``).

The profiler's own inference-mode records time a forward pass over whole sequences (a
prefill, ``planner/profiling/workloads``): they carry no decode, so they calibrate the
prefill utilisation (``calibration.calibrate``) and not these constants.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from planner.errors import PlannerError
from planner.model import serving_calibration as sc
from planner.model.catalogue import catalogue_frame
from planner.model.defaults import Defaults, load_defaults
from planner.model.fleet import fleet_inputs
from planner.model.hardware import HardwareProfile
from planner.model.records import Record
from planner.model.scenario import parse_scenario
from planner.model.serving import plan_serving
from planner.model.workloads import load_presets

#: The lowest over the highest concurrency of a group's records must be below 1 / SPREAD for
#: the engine overhead to be fitted beside the bandwidth efficiency.
SPREAD = 2.0
SERVING_COLUMNS = ["hardware_id", "precision", "mode", "bandwidth_utilisation",
                   "engine_overhead_s_per_step", "decode_power_w", "n_serving_records",
                   "serving_runs"]
#: The time and power constants held at their defaults whatever the records.
ALWAYS_HELD = ("utilisation", "busy_power_fraction")


def _value(q) -> float:
    return float(q.value) if q is not None else float("nan")


def record_model(record: Record) -> str | None:
    """The model preset a record ran: ``workload_params['model']`` (``import --model``) or
    the workload itself where it names a preset."""
    presets = load_presets().models
    given = record.settings.workload_params.get("model")
    for candidate in (given, record.settings.workload):
        if isinstance(candidate, str) and candidate in presets:
            return candidate
    return None


def serving_observation(record: Record, planner) -> tuple[sc.Observation | None, str]:
    """The record planned as it ran, with what it measured, or (None, why not)."""
    s = record.results.serving
    if record.status != "complete" or s is None:
        return None, "not a complete serving record"
    model = record_model(record)
    if model is None:
        return None, "no model preset (import with --model PRESET)"
    if not record.hardware_id:
        return None, "no matching hardware profile (import with --device-name)"
    precision = record.settings.precision
    if not precision:
        return None, "precision not stated (import with --precision)"
    done, rate = _value(s.requests_completed), _value(s.requests_per_s)
    out_rate = _value(s.output_tokens_per_s)
    e2el = _value(s.e2el.mean_s) if s.e2el is not None else float("nan")
    concurrency = rate * e2el if np.isfinite(rate * e2el) else float(s.max_concurrency or "nan")
    prompt, output = _value(s.input_tokens) / done, _value(s.output_tokens) / done
    if not all(np.isfinite([concurrency, out_rate, prompt, output])) or min(
            concurrency, out_rate, output) <= 0:
        return None, "needs completed requests, their tokens, output tokens/s and latency"
    tp = int(record.settings.workload_params.get("tensor_parallel", 1))
    try:
        scenario = parse_scenario({"inference": {
            "model": model, "hardware": record.hardware_id, "precision": precision,
            "batch_size": max(int(np.ceil(concurrency)), int(s.max_concurrency or 1)),
            "batch_policy": "fixed", "tensor_parallel": tp, "prompt_tokens": prompt,
            "output_tokens": output}})
        row = plan_serving(planner, scenario, planner.resolve_site(scenario))
    except PlannerError as exc:
        return None, f"cannot be planned: {exc}"
    if not bool(row["feasible"].iloc[0]):
        return None, f"cannot be planned: {row['infeasible_reason'].iloc[0]}"
    rated = float(planner.catalogue.set_index("hardware_id").loc[record.hardware_id,
                                                                 "rated_power_w"])
    energy = _value(record.results.gpu_energy_j)
    duration = _value(record.results.wall_time_s)
    power = energy / duration if energy > 0 and duration > 0 else float("nan")
    return sc.Observation(c=fleet_inputs(row), concurrency=concurrency,
                          s_per_token=concurrency / out_rate, power_w=power, rated_w=rated,
                          label=record.run_id), ""


def _planner(profiles: Sequence[HardwareProfile], defaults: Defaults):
    from planner.model.plan import Planner  # plan imports the model modules this one uses

    return Planner(tuple(profiles), catalogue_frame(list(profiles)), defaults)


def calibrate_serving(records: Sequence[Record], profiles: Sequence[HardwareProfile],
                      defaults: Defaults | None = None) -> pd.DataFrame:
    """Per (hardware_id, precision): decode bandwidth efficiency, engine overhead per step
    (NaN where the records cannot separate it) and decode power [W] (NaN without energy)
    fitted on the serving records (``SERVING_COLUMNS``)."""
    defaults = defaults or load_defaults()
    serving = [r for r in records if r.results.serving is not None]
    if not serving:
        return pd.DataFrame(columns=SERVING_COLUMNS)
    planner = _planner(profiles, defaults)
    groups: dict[tuple[str, str], list[sc.Observation]] = {}
    for r in serving:
        o, _ = serving_observation(r, planner)
        if o is not None:
            groups.setdefault((r.hardware_id, r.settings.precision), []).append(o)
    rows = []
    for (hw, precision), obs in groups.items():
        start = {"bandwidth_utilisation": float(obs[0].c["bandwidth_utilisation"][0]),
                 "engine_overhead_s_per_step": float(obs[0].c["engine_overhead_s_per_step"][0]),
                 "utilisation": float(obs[0].c["utilisation"][0]),
                 "decode_power_fraction": float(obs[0].c["decode_power_w"][0]) / obs[0].rated_w,
                 "busy_power_fraction": float(obs[0].c["busy_power_w"][0]) / obs[0].rated_w}
        counts = [o.concurrency for o in obs]
        held = {k: start[k] for k in ALWAYS_HELD}
        spread = max(counts) / min(counts) >= SPREAD
        if not spread:
            held["engine_overhead_s_per_step"] = start["engine_overhead_s_per_step"]
        result = sc.fit(obs, start, held)
        k = result.constants
        with_power = "decode_power_fraction" in result.fitted
        rows.append({
            "hardware_id": hw, "precision": precision, "mode": "infer",
            "bandwidth_utilisation": k["bandwidth_utilisation"],
            "engine_overhead_s_per_step": k["engine_overhead_s_per_step"] if spread
            else np.nan,
            "decode_power_w": k["decode_power_fraction"] * obs[0].rated_w if with_power
            else np.nan,
            "n_serving_records": len(obs), "serving_runs": ",".join(result.on)})
    return pd.DataFrame(rows, columns=SERVING_COLUMNS)
