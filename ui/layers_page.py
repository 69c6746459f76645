"""Lager: the loaded layers with count, CRS, bounds and warnings."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.common import load_or_stop, show_demo_notice
from ui.state import t
from ui.texts import TEXTS


def _layer_name(name: str) -> str:
    """The layer's name in the UI language (its internal name when it has none)."""
    key = f"lyr_{name}"
    return t(key) if key in TEXTS else name


def render() -> None:
    """One row per layer: count, CRS, bounds and warnings."""
    layers = load_or_stop()
    p = layers.profile
    show_demo_notice(p)
    st.title(t("page_layers"))
    st.subheader(f"{t('layers_loaded')} — {p.name} ({p.kommun_code})")
    rows = []
    for name, gdf in layers.frames().items():
        rep = layers.reports.get(name)
        bounds = gdf.total_bounds if len(gdf) else [float("nan")] * 4
        rows.append({t("lyr_layer"): _layer_name(name), t("lyr_source"): rep.source if rep else "-",
                     t("lyr_count"): len(gdf),
                     "CRS": gdf.crs.to_string() if gdf.crs else "-",
                     "min x (m)": bounds[0], "min y (m)": bounds[1], "max x (m)": bounds[2],
                     "max y (m)": bounds[3], t("warnings"): len(rep.warnings) if rep else 0})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    for name, rep in layers.reports.items():
        if rep.warnings:
            with st.expander(f"{t('warnings')}: {_layer_name(name)} ({len(rep.warnings)})"):
                for w in rep.warnings:
                    st.text(w)
