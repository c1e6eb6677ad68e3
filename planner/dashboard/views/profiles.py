"""Hardware profiles: browse and filter the catalogue with its sources; add a custom device in
a form and download it as a profile file."""

import datetime as dt

import streamlit as st

from planner.dashboard import figures, loaders, profile_form, tables, ui
from planner.dashboard.formats import plain
from planner.dashboard.state import DEVICE_CLASSES
from planner.errors import ProfileError
from planner.model.catalogue import export_frame
from planner.model.hardware import POWER_BASES

st.title("Hardware profiles")
st.markdown("The devices the planner knows: one sourced YAML file each in "
            "`profiles/hardware/`. Filter them, check a figure's source, or describe your own "
            "device and download its profile file.")

planner = loaders.get_planner()
for err in planner.profile_errors:
    st.error(f"Skipped a broken profile: {plain(err)}")

catalogue = export_frame(planner.catalogue)
catalogue.insert(4, "device_class", tables.device_class(catalogue))
left, right = st.columns([1, 2])
left.multiselect("Device classes", DEVICE_CLASSES, key="hw_classes",
                 help="Edge: devices in users' hands; the others are data-centre devices.")
right.text_input("Search devices", key="hw_search", placeholder="name, vendor or id, e.g. nvidia",
                 help="Case-insensitive text in the device's id, name or vendor.")
shown = catalogue[catalogue["device_class"].isin(st.session_state["hw_classes"])]
needle = str(st.session_state["hw_search"]).strip().lower()
if needle:
    text = (shown["hardware_id"] + " " + shown["name"] + " " + shown["vendor"]).str.lower()
    shown = shown[text.str.contains(needle, regex=False)]
st.caption(f"{len(shown)} of {len(catalogue)} devices. Units: GB = 10⁹ bytes; TFLOPS dense "
           "(without sparsity); TOPS for int8/int4; power in W with its basis (TDP, TBP, max, "
           "typical or measured).")
st.dataframe(
    shown, hide_index=True, width="stretch", key="hw_table",
    column_order=["name", "vendor", "device_class", "year", "memory_gb",
                  "memory_bandwidth_gb_per_s", "dense_tflops_bf16", "dense_tflops_fp8",
                  "dense_tflops_int8", "rated_power_w", "rated_power_basis",
                  "cloud_price_usd_per_device_hour", "cloud_price_where", "purchase_price_usd",
                  "embodied_co2e_kg_per_device", "sources"],
    column_config={
        "device_class": "class",
        "memory_gb": st.column_config.NumberColumn("memory (GB)", format="%,.0f"),
        "memory_bandwidth_gb_per_s": st.column_config.NumberColumn("bandwidth (GB/s)",
                                                                   format="%,.0f"),
        "dense_tflops_bf16": st.column_config.NumberColumn("bf16 TFLOPS", format="%,.1f"),
        "dense_tflops_fp8": st.column_config.NumberColumn("fp8 TFLOPS", format="%,.1f"),
        "dense_tflops_int8": st.column_config.NumberColumn("int8 TOPS", format="%,.1f"),
        "rated_power_w": st.column_config.NumberColumn("rated power (W)", format="%,.0f"),
        "rated_power_basis": "power basis",
        "cloud_price_usd_per_device_hour": st.column_config.NumberColumn(
            "cloud (USD/device-h)", format="$%.2f"),
        "cloud_price_where": "cloud price from",
        "purchase_price_usd": st.column_config.NumberColumn("purchase (USD)", format="$%,.0f"),
        "embodied_co2e_kg_per_device": st.column_config.NumberColumn("embodied (kg CO2e)",
                                                                     format="%,.0f"),
        "sources": st.column_config.TextColumn("sources", width="large"),
    })
ui.csv_download(shown, "hardware-catalogue.csv", key="dl_hw_catalogue")
if not shown.empty:
    st.plotly_chart(figures.catalogue_figure(shown), key="hw_chart", width="stretch",
                    config={"displaylogo": False})
    st.caption("**Where these numbers come from.** Vendor datasheets and published "
               "measurements, each cited in the profile file (the sources column); power is "
               "the rating the vendor publishes (its basis says which).")

st.header("Add a custom device", divider="gray")
st.markdown("Describe a device the catalogue lacks. The form checks it with the same "
            "validator as the planner and gives you a profile file to put in "
            "`profiles/hardware/`.")
with st.form("custom_device", enter_to_submit=False):
    a, b, c = st.columns(3)
    a.text_input("Name", key="cd_name", placeholder="e.g. Acme X1 accelerator",
                 help="The device's full name; the id is made from it.")
    b.text_input("Vendor", key="cd_vendor", placeholder="e.g. Acme")
    c.number_input("Year", key="cd_year", value=dt.date.today().year, step=1,
                   help="Year the device was released.")
    a.selectbox("Kind", ["gpu", "tpu", "npu", "cpu"], key="cd_kind",
                help="GPU, TPU, NPU (any other accelerator) or CPU.")
    b.selectbox("Placement", ["datacenter", "edge"], key="cd_placement",
                help="Data centre, or edge (a device in users' hands).")
    c.number_input("Memory (GB)", key="cd_memory_gb", value=None, step=8.0,
                   help="Device memory in GB (10⁹ bytes); more than 0.")
    a.number_input("Memory bandwidth (GB/s)", key="cd_bandwidth", value=None, step=100.0,
                   help="Peak memory bandwidth; needed to plan LLM serving.")
    b.number_input("Dense bf16 peak (TFLOPS)", key="cd_bf16", value=None, step=10.0,
                   help="Dense, without 2:4 sparsity (halve a sparse datasheet figure).")
    c.number_input("Dense fp8 peak (TFLOPS)", key="cd_fp8", value=None, step=10.0,
                   help="Leave blank where not published.")
    a.number_input("Dense int8 peak (TOPS)", key="cd_int8", value=None, step=10.0,
                   help="Leave blank where not published.")
    b.number_input("Rated power (W)", key="cd_power", value=None, step=10.0,
                   help="The vendor's power rating; more than 0.")
    c.selectbox("Power basis", POWER_BASES, key="cd_power_basis",
                help="TDP, total board power, maximum, typical draw, or measured.")
    a.number_input("Cloud price (USD per device-hour)", key="cd_price", value=None, step=0.5,
                   help="Optional on-demand price of one device.")
    b.number_input("Purchase price (USD)", key="cd_purchase", value=None, step=1000.0,
                   help="Optional, for on-premises plans.")
    c.number_input("Embodied carbon (kg CO2e per device)", key="cd_embodied", value=None,
                   step=10.0, help="Optional manufacturing footprint; blank uses the default.")
    a.text_input("Source of these figures", key="cd_source",
                 placeholder="e.g. Acme X1 datasheet rev 2",
                 help="Every figure in a profile cites a source.")
    b.text_input("Source URL", key="cd_url", placeholder="https://…")
    c.date_input("Source date", key="cd_date", help="When it was published or read.")
    submitted = st.form_submit_button("Check and build the profile", type="primary")
if submitted:
    s = st.session_state
    values = {
        "name": s["cd_name"], "vendor": s["cd_vendor"], "year": s["cd_year"],
        "kind": s["cd_kind"], "placement": s["cd_placement"], "memory_gb": s["cd_memory_gb"],
        "memory_bandwidth_gb_per_s": s["cd_bandwidth"], "tflops_bf16": s["cd_bf16"],
        "tflops_fp8": s["cd_fp8"], "tflops_int8": s["cd_int8"], "rated_power_w": s["cd_power"],
        "power_basis": s["cd_power_basis"], "cloud_usd_per_hour": s["cd_price"],
        "purchase_usd": s["cd_purchase"], "embodied_co2e_kg_per_device": s["cd_embodied"],
        "source_title": s["cd_source"], "source_url": s["cd_url"], "source_date": s["cd_date"],
    }
    try:
        profile, text = profile_form.build_profile(values)
    except ProfileError as exc:
        st.session_state.pop("cd_result", None)
        st.error(f"Not a valid profile: {plain(exc)}")
    else:
        st.session_state["cd_result"] = (profile.id, text)
result = st.session_state.get("cd_result")
if result:
    hw_id, text = result
    if hw_id in set(catalogue["hardware_id"]):
        st.warning(f"A profile with id `{hw_id}` exists already; rename the device before "
                   "adding the file.")
    st.success(f"Valid profile `{hw_id}`. Save it as `profiles/hardware/{hw_id}.yaml`.")
    st.code(text, language="yaml")
    st.download_button("Download the profile (YAML)", data=text, file_name=f"{hw_id}.yaml",
                       mime="application/x-yaml", key="dl_custom_profile",
                       icon=":material/download:", on_click="ignore")
