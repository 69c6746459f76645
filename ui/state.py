"""Session state in one place: language and deployment mode (STYLE rule 11)."""

from __future__ import annotations

import os

import streamlit as st

from ui.texts import tr


def init_state() -> None:
    """Initialise every session-state key the pages use, once per session."""
    st.session_state.setdefault("lang", "sv")
    st.session_state.setdefault("selected_segment", None)


def lang() -> str:
    """The UI language of this session: ``"sv"`` (default) or ``"en"``."""
    return str(st.session_state.get("lang", "sv"))


def t(key: str) -> str:
    """Translated UI text for the session's language."""
    return tr(key, lang())


def public_mode() -> bool:
    """True when the app runs for residents only (``TRYGGA_MODE=public``)."""
    return os.environ.get("TRYGGA_MODE", "staff").strip().lower() == "public"
