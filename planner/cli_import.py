"""The ``import`` sub-command: turn another tool's measurement file into records.

    python -m planner import emissions.csv                    # CodeCarbon, one record per run
    python -m planner import zeus.csv --device-name "NVIDIA H100 80GB HBM3" --precision bf16
    python -m planner import vllm-result.json --format vllm --out measurements/

Every record is checked before any is written, so a broken file writes nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from planner.errors import PlannerError
from planner.model.hardware import load_profiles
from planner.model.imports import FORMATS, ImportOptions, import_file
from planner.model.records import check_writable, write_record
from planner.model.workloads import load_presets


def register(subparsers) -> None:
    """Add ``import`` to the CLI."""
    p = subparsers.add_parser(
        "import", help="turn a CodeCarbon, Zeus or vLLM benchmark file into records",
        description="Read CodeCarbon's emissions.csv, a Zeus window log CSV or vLLM's serving "
        "benchmark JSON and write one measurement record per run (or window) to --out.")
    p.add_argument("file", type=Path, help="the file to import")
    p.add_argument("--out", type=Path, default=Path("measurements"),
                   help="folder for the records (default measurements/)")
    p.add_argument("--format", default="auto", choices=FORMATS,
                   help="the file's format (default: recognised from its content)")
    p.add_argument("--device-name", default=None,
                   help="the device as NVML or /proc/cpuinfo names it, where the file does not "
                   "say (Zeus, vLLM); noted in the record as given by you")
    p.add_argument("--precision", default=None,
                   help="the precision the run used (fp32, bf16, ...), needed to calibrate")
    p.add_argument("--mode", default=None, choices=("train", "infer"),
                   help="whether the run trained or served (vLLM: infer)")
    p.add_argument("--country", default=None,
                   help="ISO 3166 alpha-3 country of the run, where the file does not say")
    p.add_argument("--model", default=None,
                   help="the model preset the run served (profiles/models.yaml id, e.g. "
                   "llama-3-8b), so a vLLM result calibrates the serving model")
    p.add_argument("--tensor-parallel", type=int, default=None,
                   help="devices per replica of the run (vLLM --tensor-parallel-size)")
    p.add_argument("--dir", type=Path, default=None,
                   help="profiles folder (default profiles/hardware)")
    p.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise PlannerError(f"{args.file}: cannot be read ({exc.strerror or exc})") from None
    country = args.country.upper() if args.country else None
    if country is not None and not (len(country) == 3 and country.isalpha()):
        raise PlannerError(f"--country {args.country!r}: give an ISO 3166 alpha-3 code, e.g. FRA")
    if args.model is not None and args.model not in load_presets().models:
        raise PlannerError(f"--model {args.model!r}: not a model preset; choose one of "
                           f"{', '.join(sorted(load_presets().models))}")
    if args.tensor_parallel is not None and not 1 <= args.tensor_parallel <= 64:
        raise PlannerError(f"--tensor-parallel {args.tensor_parallel}: give 1 to 64 devices")
    options = ImportOptions(device_name=args.device_name, precision=args.precision,
                            mode=args.mode, country_iso_code=country, model=args.model,
                            tensor_parallel=args.tensor_parallel)
    records = import_file(data, str(args.file), load_profiles(args.dir).profiles,
                          args.format, options)
    check_writable(args.out)
    for record in records:
        path = write_record(record, args.out)
        energy = record.results.total_energy_j or record.results.gpu_energy_j
        print(f"{path}: {record.source.tool} {record.source.entry or ''} on "
              f"{record.device_name or 'an unnamed device'} "
              f"({record.hardware_id or 'no matching profile'}); energy "
              f"{f'{energy.value:,.6g} J' if energy else 'not in the file'}")
    print(f"imported {len(records)} record(s) from {args.file} into {args.out}")
    return 0
