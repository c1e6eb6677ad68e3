"""Streamlit helpers shared by the pages: the current scenario's plan (or an error message),
CSV download buttons, table column labels with units, and provenance notes."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from planner.dashboard import loaders, state, tables
from planner.dashboard.formats import plain
from planner.dashboard.provenance import note
from planner.errors import PlannerError, ScenarioError
from planner.model.plan import PlanResult
from planner.model.plausibility import plausibility_warnings
from planner.model.site import ResolvedSite


def current_state() -> dict[str, object]:
    """The dashboard state from the session (every field, defaults where unset)."""
    defaults = loaders.get_planner().defaults
    base = state.default_state(defaults)
    # One snapshot of the session: a lookup per input through the session-state proxy cost
    # ~5 ms a call, and a page calls this a dozen times a run.
    session = st.session_state.to_dict()
    current = {k: session.get(k, v) for k, v in base.items()}
    current[state.GIVEN] = list(session.get(state.GIVEN) or ())
    return current


def scenario(sections: tuple[str, ...] = ("training", "inference"),
             current: dict[str, object] | None = None) -> dict:
    """The scenario dict of the current state (or of ``current``, a ``current_state()``
    taken this run) with only ``sections``."""
    return state.to_scenario(current_state() if current is None else current,
                             loaders.get_planner().defaults, sections)


USE_CALIBRATION = "use_cal"
# This session's uploaded records, SHA-256 of the bytes → JSON text: in session state only, so
# they are released when the session ends and no other visitor sees them.
UPLOADS = "_uploaded_records"


def uploads() -> tuple[tuple[str, str], ...]:
    """This session's uploaded records as (digest, text) pairs, for cache keys."""
    return tuple(sorted(st.session_state.get(UPLOADS, {}).items()))


def calibration_key() -> str:
    """The calibration table as JSON when plans should use it (else ""): a cache key."""
    if not st.session_state.get(USE_CALIBRATION):
        return ""
    _, table, _ = loaders.calibration_tables(loaders.records_signature(), uploads())
    return "" if table.empty else table.to_json(orient="split")


def plan(data: dict) -> PlanResult:
    """The (cached) plan of a scenario dict, calibrated when the user asked for it."""
    return loaders.plan(state.plan_key(data), calibration_key())


def problems(sections: tuple[str, ...], current: dict[str, object] | None = None) -> list[str]:
    """The inputs of ``sections`` outside their range, in the widgets' words and units."""
    return state.check(current_state() if current is None else current,
                       loaders.get_planner().defaults, sections)


def plan_or_error(sections: tuple[str, ...] = ("training", "inference")) -> PlanResult | None:
    """Plan the current scenario's ``sections``; on bad input show the reason (in the words
    and units of the widgets) and give None."""
    current = current_state()  # one snapshot for the check and the scenario
    bad = problems(sections, current)
    if bad:
        st.error("Cannot plan this scenario: " + plain("; ".join(bad)) + ".", icon="⚠️")
        return None
    try:
        result = plan(scenario(sections, current))
    except PlannerError as exc:
        st.error(f"Cannot plan this scenario: {plain(state.explain(str(exc)))}", icon="⚠️")
        return None
    for warning in plausibility_warnings(result.scenario, result.training, result.inference):
        st.warning(f"Implausible plan: {plain(warning)}", icon=":material/help:")
    return result


def uncertainty(sections: tuple[str, ...], phase: str, hardware_ids) -> tuple:
    """P10/P50/P90 summary and sensitivity of some options of the current scenario's plan,
    with the Monte Carlo draws and seed of the state; PlannerError for bad settings."""
    s = current_state()
    bad = problems(("uncertainty",), s)
    if bad:
        raise ScenarioError("; ".join(bad))
    return loaders.uncertainty(state.plan_key(scenario(sections, s)), phase,
                               tuple(sorted(hardware_ids)), int(s["u_draws"]),
                               int(s["u_seed"]), calibration_key())


def csv_download(frame: pd.DataFrame | Callable[[], pd.DataFrame], file_name: str, key: str,
                 label: str = "Download this table (CSV)") -> None:
    """A download button for ``frame`` (or the frame a function gives) as CSV (no index),
    the format the CLI writes. The CSV is made when clicked, so a rerun does not pay for it
    (nor for the frame, when given as a function)."""
    def data() -> str:
        return (frame() if callable(frame) else frame).to_csv(index=False)

    st.download_button(label, data=data, file_name=file_name,
                       mime="text/csv", key=key, icon=":material/download:", on_click="ignore",
                       help="Every column of the table, including the provenance columns.")


def provenance_note(frame: pd.DataFrame, site: ResolvedSite | None = None,
                    extra: str = "") -> None:
    """The "where these numbers come from" note under a chart or table."""
    st.caption(note(frame, site, extra))


def site_banner(site: ResolvedSite) -> None:
    """One line under a page title: where the work runs and on what grid."""
    calibrated = " · :material/straighten: calibrated from measurements" \
        if calibration_key() else ""
    st.caption(f":material/location_on: {site.intensity_label} · "
               f"**{site.carbon_intensity_g_per_kwh:.0f} g CO2e/kWh** (data year "
               f"{site.intensity_year}) · PUE {site.pue:g}{calibrated} · change these in the "
               "sidebar")


def _num(label: str, fmt: str, help_text: str | None = None):
    return st.column_config.NumberColumn(label, format=fmt, help=help_text)


COLUMNS = {
    "hardware_id": st.column_config.TextColumn("id"),
    "name": st.column_config.TextColumn("device"),
    "device_class": st.column_config.TextColumn("class"),
    "feasible": st.column_config.CheckboxColumn("can run"),
    "infeasible_reason": st.column_config.TextColumn("why not"),
    "precision_used": st.column_config.TextColumn("precision"),
    "devices": _num("devices", "%,d"),
    "min_devices_for_memory": _num("min devices (memory)", "%,d"),
    "days": _num("days", "%.1f"),
    "hours": _num("hours", "%,.0f"),
    "device_hours": _num("device-hours", "%,.0f"),
    "energy_kwh": _num("energy (kWh)", "%,.0f"),
    "device_energy_kwh": _num("device energy (kWh)", "%,.0f"),
    "host_energy_kwh": _num("host energy (kWh)", "%,.0f"),
    "facility_energy_kwh": _num("facility energy (kWh)", "%,.0f"),
    "co2e_kg": _num("operational CO2e (kg)", "%,.0f"),
    "embodied_co2e_kg": _num("embodied CO2e (kg)", "%,.0f"),
    "total_co2e_kg": _num("total CO2e (kg)", "%,.0f"),
    "cost_usd": _num("cost (USD)", "$%,.0f"),
    "cloud_cost_usd": _num("cloud cost (USD)", "$%,.0f"),
    "on_prem_cost_usd": _num("on-prem cost (USD)", "$%,.0f"),
    "utilisation": _num("utilisation", "%.2f"),
    "busy_power_w": _num("busy power (W)", "%,.0f"),
    "pue": _num("PUE", "%.2f"),
    "carbon_intensity_g_per_kwh": _num("grid (g/kWh)", "%,.0f"),
    "price_usd_per_device_hour": _num("price (USD/device-h)", "$%.2f"),
    "embodied_co2e_kg_per_device": _num("embodied per device (kg)", "%,.0f"),
    "service_life_years": _num("life (years)", "%.1f"),
    "utilisation_basis": st.column_config.TextColumn("utilisation from"),
    "power_basis": st.column_config.TextColumn("power from"),
    "throughput_basis": st.column_config.TextColumn("throughput from"),
    "price_basis": st.column_config.TextColumn("price from"),
    "embodied_basis": st.column_config.TextColumn("embodied from"),
    "assumptions": st.column_config.TextColumn("assumptions", width="large"),
    "devices_per_replica": _num("devices / replica", "%,d"),
    "batch_size": _num("batch", "%,d"),
    "ttft_s": _num("time to first token (s)", "%.3f"),
    "tpot_s": _num("time per output token (s)", "%.4f"),
    "latency_s": _num("latency (s)", "%.2f"),
    "requests_per_s_per_replica": _num("requests/s per replica", "%.2f"),
    "tokens_per_s_per_replica": _num("tokens/s per replica", "%,.0f"),
    "energy_kwh_per_1k_requests": _num("energy / 1k req (kWh)", "%.3f"),
    "co2e_kg_per_1k_requests": _num("CO2e / 1k req (kg)", "%.3f"),
    "embodied_co2e_kg_per_1k_requests": _num("embodied CO2e / 1k req (kg)", "%.4f"),
    "cost_usd_per_1k_requests": _num("cost / 1k req (USD)", "$%.3f"),
    "cost_usd_per_1m_tokens": _num("cost / 1M tokens (USD)", "$%.2f"),
    "co2e_kg_per_1m_tokens": _num("CO2e / 1M tokens (kg)", "%.2f"),
    "energy_kwh_per_1m_tokens": _num("energy / 1M tokens (kWh)", "%.2f"),
    "fleet_devices": _num("fleet devices", "%,d"),
    "fleet_replicas": _num("replicas", "%,d"),
    "fleet_latency_p95_s": _num("p95 latency (s)", "%.2f"),
    "fleet_ttft_p95_s": _num("p95 time to first token (s)", "%.2f"),
    "fleet_peak_utilisation": _num("peak utilisation", "%.2f"),
    "fleet_mean_utilisation": _num("mean utilisation", "%.2f"),
    "fleet_meets_target": st.column_config.CheckboxColumn("meets target"),
    "annual_cost_usd": _num("cost / year (USD)", "$%,.0f"),
    "annual_energy_kwh": _num("energy / year (kWh)", "%,.0f"),
    "annual_co2e_kg": _num("operational CO2e / year (kg)", "%,.0f"),
    "annual_embodied_co2e_kg": _num("embodied CO2e / year (kg)", "%,.0f"),
    "annual_total_co2e_kg": _num("CO2e / year (kg)", "%,.0f"),
    "annual_device_hours": _num("device-hours / year", "%,.0f"),
    "fleet_cost_usd_per_1k_requests": _num("cost / 1k req (USD)", "$%.3f"),
    "fleet_energy_kwh_per_1k_requests": _num("energy / 1k req (kWh)", "%.3f"),
    "fleet_total_co2e_kg_per_1k_requests": _num("CO2e / 1k req (kg)", "%.4f"),
    "fleet_cost_usd_per_1m_tokens": _num("cost / 1M tokens (USD)", "$%.2f"),
    "one_off_cost_usd": _num("one-off cost (USD)", "$%,.0f"),
    "payback_months": _num("payback (months)", "%.1f"),
    "cost_vs_baseline": _num("cost × baseline", "%.2f"),
    "energy_vs_baseline": _num("energy × baseline", "%.2f"),
    "co2e_vs_baseline": _num("CO2e × baseline", "%.2f"),
    "started_at": st.column_config.DatetimeColumn("started (UTC)", format="YYYY-MM-DD HH:mm"),
    "device_name": st.column_config.TextColumn("device as reported"),
    "measured_time_s": _num("measured time (s)", "%.3g"),
    "predicted_time_s": _num("predicted time (s)", "%.3g"),
    "time_error": _num("time error", "percent"),
    "measured_energy_j": _num("measured energy (J)", "%.4g"),
    "predicted_energy_j": _num("predicted energy (J)", "%.4g"),
    "energy_error": _num("energy error", "percent"),
    "energy_method": st.column_config.TextColumn("energy measured by"),
    "device_energy_method": st.column_config.TextColumn("energy measured by"),
    "device_energy_j": _num("device energy (J)", "%.4g"),
    "achieved_utilisation": _num("achieved utilisation", "%.3f"),
    "default_utilisation": _num("default utilisation", "%.2f"),
    "n_records": _num("records", "%d"),
    "n_power_records": _num("with measured power", "%d"),
    "source_runs": st.column_config.TextColumn("from runs"),
    "wall_time_s": _num("wall time (s)", "%.3g"),
    "flops": _num("FLOPs", "%.3e"),
    "run_id": st.column_config.TextColumn("run id"),
    "source": st.column_config.TextColumn("source of the effect", width="medium"),
    "note": st.column_config.TextColumn("note", width="medium"),
}


def table(frame: pd.DataFrame, visible: list[str] | None = None, key: str | None = None,
          height: int | None = None) -> None:
    """Show ``frame`` with labelled, unit-bearing columns; ``visible`` picks and orders them
    (the download holds every column)."""
    kwargs = {"height": height} if height else {}
    if visible is not None:  # send only what is shown: Arrow conversion is per column
        frame = tables.pick(frame, [c for c in visible if c in frame.columns])
    st.dataframe(frame, hide_index=True, width="stretch", column_order=visible,
                 column_config={k: v for k, v in COLUMNS.items() if k in frame.columns},
                 key=key, **kwargs)


def device_pick(key: str, frame: pd.DataFrame, default_id: str | None, cost_column: str,
                where=st, help_extra: str = "") -> str:
    """The device a page details: the user's pick, or (``state.AUTO``) the default for these
    inputs, recomputed on every run so it follows the inputs. Draws the picker and says which
    of the two the page shows; a pick these inputs rule out falls back to the default."""
    from planner.dashboard import controls

    part = tables.pick(frame, ["feasible", "hardware_id", cost_column])  # not ~170 columns
    feasible = tables.rows(part, tables.feasible_mask(part))
    names = dict(zip(frame["hardware_id"].tolist(), frame["name"].tolist(), strict=True))
    options = sorted(feasible["hardware_id"].tolist(), key=names.get)
    pick = str(st.session_state.get(key) or state.AUTO)
    dropped = None
    if pick != state.AUTO and pick not in options:
        dropped = names.get(pick, pick)
        st.session_state[key] = pick = state.AUTO
    priced = default_id is not None and bool(
        feasible.loc[feasible["hardware_id"] == default_id, cost_column].notna().any())
    what = "cheapest" if priced else "least CO2e"
    auto_name = names.get(default_id, "none")

    def label(k: str) -> str:
        return f"The {what} for these inputs ({auto_name})" if k == state.AUTO else names[k]

    controls.select(key, [state.AUTO, *options], where=where, format_func=label,
                    help_extra=f"First entry: the {what} device for the current inputs, "
                               "recomputed when they change; pick a device to keep it. "
                               + help_extra)
    chosen = pick if pick != state.AUTO else default_id
    if dropped:
        where.warning(f"Your pick, {dropped}, cannot run these inputs; showing the {what} "
                      f"for these inputs, {auto_name}.")
    elif pick == state.AUTO:
        where.caption(f"Showing the **{what} for these inputs**: {auto_name} (it follows the "
                      "inputs).")
    else:
        where.caption(f"Showing **your pick**: {names[pick]} (the {what} for these inputs is "
                      f"{auto_name}).")
    return str(chosen)
