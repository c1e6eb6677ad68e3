"""Record, then compare, every table the serving model gives, to check that a change meant to
make it faster leaves its answers as they were.

    python tests/model/serving_snapshot.py record BEFORE.pkl    # on the code before the change
    python tests/model/serving_snapshot.py compare BEFORE.pkl   # on the code after it

Cases: every example with an inference section, the dashboard's default scenario, variants of
the chat example (autoscaling, a fixed batch, a generic model, a lone TTFT target) and the
lifecycle example's Monte Carlo over every data-centre profile (as ``bench/monte_carlo.py``).
Per case, the sized grid before the batch choice (every hardware × batch × TP row) and every
table of the plan. Numbers must agree to a relative 1e-9 (NaN with NaN), text exactly.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from planner.dashboard import state  # noqa: E402
from planner.model import serving  # noqa: E402
from planner.model.inference import evaluate_inference  # noqa: E402
from planner.model.plan import Planner  # noqa: E402
from planner.model.scenario import Scenario, UncertaintySpec, load_scenario  # noqa: E402
from planner.model.uncertainty import plan_uncertainty  # noqa: E402

RTOL = 1e-9


def _scenarios(planner: Planner) -> dict[str, Scenario]:
    out = {}
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        sc = load_scenario(path)
        if sc.inference is not None:
            out[path.stem] = sc
    default = state.to_scenario(state.default_state(planner.defaults), planner.defaults)
    out["dashboard-default"] = Scenario.model_validate(default)
    chat = out["llama-8b-chat-serving"]

    def variant(**update):
        return chat.model_copy(update={"inference": chat.inference.model_copy(update=update)})

    out["chat-autoscaling"] = variant(autoscaling=True)
    out["chat-fixed-batch"] = variant(batch_policy="fixed", batch_size=32)
    out["chat-ttft-only"] = variant(latency_p95_s=None, ttft_s=0.5, tpot_s=0.05)
    out["chat-heavy-cv"] = variant(service_time_cv=1.0, headroom=0.05)
    out["generic-resnet50"] = Scenario.model_validate({
        "name": "resnet-50 serving", "site": {"cloud_provider": "aws",
                                               "cloud_region": "us-east-1"},
        "inference": {"model": "resnet-50", "precision": "int8", "batch_size": 64,
                      "requests_per_s_avg": 400, "requests_per_s_peak": 900,
                      "latency_p95_s": 0.2,
                      "hardware": ["nvidia-h100-sxm", "nvidia-l4", "google-tpu-v5e"]}})
    return out


def collect() -> dict[str, pd.DataFrame]:
    planner = Planner.load()
    tables: dict[str, pd.DataFrame] = {}
    cases = _scenarios(planner)
    for name, sc in cases.items():
        site = planner.resolve_site(sc)
        traffic = serving.resolve_traffic(sc.inference)
        if traffic is not None:
            grid = serving.serving_grid(planner, sc, site)
            tables[f"{name}/sized_grid"] = serving.size_fleet(evaluate_inference(grid), traffic,
                                                              sc.inference)
        try:
            result = planner.plan(sc)
        except Exception as err:  # a scenario whose targets no hardware meets
            tables[f"{name}/error"] = pd.DataFrame({"error": [str(err)]})
            continue
        for section in ("training", "inference"):
            if getattr(result, section) is not None:
                tables[f"{name}/{section}"] = getattr(result, section)
        for key, value in result.extras.items():
            if isinstance(value, pd.DataFrame):
                tables[f"{name}/{key}"] = value
    # The bench's case: the lifecycle example on every data-centre profile.
    sc = load_scenario(ROOT / "examples" / "llama-8b-lifecycle.yaml")
    every = planner.catalogue.loc[planner.catalogue["placement"] != "edge", "hardware_id"].tolist()
    sc = sc.model_copy(update={s: getattr(sc, s).model_copy(update={"hardware": every})
                               for s in ("training", "inference")})
    plan = planner.plan(sc.model_copy(update={"uncertainty": None}))
    spec = (sc.uncertainty or UncertaintySpec()).model_copy(update={"draws": 10_000})
    for auto in (False, True):
        inf_spec = sc.inference.model_copy(update={"autoscaling": auto})
        u = plan_uncertainty(spec, inf_spec, plan.training, plan.inference)
        tables[f"mc-every-profile-autoscaling-{auto}/summary"] = u.summary
        tables[f"mc-every-profile-autoscaling-{auto}/sensitivity"] = u.sensitivity
        for key, v in u.draws.items():
            tables[f"mc-every-profile-autoscaling-{auto}/draws/{key}"] = pd.DataFrame(v)
    # Monte Carlo over a daily profile (fixed and autoscaled fleets) and with devices in users'
    # hands (the plan's own hardware).
    for name in ("llama-8b-chat-serving", "chat-autoscaling", "edge-vs-cloud"):
        sc = cases[name]
        plan = planner.plan(sc)
        u = plan_uncertainty(UncertaintySpec(draws=2_000, seed=3), sc.inference, None,
                             plan.inference)
        tables[f"mc-{name}/summary"] = u.summary
        tables[f"mc-{name}/sensitivity"] = u.sensitivity
        for key, v in u.draws.items():
            tables[f"mc-{name}/draws/{key}"] = pd.DataFrame(v)
    return tables


def compare(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> list[str]:
    problems = []
    for key in sorted(set(before) | set(after)):
        if key not in before or key not in after:
            problems.append(f"{key}: only {'after' if key in after else 'before'}")
            continue
        a, b = before[key], after[key]
        if list(a.columns) != list(b.columns) or len(a) != len(b):
            problems.append(f"{key}: columns or rows differ")
            continue
        for col in a.columns:
            x, y = a[col].to_numpy(), b[col].to_numpy()
            try:
                xf, yf = x.astype(float), y.astype(float)
            except (TypeError, ValueError):
                bad = np.flatnonzero([str(p) != str(q) for p, q in zip(x, y, strict=True)])
                if bad.size:
                    problems.append(f"{key}.{col}: {bad.size} text differ, first row {bad[0]}: "
                                    f"{x[bad[0]]!r} != {y[bad[0]]!r}")
                continue
            same = (np.isclose(xf, yf, rtol=RTOL, atol=0.0) | (np.isnan(xf) & np.isnan(yf))
                    | (xf == yf))
            if not same.all():
                i = np.flatnonzero(~same)
                rel = np.nanmax(np.abs(xf[i] - yf[i]) / np.abs(xf[i]))
                problems.append(f"{key}.{col}: {i.size} differ (max rel {rel:.3g}), first row "
                                f"{i[0]}: {xf[i[0]]!r} != {yf[i[0]]!r}")
    return problems


def main() -> None:
    action, path = sys.argv[1], Path(sys.argv[2])
    tables = collect()
    if action == "record":
        path.write_bytes(pickle.dumps(tables))
        print(f"recorded {len(tables)} tables in {path}")
        return
    problems = compare(pickle.loads(path.read_bytes()), tables)
    print("\n".join(problems) if problems else f"all {len(tables)} tables agree (rtol {RTOL})")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
