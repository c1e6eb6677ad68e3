"""The dashboard served with its start-up work done before the first visitor arrives.

Run with ``streamlit run serve.py`` (the same page script as ``streamlit run app.py``, which
still works): Streamlit runs ``app.py`` once per visitor session, so without this the first
visitor of a fresh server waits for the dashboard's imports, the catalogue load and the
default plans (``planner/dashboard/warm.py``); here they run while the server starts (its
health check answers once they are done), through Streamlit's ``st.App`` start-up hook.
"""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent


@asynccontextmanager
async def _start_up(_app):
    """Warm the process's caches at server start; a failure here is the page's to say."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        from planner.dashboard.warm import warm_up

        took = warm_up()
        print("Dashboard warmed up: " + ", ".join(f"{k} {v:.2f}" for k, v in took.items()),
              flush=True)
    except Exception as exc:  # the first session then shows the error in the page
        print(f"Dashboard warm-up skipped: {type(exc).__name__}: {exc}", flush=True)
    yield


app = st.App(str(ROOT / "app.py"), lifespan=_start_up)
