"""Widgets of the declared inputs (``inputs.INPUTS``): label, help text, blank-means-none and
the "given by the user" mark all come from the declaration, so a page only says where.

Widgets take their values from the session state (``session.init``), so none passes a
starting value, except optional number boxes: ``value=None`` is what lets Streamlit clear
them (a box started from a number reverts to it when emptied).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from planner.dashboard import loaders, state
from planner.dashboard.inputs import BY_KEY, help_text


def mark_given(key: str) -> None:
    """Record that the user gave input ``key`` (a widget's on_change callback)."""
    given = set(st.session_state.get(state.GIVEN) or ())
    given.add(key)
    st.session_state[state.GIVEN] = sorted(given)


_HELP: dict[str, str] = {}  # help text by input key


def _help(key: str) -> str:
    """A declared input's help text, made once per process (the sidebar draws ~30 widgets a
    run): it depends on the declaration and the default assumptions, which the planner reads
    from ``profiles/`` once (``loaders.get_planner``; ~60 µs a call, ~2 ms a run)."""
    text = _HELP.get(key)
    if text is None:
        text = _HELP[key] = help_text(key, loaders.get_planner().defaults)
    return text


def _common(key: str, help_extra: str | None) -> dict:
    text = _help(key)
    return {"key": key, "help": f"{text} {help_extra}".strip() if help_extra else text or None,
            "on_change": mark_given, "args": (key,)}


def number(key: str, where=st, help_extra: str | None = None):
    """A number box for a declared input; optional ones can be left blank (None)."""
    item = BY_KEY[key]
    extra = dict(item.widget)
    if item.optional:
        extra.update(value=None, placeholder=item.blank or None)
    return where.number_input(item.label, **extra, **_common(key, help_extra))


def select(key: str, options: Sequence, where=st, format_func: Callable = str,
           help_extra: str | None = None):
    """A select box for a declared input."""
    return where.selectbox(BY_KEY[key].label, options, format_func=format_func,
                           **_common(key, help_extra))


def radio(key: str, options: Sequence, where=st, format_func: Callable = str,
          horizontal: bool = True, help_extra: str | None = None):
    """Radio buttons for a declared input."""
    return where.radio(BY_KEY[key].label, options, format_func=format_func,
                       horizontal=horizontal, **_common(key, help_extra))


def toggle(key: str, where=st, help_extra: str | None = None):
    """A toggle for a declared yes/no input."""
    return where.toggle(BY_KEY[key].label, **_common(key, help_extra))


def text(key: str, where=st, placeholder: str | None = None, help_extra: str | None = None):
    """A text box for a declared input."""
    return where.text_input(BY_KEY[key].label, placeholder=placeholder,
                            **_common(key, help_extra))


def multiselect(key: str, options: Sequence, where=st, help_extra: str | None = None):
    """A multi-select for a declared input."""
    return where.multiselect(BY_KEY[key].label, options, **_common(key, help_extra))
