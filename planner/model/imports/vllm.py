"""The JSON result of vLLM's serving benchmark (``benchmarks/benchmark_serving.py
--save-result``, ``vllm bench serve --save-result``): one record per file.

Format (vllm-project/vllm, ``benchmark_serving.py``: ``result_json``): ``date``
(``%Y%m%d-%H%M%S``, local time), ``backend``, ``model_id``, ``num_prompts``, ``request_rate``
(a number or ``"inf"``), ``max_concurrency`` (later versions), ``duration`` (s),
``completed``, ``total_input_tokens``, ``total_output_tokens``, ``request_throughput``
(req/s), ``output_throughput`` and ``total_token_throughput`` (tok/s), and for each of
``ttft``, ``tpot``, ``itl``, ``e2el``: ``mean_<m>_ms``, ``median_<m>_ms``, ``std_<m>_ms``
and ``p<P>_<m>_ms`` for every ``--metric-percentiles`` P. The benchmark measures no energy:
energy is read only where the file carries it (``gpu_energy_j`` or ``total_energy_j``, for
example added with ``--metadata gpu_energy_j=...``), and is otherwise null. The file names
neither the device nor the precision.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from planner.errors import PlannerError
from planner.model.hardware import HardwareProfile
from planner.model.imports.common import (
    ImportOptions,
    content_id,
    match_device,
    naive_as_utc,
    number,
    text_or_none,
    unknown_machine,
    user_notes,
)
from planner.model.records import (
    LatencyStats,
    Record,
    Results,
    ServingResult,
    Settings,
    Source,
    quantity,
)

FORMAT = "vllm_serving_benchmark_json"
REQUIRED = ("duration", "completed", "request_throughput")
METHOD = "vllm_serving_benchmark"
METRICS = ("ttft", "tpot", "itl", "e2el")


def looks_like(raw: object) -> bool:
    """A JSON object with the benchmark's result keys."""
    return isinstance(raw, dict) and "request_throughput" in raw and "completed" in raw


def _stats(raw: dict, metric: str, origin: str) -> LatencyStats | None:
    def q(key: str):
        ms = number(raw.get(key), origin, key)
        return quantity(None if ms is None else ms / 1000.0, "s", METHOD, True, f"{key} / 1000")

    pattern = re.compile(rf"^p(\d+(?:\.\d+)?)_{metric}_ms$")
    percentiles = {f"p{m.group(1)}": q(key) for key in raw if (m := pattern.match(key))}
    stats = LatencyStats(mean_s=q(f"mean_{metric}_ms"), median_s=q(f"median_{metric}_ms"),
                         std_s=q(f"std_{metric}_ms"),
                         percentiles_s={k: v for k, v in percentiles.items() if v is not None})
    empty = stats.mean_s is None and stats.median_s is None and not stats.percentiles_s
    return None if empty else stats


def parse(data: bytes, raw: dict, origin: str, file: str, profiles: Sequence[HardwareProfile],
          options: ImportOptions, imported_at: dt.datetime) -> list[Record]:
    """The benchmark result as one inference record; PlannerError naming what is wrong."""
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise PlannerError(f"{origin}: a vLLM serving benchmark result needs "
                           f"{', '.join(REQUIRED)}; missing {', '.join(missing)}")
    duration = number(raw["duration"], origin, "duration")
    completed = number(raw["completed"], origin, "completed")
    if not duration or duration <= 0 or not completed or completed <= 0:
        raise PlannerError(f"{origin}: the benchmark has no results (completed "
                           f"{raw['completed']!r} requests in {raw['duration']!r} s)")
    notes = user_notes(options)
    stamp = text_or_none(raw.get("date"))
    ended = None
    if stamp:
        try:
            ended = dt.datetime.strptime(stamp, "%Y%m%d-%H%M%S")
        except ValueError:
            notes.append(f"date {stamp!r} is not %Y%m%d-%H%M%S; import time used")
    if ended is None:
        ended = imported_at
        notes.append("the file has no usable date; the run's times are the import time")
    ended = naive_as_utc(ended, notes, "vLLM's date (when the result was saved)")

    def q(key: str, unit: str, note: str | None = None):
        return quantity(number(raw.get(key), origin, key), unit, METHOD, True, note)

    rate = raw.get("request_rate")
    concurrency = number(raw.get("max_concurrency"), origin, "max_concurrency")
    serving = ServingResult(
        requests_sent=quantity(number(raw.get("num_prompts"), origin, "num_prompts"),
                               "requests", METHOD, True),
        requests_completed=quantity(completed, "requests", METHOD, True),
        input_tokens=q("total_input_tokens", "tokens"),
        output_tokens=q("total_output_tokens", "tokens"),
        request_rate_per_s=None if rate in (None, "inf") else quantity(
            number(rate, origin, "request_rate"), "requests/s", METHOD, False,
            "the offered (Poisson) rate the benchmark was set to"),
        max_concurrency=int(concurrency) if concurrency and concurrency >= 1 else None,
        requests_per_s=q("request_throughput", "requests/s"),
        output_tokens_per_s=q("output_throughput", "tokens/s"),
        total_tokens_per_s=q("total_token_throughput", "tokens/s"),
        **{m: _stats(raw, m, origin) for m in METRICS},
    )
    energies = {}
    for key in ("gpu_energy_j", "total_energy_j"):
        joules = number(raw.get(key), origin, key)
        if joules is not None and joules <= 0:
            raise PlannerError(f"{origin}: field `{key}` is {raw[key]!r}, expected joules > 0")
        energies[key] = quantity(joules, "J", "file_reported", False,
                                 f"`{key}` in the benchmark file; how it was measured is not "
                                 "stated")
    if not any(energies.values()):
        notes.append("vLLM's benchmark measures no energy; energy not in the file")
    e2el = serving.e2el
    results = Results(
        wall_time_s=q("duration", "s", "benchmark duration"),
        samples=quantity(completed, "requests", METHOD, True, "completed requests"),
        tokens=serving.output_tokens,
        throughput_samples_per_s=serving.requests_per_s,
        tokens_per_s=serving.output_tokens_per_s,
        latency_mean_s=e2el.mean_s if e2el else None,
        latency_p50_s=e2el.median_s if e2el else None,
        latency_p95_s=e2el.percentiles_s.get("p95") if e2el else None,
        latency_p99_s=e2el.percentiles_s.get("p99") if e2el else None,
        gpu_energy_j=energies["gpu_energy_j"],
        total_energy_j=energies["total_energy_j"],
        serving=serving,
    )
    params = {k: raw[k] for k in ("backend", "model_id", "tokenizer_id", "burstiness")
              if isinstance(raw.get(k), (str, int, float)) and not isinstance(raw[k], bool)}
    # what the user says the run served (serving calibration: planner.model.serving_records)
    if options.model:
        params["model"] = options.model
    if options.tensor_parallel:
        params["tensor_parallel"] = int(options.tensor_parallel)
    device_name = options.device_name
    return [Record(
        run_id=content_id(data, "vllm result"),
        status="complete",
        started_at=ended - dt.timedelta(seconds=duration),
        ended_at=ended,
        machine=unknown_machine(),
        settings=Settings(workload=text_or_none(raw.get("model_id")), mode=options.mode or "infer",
                          precision=options.precision, device=None, warmup_steps=None,
                          country_iso_code=options.country_iso_code, cpu_tracking_mode=None,
                          workload_params=params),
        results=results,
        device_name=device_name,
        hardware_id=match_device(device_name, profiles, None),
        notes=notes,
        source=Source(tool="vllm", format=FORMAT, file=file, entry=None,
                      imported_at=imported_at),
    )]
