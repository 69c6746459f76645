"""Uppföljning: placeholder until the yearly report lands; shows the figures that exist."""

from __future__ import annotations

import streamlit as st

from ui.common import load_or_stop, show_demo_notice
from ui.st_cache import inputs_key, profile_path, st_ranking
from ui.state import t


def render() -> None:
    """Counts that already exist: lighting status, LED plan, luminaires by light source."""
    layers = load_or_stop()
    show_demo_notice(layers.profile)
    st.title(t("page_followup"))
    st.info(t("followup_placeholder"))
    path = profile_path()
    p = layers.profile
    weights = tuple((k, float(v)) for k, v in vars(p.weights).items())
    result = st_ranking(str(path), inputs_key(path), weights, p.lighting.school_class)
    s = result.summary(p)
    c1, c2, c3 = st.columns(3)
    c1.metric(t("km_unlit_near_school"), f"{s['km_unlit_near_school']:.1f}")
    c2.metric("LED", int((layers.luminaires["light_source"] == "LED").sum()))
    c3.metric("Hg", int((layers.luminaires["light_source"] == "Hg").sum()))
    st.dataframe({t(k): [v] for k, v in s["km_by_status"].items()}, hide_index=True)
