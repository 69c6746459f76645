"""Shared page pieces: loading layers or stopping with the error, the demo notice."""

from __future__ import annotations

import streamlit as st

from layers import Profile, ValidationError
from layers.loader import Layers
from layers.osm import OsmDownloadError
from ui.st_cache import inputs_key, profile_path, st_layers
from ui.state import t


def load_or_stop() -> Layers:
    """The cached layers, or an error message and ``st.stop()`` (STYLE rule 11)."""
    path = profile_path()
    try:
        return st_layers(str(path), inputs_key(path))
    except (ValidationError, OsmDownloadError) as exc:
        st.error(f"{t('input_error')}:\n\n{exc}")
        st.stop()
        raise  # unreachable: st.stop() raises


def show_demo_notice(profile: Profile) -> None:
    """The visible "demo data" notice whenever the profile runs on the synthetic demo."""
    if profile.demo:
        st.warning(t("demo_notice"), icon="⚠️")
