"""Session state in one place: language and deployment mode (STYLE rule 11)."""

from __future__ import annotations

import datetime as dt
import os

import streamlit as st

from ui.texts import tr

#: Date format of every ``st.date_input`` (ISO 8601, as dates are written in Sweden; the
#: same in both languages, and the same as in the tables and exports).
DATE_FORMAT = "YYYY-MM-DD"


def init_state() -> None:
    """Initialise every session-state key the pages use, once per session."""
    st.session_state.setdefault("lang", "sv")
    st.session_state.setdefault("selected_segment", None)


def _relabelable(value: object) -> bool:
    """A widget value that is safe to write back: text, a date or a list of texts (never
    a button's bool, an upload or an editor's dict, which Streamlit forbids writing)."""
    if isinstance(value, (str, dt.date)):
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def refresh_widget_labels() -> None:
    """``on_change`` of the language switch: write every keyed widget value back unchanged.

    A selectbox, multiselect or radio whose ``format_func`` follows the language keeps
    its value on the server, but the browser goes on showing the label it has (the
    Swedish one) until the server sends the value again. Writing the value back through
    the Session State API makes Streamlit send it with the new labels. Values Streamlit
    forbids writing (buttons, uploads, data editors) are skipped by type.
    """
    ss = st.session_state
    for key in list(ss.keys()):
        if key != "lang" and _relabelable(ss[key]):
            ss[key] = ss[key]


def lang() -> str:
    """The UI language of this session: ``"sv"`` (default) or ``"en"``."""
    return str(st.session_state.get("lang", "sv"))


def t(key: str) -> str:
    """Translated UI text for the session's language."""
    return tr(key, lang())


def public_mode() -> bool:
    """True when the app runs for residents only (``TRYGGA_MODE=public``)."""
    return os.environ.get("TRYGGA_MODE", "staff").strip().lower() == "public"
