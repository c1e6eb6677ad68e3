"""The Streamlit dashboard: the only part of the planner that imports streamlit (never torch).

Pure helpers (state, figures, reports, tables) are importable without a Streamlit server;
``loaders``, ``sidebar``, ``ui`` and the scripts in ``views/`` draw with Streamlit.
"""
