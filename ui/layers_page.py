"""Minimal page listing the loaded layers (replaced by the map in the app issue)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from layers import ValidationError
from layers.osm import OsmDownloadError
from ui.st_cache import profile_path, st_layers


def render() -> None:
    """Show the demo notice and one row per layer: count, CRS, bounds and warnings."""
    st.title("Trygga stråk")
    try:
        layers = st_layers(str(profile_path()))
    except (ValidationError, OsmDownloadError) as exc:
        st.error(f"Fel i indata:\n\n{exc}")
        st.stop()
    p = layers.profile
    if p.demo:
        st.warning("**Demodata** — kartan och siffrorna bygger på syntetiska data, inte på "
                   "verkliga uppgifter om kommunen.", icon="⚠️")
    st.subheader(f"Inlästa lager — {p.name} ({p.kommun_code})")
    rows = []
    for name, gdf in layers.frames().items():
        rep = layers.reports.get(name)
        bounds = gdf.total_bounds if len(gdf) else [float("nan")] * 4
        rows.append({"lager": name, "källa": rep.source if rep else "-", "antal": len(gdf),
                     "CRS": gdf.crs.to_string() if gdf.crs else "-",
                     "min x": bounds[0], "min y": bounds[1], "max x": bounds[2],
                     "max y": bounds[3], "varningar": len(rep.warnings) if rep else 0})
    st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)
    for name, rep in layers.reports.items():
        if rep.warnings:
            with st.expander(f"Varningar: {name} ({len(rep.warnings)})"):
                for w in rep.warnings:
                    st.text(w)
