"""Karta & prioritering: the streets department's ranked map, tables and downloads."""

from __future__ import annotations

import dataclasses
import io
import tempfile
import zipfile
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gis.outputs import write_ranking_outputs
from gis.ranking import RankingResult
from layers import P_CLASSES
from layers.loader import Layers
from ui import maps
from ui.common import load_or_stop, show_demo_notice
from ui.st_cache import st_ranking
from ui.state import lang, t

STATUSES = ("unlit", "underlit", "lit_old_technology", "ok", "unknown")
WEIGHT_LABELS = {
    "lighting_status": ("Belysningsbehov", "Lighting need"),
    "school": ("Närhet till skola", "Near a school"),
    "crossing": ("Övergångsställe", "Crossing"),
    "priority_area": ("Prioriterat område", "Priority area"),
    "findings": ("Synpunkter", "Findings"),
    "school_route": ("Skolväg", "School route"),
    "commute_darkness": ("Mörk skolväg", "Dark commute"),
}


def _sidebar(layers: Layers) -> tuple[tuple[tuple[str, float], ...], str, str, str, bool]:
    prof = layers.profile
    with st.sidebar:
        st.subheader(t("weights"))
        weights = []
        for f in dataclasses.fields(prof.weights):
            sv, en = WEIGHT_LABELS[f.name]
            value = st.slider(en if lang() == "en" else sv, 0.0, 5.0,
                              float(getattr(prof.weights, f.name)), 0.25, key=f"w_{f.name}")
            weights.append((f.name, float(value)))
        classes = list(P_CLASSES)
        school_class = st.selectbox(t("school_class"), classes,
                                    index=classes.index(prof.lighting.school_class))
        colour_by = st.radio(t("color_by"), ["status", "score"], horizontal=True,
                             format_func=lambda v: t("by_status") if v == "status"
                             else t("by_score"))
        basemap = st.selectbox(t("basemap"), ["none", "osm"],
                               format_func=lambda v: t(f"basemap_{v}"))
        show_lum = st.checkbox(t("luminaires"), value=False)
    return tuple(weights), school_class, colour_by, basemap, show_lum


def _filters(seg: gpd.GeoDataFrame, areas: list[str]) -> gpd.GeoDataFrame:
    c1, c2, c3, c4 = st.columns(4)
    status = c1.multiselect(t("status"), STATUSES, default=["unlit", "underlit"],
                            format_func=t)
    max_school = c2.slider(t("max_school_distance"), 0, 2000, 2000, 50)
    area = c3.selectbox(t("priority_area"), ["", *areas],
                        format_func=lambda a: a or t("all"))
    min_score = c4.slider(t("min_score"), 0.0, float(max(1.0, seg["score"].max())), 0.0, 0.1)
    keep = seg["lighting_status"].isin(status) & seg["score"].ge(min_score)
    if max_school < 2000:
        keep &= seg["school_distance_m"].le(max_school)
    if area:
        keep &= seg["priority_area"].eq(area)
    return seg[keep]


def _map(layers: Layers, shown: gpd.GeoDataFrame, result: RankingResult, colour_by: str,
         basemap: str, show_lum: bool) -> folium.Map:
    maps.configure_folium()
    bounds = st.session_state.get("zoom_bounds")
    if bounds is None:
        bounds = tuple(maps.to_web(layers.paths).total_bounds)
    m = maps.base_map(bounds, basemap)
    maps.add_polygons(m, layers.priority_areas, "#1b9e77", "name", t("priority_areas"),
                      dash="6 4")
    maps.add_polygons(m, layers.schools, "#6a3d9a", "name", t("schools"))
    labels = {s: t(s) for s in STATUSES}
    maps.add_segments(m, shown, colour_by=colour_by, labels=labels, name=t("segments"))
    marked = layers.crossings[layers.crossings["marked"].astype(bool)]
    maps.add_points(m, marked, "#ffffff", {"crossing": t("crossings")}, t("crossings"),
                    radius=3)
    if show_lum:
        lum = layers.luminaires
        maps.add_points(m, lum, lum["light_source"].map(maps.SOURCE_COLOURS).fillna("#777")
                        .to_numpy(), {"light_source": t("luminaires")}, t("luminaires"),
                        radius=2.5)
    if colour_by == "status":
        maps.add_legend(m, t("legend"), [(t(s), maps.STATUS_COLOURS[s]) for s in STATUSES])
    else:
        edges = [*maps.SCORE_BREAKS[1:], None]
        maps.add_legend(m, t("score"), [
            (f"{lo:g}–{hi:g}" if hi is not None else f"≥ {lo:g}", c)
            for lo, hi, c in zip(maps.SCORE_BREAKS, edges, maps.SCORE_COLOURS, strict=True)])
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def _zoom_to(gdf: gpd.GeoDataFrame, row_id: str, pad_m: float = 60.0) -> None:
    geom = gpd.GeoSeries([gdf.geometry.loc[row_id].buffer(pad_m)], crs=gdf.crs)
    st.session_state["zoom_bounds"] = tuple(geom.to_crs("EPSG:4326").total_bounds)


def _table(key: str, df: pd.DataFrame, cols: dict[str, str], gdf: gpd.GeoDataFrame) -> None:
    view = df[[c for c in cols if c in df.columns]]
    if "lighting_status" in view:
        view = view.assign(lighting_status=view["lighting_status"].astype(str).map(t))
    view = view.rename(columns=cols)
    event = st.dataframe(view, hide_index=True, width="stretch", height=320,
                         on_select="rerun", selection_mode="single-row", key=f"tbl_{key}")
    rows = event.selection.rows if event is not None else []
    if rows:
        _zoom_to(gdf, df.index[rows[0]])


def _downloads(result: RankingResult, layers: Layers) -> None:
    prof = layers.profile

    def build(what: tuple[str, ...]) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            files = write_ranking_outputs(result, layers.luminaires, Path(tmp), prof,
                                          paths=layers.paths, what=what)
            if len(files) == 1:
                return next(iter(files.values())).read_bytes()
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for f in files.values():
                    z.write(f, f.name)
            return buf.getvalue()

    st.subheader(t("downloads"))
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button("GeoPackage", lambda: build(("gpkg",)), "ranking.gpkg",
                       "application/geopackage+sqlite3", on_click="ignore")
    c2.download_button("CSV (Excel)", lambda: build(("csv",)), "ranking_csv.zip",
                       "application/zip", on_click="ignore")
    c3.download_button("XLSX", lambda: build(("xlsx",)), "ranking.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       on_click="ignore")
    c4.download_button("GeoTIFF (lux)", lambda: build(("tif",)), "illuminance.tif",
                       "image/tiff", on_click="ignore")


def _totals(result: RankingResult, layers: Layers) -> None:
    s = result.summary(layers.profile)
    st.subheader(t("totals"))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("km_unlit_near_school"), f"{s['km_unlit_near_school']:.1f}")
    c2.metric(t("top_cost"), f"{s['top_packages_cost_sek']:,.0f}".replace(",", " "))
    c3.metric(t("top_kwh"), f"{s['top_packages_kwh_per_year']:,.0f}".replace(",", " "))
    c4.metric(t("led_saving"), f"{s['led']['kwh_saved_per_year']:,.0f}".replace(",", " "))
    months = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
    dark = pd.DataFrame({"månad": months,
                         "andel": result.darkness["share_dark"].to_numpy() * 100})
    st.caption(t("darkness_chart"))
    st.bar_chart(dark, x="månad", y="andel", height=180, sort=False)


def render() -> None:
    """The page."""
    layers = load_or_stop()
    show_demo_notice(layers.profile)
    st.title(t("page_map"))
    weights, school_class, colour_by, basemap, show_lum = _sidebar(layers)
    from ui.st_cache import inputs_key, profile_path

    path = profile_path()
    result = st_ranking(str(path), inputs_key(path), weights, school_class)
    seg = result.segments
    areas = sorted(layers.priority_areas["name"].astype(str)) if len(layers.priority_areas) \
        else []
    shown = _filters(seg, areas)
    left, right = st.columns([3, 2])
    with left:
        m = _map(layers, shown, result, colour_by, basemap, show_lum)
        st_folium(m, height=560, use_container_width=True, returned_objects=[],
                  key="rank_map")
    with right:
        st.caption(t("select_row_zoom"))
        tab1, tab2, tab3 = st.tabs([t("segments"), t("packages"), t("led")])
        with tab1:
            _table("seg", shown, {"rank": t("rank"), "score": t("score"),
                                  "lighting_status": t("status"), "reason": t("reason")}, seg)
        with tab2:
            pk = result.packages
            _table("pk", pk, {"rank": t("rank"), "rank_per_sek": "SEK-rang",
                              "length_m": "m", "new_light_points": "nya",
                              "cost_sek": "SEK", "reason": t("reason")}, pk)
        with tab3:
            led = result.led
            _table("led", led, {"priority": "#", "light_source": "typ",
                                "kwh_saved_per_year": "kWh/år", "payback_years": "år",
                                "reason": t("reason")}, led)
    _totals(result, layers)
    _downloads(result, layers)
