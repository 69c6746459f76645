"""Cached wrappers around the domain packages for the Streamlit pages."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import streamlit as st

from layers import LayerWarning, Profile, load_profile
from layers.loader import Layers, load_layers

DEFAULT_PROFILE = Path(__file__).resolve().parents[1] / "data" / "stromstad" / "profile.toml"


def profile_path() -> Path:
    """Profile file: ``TRYGGA_PROFILE`` or Strömstad's demo profile."""
    return Path(os.environ.get("TRYGGA_PROFILE", DEFAULT_PROFILE))


@st.cache_data(show_spinner=False)
def st_profile(path: str) -> Profile:
    """The municipality profile (cached per path)."""
    return load_profile(path)


@st.cache_resource(show_spinner="Läser in lager …")
def st_layers(path: str) -> Layers:
    """All layers, loaded once per process and shared read-only between sessions."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        return load_layers(load_profile(path))
