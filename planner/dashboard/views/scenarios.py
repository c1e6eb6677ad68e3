"""Compare scenarios: two or more scenarios (the sidebar's, ones kept in this session, and
uploaded scenario files) side by side: their training run, serving year, per-request figures
and lifecycle, each one's change against the first, and the inputs in which they differ."""

import json

import streamlit as st

from planner.dashboard import compare_figures, loaders, state, tables, ui
from planner.dashboard.formats import plain
from planner.errors import PlannerError
from planner.model.compare import compare_plans, input_differences, unique_names
from planner.model.scenario import Scenario, parse_scenario_text

KEPT = "_kept_scenarios"  # name → scenario YAML text kept in this session
SECTIONS = ("training", "inference", "lifecycle")  # what the comparison needs

st.title("Compare scenarios")
st.markdown("Put two or more scenarios side by side: the one in the sidebar, ones you kept "
            "here, and scenario files (YAML, as saved from the sidebar or read by "
            "`python -m planner plan`). The first one is the baseline of the changes.")

kept: dict[str, str] = st.session_state.setdefault(KEPT, {})
current = ui.current_state()
planner = loaders.get_planner()
current_name = str(current.get("sc_name") or "").strip() or "dashboard scenario"


def _keep() -> None:
    name = unique_names([*st.session_state[KEPT], current_name])[-1]
    st.session_state[KEPT][name] = state.scenario_yaml(current, planner.defaults)


left, right = st.columns([1, 1])
left.button(f"Keep “{current_name}” for comparison", key="sc_keep", on_click=_keep,
            icon=":material/bookmark_add:",
            help="A copy of the sidebar's inputs as they are now; then change the sidebar "
                 "(name it first under Scenario file) and compare.")
if kept:
    right.button("Forget the kept scenarios", key="sc_forget", icon=":material/delete:",
                 on_click=lambda: st.session_state[KEPT].clear())
uploads = st.file_uploader("Add scenario files (YAML)", type=["yaml", "yml"],
                           accept_multiple_files=True, key="sc_files",
                           help="Each file is planned as it is, with every device.")

texts: dict[str, tuple[str, str]] = {}  # label → (origin, YAML text)
problems = []
for name, text in kept.items():
    texts[f"{name} (kept)"] = ("kept", text)
for upload in uploads or []:
    texts[upload.name] = (upload.name, upload.getvalue().decode("utf-8", errors="replace"))

scenarios: dict[str, Scenario] = {}
try:
    scenarios[current_name] = parse_scenario_text(
        state.scenario_yaml(current, planner.defaults), "the sidebar")
except PlannerError as exc:
    problems.append(f"the sidebar's scenario: {exc}")
for label, (origin, text) in texts.items():
    try:
        scenario = parse_scenario_text(text, origin)
    except PlannerError as exc:
        problems.append(str(exc))
        continue
    name = label if origin == "kept" else scenario.name
    scenarios[unique_names([*scenarios, name])[-1]] = scenario
for problem in problems:
    st.error(f"Not compared: {plain(problem)}")

options = list(scenarios)
seen = st.session_state.setdefault("_sc_seen", [])  # a new scenario joins the comparison
before = st.session_state.get("sc_chosen", [])
st.session_state["sc_chosen"] = ([c for c in before if c in options]
                                 + [o for o in options if o not in seen and o not in before])
st.session_state["_sc_seen"] = options
chosen = st.multiselect("Scenarios to compare (the first is the baseline)", options,
                        key="sc_chosen",
                        help="Pick and order the scenarios; remove one to leave it out.")
chosen = [c for c in chosen if c in scenarios]
if len(chosen) < 2:
    st.info("Keep the sidebar's scenario (button above), change the sidebar, or add a "
            "scenario file: two scenarios or more are compared.")
    st.stop()


def _plan(scenario: Scenario):
    data = scenario.model_dump(mode="json", exclude_none=True)
    data = {k: v for k, v in data.items() if k in ("name", "site", "pricing", *SECTIONS)}
    return loaders.plan(state.plan_key(json.loads(json.dumps(data))), ui.calibration_key())


results = {}
for name in chosen:
    try:
        results[name] = _plan(scenarios[name])
    except PlannerError as exc:
        st.error(f"Cannot plan “{plain(name)}”: {plain(exc)}")
if len(results) < 2:
    st.stop()
names = list(results)
comparison = compare_plans(results)

st.plotly_chart(compare_figures.change_bars(comparison, names), key="sc_chart",
                width="stretch", config={"displaylogo": False})
st.subheader("Side by side")
st.caption("Each plan's headline option: its cheapest feasible device for training and for "
           "the serving year (fewest device-hours or devices where none has a price); the "
           "lifecycle trains and serves on those. Changes are against the first scenario.")
st.dataframe(tables.comparison_display(comparison, names), hide_index=True, width="stretch",
             key="sc_table", height=min(40 + 35 * len(comparison), 900))
ui.csv_download(comparison, "scenario-comparison.csv", key="dl_sc_compare",
                label="Download the comparison (CSV)")
st.subheader("Where the inputs differ")
differences = input_differences({n: scenarios[n] for n in names})
if differences.empty:
    st.info("The scenarios have the same inputs (only their names differ).")
else:
    st.dataframe(differences, hide_index=True, width="stretch", key="sc_diff_table")
