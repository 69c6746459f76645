"""Lager: the loaded layers with count, CRS, bounds and warnings."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.common import load_or_stop, show_demo_notice
from ui.state import t


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
        rows.append({"lager": name, "källa": rep.source if rep else "-", "antal": len(gdf),
                     "CRS": gdf.crs.to_string() if gdf.crs else "-",
                     "min x": bounds[0], "min y": bounds[1], "max x": bounds[2],
                     "max y": bounds[3], "varningar": len(rep.warnings) if rep else 0})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    for name, rep in layers.reports.items():
        if rep.warnings:
            with st.expander(f"{t('warnings')}: {name} ({len(rep.warnings)})"):
                for w in rep.warnings:
                    st.text(w)
