"""Streamlit entry point: navigation and shared state only (pages live in planner/dashboard)."""

import streamlit as st

st.set_page_config(page_title="AI capacity planner", layout="wide")
st.title("AI capacity planner")
st.write("The dashboard is being built; use `python -m planner plan` meanwhile.")
