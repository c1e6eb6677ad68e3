"""The trivial Streamlit page ``bench/dashboard_speed.py`` times beside the dashboard: a title
and one metric, so its load time is Streamlit's own (server start of a session, the
front-end bundle, one script run)."""

import streamlit as st

st.title("Trivial page")
st.metric("A figure", "1")
