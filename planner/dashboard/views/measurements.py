"""Measurements: the profiling records in ``measurements/``, what they calibrate, and the
planner's prediction of each run against what was measured. An uploaded record is used in this
visitor's session only; saving it into the shared folder is an operator's setting (README,
"Serving the dashboard to a team")."""

import hashlib

import pandas as pd
import streamlit as st

from planner.dashboard import figures, loaders, ui
from planner.dashboard.formats import plain
from planner.errors import PlannerError
from planner.model.imports import ImportOptions, read_measurements
from planner.model.record_store import SAVE_UPLOADS_ENV, save_upload, saving_allowed

st.title("Measurements")
st.markdown("How close are the planner's predictions to real runs, and what do the "
            "measurements change? Records come from `python -m planner profile` on any "
            "machine (one JSON file each in `measurements/`).")

MESSAGES = "_upload_messages"


def _on_upload() -> None:
    """Validate uploaded records as they arrive; keep the valid ones in this session only
    (session state, released when the session ends), keyed by the SHA-256 of their bytes."""
    files = st.session_state.get("rec_upload") or []
    options = ImportOptions(model=st.session_state.get("rec_model") or None,
                            tensor_parallel=st.session_state.get("rec_tp") or None)
    kept = dict(st.session_state.get(ui.UPLOADS, {}))
    messages = []
    profiles = loaders.get_planner().profiles
    for f in files:
        data = f.getvalue()
        try:
            records = read_measurements(data, f.name, profiles, options)
        except PlannerError as exc:
            messages.append(("error", f"Not added: {exc}"))
            continue
        for record in records:
            # An imported file becomes records in the planner's own format (its source named).
            text = data.decode("utf-8") if record.source is None else (
                record.model_dump_json(indent=2) + "\n")
            kept[hashlib.sha256(text.encode("utf-8")).hexdigest()] = text
            origin = f" from {record.source.tool}" if record.source else ""
            messages.append(("success", f"Added {f.name}{origin} for this session: "
                                        f"{record.settings.workload or 'command'} on "
                                        f"{record.device_name or 'an unnamed device'} "
                                        f"({record.status})."))
    st.session_state[ui.UPLOADS] = kept
    st.session_state[MESSAGES] = messages


def _save_uploads() -> None:
    """Add this session's uploads to the shared records folder (operator setting only): a
    name from the content hash, never replacing a file, a run already there not saved again."""
    if not saving_allowed():
        return
    messages = []
    for digest, text in list(st.session_state.get(ui.UPLOADS, {}).items()):
        name = f"upload {digest[:12]}"
        try:
            saved = save_upload(text.encode("utf-8"), name, loaders.measurements_dir())
        except PlannerError as exc:
            messages.append(("error", f"Not saved: {exc}"))
            continue
        messages.append(("success" if saved.path else "info", saved.message))
        st.session_state[ui.UPLOADS].pop(digest)
    st.session_state[MESSAGES] = messages


signature = loaders.records_signature()
_, folder_errors = loaders.folder_records(signature)
for message in folder_errors:
    st.warning(f"Skipped a record file: {plain(message)}")

with st.expander("Add records from another machine", expanded=False):
    models = loaders.presets()
    side = st.columns(2)
    side[0].selectbox("Model the vLLM run served (optional)", [None, *sorted(models)],
                      key="rec_model",
                      format_func=lambda k: "not given" if k is None else models[k]["name"],
                      help="For a vLLM serving benchmark result: the model preset it served "
                           "(as `planner import --model`), so the result calibrates the "
                           "serving model. Choose it before adding the file.")
    side[1].number_input("Devices per replica of that run", min_value=1, max_value=64,
                         value=None, step=1, key="rec_tp",
                         help="For a vLLM result: `--tensor-parallel-size` of the run, in "
                              "devices (as `planner import --tensor-parallel`); blank means "
                              "one device. Choose it before adding the file.")
    st.file_uploader("Record files (JSON), or CodeCarbon, Zeus or vLLM files",
                     type=["json", "csv"], accept_multiple_files=True,
                     key="rec_upload", on_change=_on_upload,
                     help="Files written by `python -m planner profile`, CodeCarbon's "
                          "emissions.csv, a Zeus window log CSV or vLLM's serving benchmark "
                          "JSON (as `python -m planner import` reads them). Each is checked; a "
                          "broken file is refused with the reason and changes nothing. Uploads "
                          "are used in your session only.")
    for kind, text in st.session_state.get(MESSAGES, []):
        getattr(st, kind)(plain(text))
    if st.session_state.get(ui.UPLOADS):
        st.caption(f"{len(st.session_state[ui.UPLOADS])} uploaded record(s) in use for this "
                   "session only; nobody else sees them, and they are gone when you close "
                   "the page.")
        if saving_allowed():
            st.button("Save them into the shared records folder", key="rec_save",
                      on_click=_save_uploads,
                      help="Every visitor's calibration then includes them. Each file is "
                           "named from its content hash and never replaces another file; a "
                           "run already in the folder is not saved twice.")
        else:
            st.caption(f"Saving uploads into the shared folder is off on this server "
                       f"(the operator's setting {SAVE_UPLOADS_ENV}).")

try:
    records, calibration, predictions = loaders.calibration_tables(signature, ui.uploads())
except PlannerError as exc:
    st.error(f"Cannot read the records: {plain(exc)}")
    st.stop()

c = st.columns(4)
c[0].metric("Records", f"{len(records):,}", help="In measurements/ plus this session's uploads.")
c[1].metric("Matched to a profile", f"{int(records['hardware_id'].notna().sum()):,}",
            help="A record's device name is matched against each profile's match_names.")
c[2].metric("With measured energy", f"{int(records['device_energy_measured'].sum()):,}",
            help="NVML energy counter or power polling; CodeCarbon estimates do not count.")
c[3].metric("Calibrations", f"{len(calibration):,}",
            help="One per hardware, precision and mode with a complete, matched record.")

if records.empty:
    st.info("No records yet. Run `python -m planner profile` (see README) or upload one above.")
    st.stop()

st.subheader("Predicted against measured")
both = predictions.dropna(subset=["predicted_time_s", "measured_time_s"])
if both.empty:
    names = ", ".join(sorted(set(predictions["device_name"])))
    st.info("No record can be predicted yet: "
            + "; ".join(sorted(set(predictions["note"]) - {""}))
            + f". Devices seen: {names}. Add the device's name to a profile's `match_names` "
              "(profiles/hardware/) so its records are matched.")
else:
    left, right = st.columns(2)
    left.plotly_chart(figures.predicted_measured(
        predictions, "time_s", title="Run time: predicted against measured", unit="s"),
        key="ms_time_chart", width="stretch", config={"displaylogo": False})
    right.plotly_chart(figures.predicted_measured(
        predictions, "energy_j", title="Device energy: predicted against measured",
        unit="J", empty_reason="No record has a measured device energy:<br>these runs had no "
        "NVML energy counter or power polling<br>(CodeCarbon estimates are not measurements)."),
        key="ms_energy_chart", width="stretch", config={"displaylogo": False})
    st.caption("**Where these numbers come from.** Predicted: the uncalibrated planner (dense "
               "peak × default utilisation, default busy power). Measured: the record's wall "
               "clock and device energy, with the method that measured it (NVML counter, "
               "power polling; CodeCarbon estimates are marked). On the dashed line the "
               "prediction is exact.")
ui.table(predictions, ["started_at", "workload", "mode", "size", "precision", "device_name",
                       "hardware_id", "measured_time_s", "predicted_time_s", "time_error",
                       "measured_energy_j", "energy_method", "predicted_energy_j",
                       "energy_error", "achieved_utilisation", "default_utilisation", "note"],
         key="ms_predictions_table")
ui.csv_download(predictions, "predicted-vs-measured.csv", key="dl_ms_predictions")

st.subheader("Calibration")
if calibration.empty:
    st.info("Nothing to calibrate: a calibration needs a complete record with a FLOP count, "
            "matched to a profile with a published peak at its precision.")
else:
    ui.table(calibration, key="ms_calibration_table")
    ui.csv_download(calibration, "calibration.csv", key="dl_ms_calibration")
st.toggle("Plan with these calibrations", key=ui.USE_CALIBRATION,
          disabled=calibration.empty,
          help="Every page then uses the achieved utilisation and busy power measured here "
               "for the matching device and precision (training records for training plans, "
               "inference records for serving); their provenance reads 'calibrated'.")
st.subheader("Records")
ui.table(pd.DataFrame(records), ["started_at", "status", "workload", "mode", "size",
                                 "precision", "device", "device_name", "hardware_id",
                                 "wall_time_s", "flops", "device_energy_j",
                                 "device_energy_method", "run_id"], key="ms_records_table")
ui.csv_download(records, "records.csv", key="dl_ms_records")
