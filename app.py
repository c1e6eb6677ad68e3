"""Streamlit entry point: shared state and navigation only; pages live in planner/dashboard.

Run with ``streamlit run serve.py`` (this script, with its start-up work done while the server
starts) or ``streamlit run app.py``. A browser session's first run draws the page's headline
figures only, the next run the rest (``planner/dashboard/first_view.py``). The state starts
from the defaults, overridden once per session by the URL's query parameters; after every
run the URL is rewritten from the state, so a copied link restores the same page and inputs.
"""

import streamlit as st

from planner.dashboard import first_view, session, sidebar

st.set_page_config(page_title="AI capacity planner", page_icon=":material/bolt:", layout="wide")

session.init()
first_view.begin()
session.url_warnings(keep=first_view.headline_only())
if not first_view.headline_only():
    sidebar.draw()  # the inputs come with the second run of a session's first view

VIEWS = "planner/dashboard/views"
pages = {
    "Plan": [
        st.Page(f"{VIEWS}/compare.py", title="Compare hardware", icon=":material/compare_arrows:",
                default=True),  # the default page lives at "/"
        st.Page(f"{VIEWS}/training.py", title="Training planner", icon=":material/model_training:",
                url_path="training"),
        st.Page(f"{VIEWS}/serving.py", title="Serving planner", icon=":material/dns:",
                url_path="serving"),
        st.Page(f"{VIEWS}/lifecycle.py", title="Lifecycle", icon=":material/timeline:",
                url_path="lifecycle"),
        st.Page(f"{VIEWS}/optimisation.py", title="Optimisation", icon=":material/tune:",
                url_path="optimisation"),
        st.Page(f"{VIEWS}/scenarios.py", title="Compare scenarios", icon=":material/difference:",
                url_path="scenarios"),
    ],
    "Data": [
        st.Page(f"{VIEWS}/measurements.py", title="Measurements", icon=":material/straighten:",
                url_path="measurements"),
        st.Page(f"{VIEWS}/profiles.py", title="Hardware profiles", icon=":material/memory:",
                url_path="profiles"),
    ],
}
page = st.navigation(pages)
try:
    page.run()
    session.sync_url(first_view.part())
finally:
    first_view.finish()
