"""Karta & prioritering: the streets department's ranked map, tables and downloads."""

from __future__ import annotations

import dataclasses
import html
import io
import tempfile
import zipfile
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
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


def _sidebar(layers: Layers) -> tuple[tuple[tuple[str, float], ...], str, str, str, bool,
                                      bool]:
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
        show_lux = st.checkbox(t("show_raster"), value=False)
    return tuple(weights), school_class, colour_by, basemap, show_lum, show_lux


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
         basemap: str, show_lum: bool, lux: tuple[bytes, tuple[float, ...]] | None,
         ) -> tuple[folium.Map, folium.FeatureGroup]:
    """The map and, apart, the segments group with its legend.

    The segments change with every filter and colour choice; streamlit-folium updates a
    ``feature_group_to_add`` inside the map that is already drawn, so those changes do not
    rebuild the map's iframe (only changes to the base map do).
    """
    maps.configure_folium()
    bounds = st.session_state.get("zoom_bounds")
    if bounds is None:
        bounds = maps.web_bounds(layers.paths)
    m = maps.base_map(bounds, basemap)
    if lux is not None:
        png, (w, s, e, n) = lux
        maps.add_image_overlay(m, png, (w, s, e, n), t("show_raster"))
    maps.add_polygons(m, layers.priority_areas, "#1b9e77", "name", t("priority_areas"),
                      dash="6 4")
    maps.add_polygons(m, layers.schools, "#6a3d9a", "name", t("schools"))
    marked = layers.crossings[layers.crossings["marked"].astype(bool)]
    maps.add_points(m, marked, "#ffffff", {"crossing": t("crossings")}, t("crossings"),
                    radius=3)
    if show_lum:
        lum = layers.luminaires
        maps.add_points(m, lum, lum["light_source"].map(maps.SOURCE_COLOURS).fillna("#777")
                        .to_numpy(), {"light_source": t("luminaires")}, t("luminaires"),
                        radius=2.5)
    if lux is not None:
        maps.add_legend(m, t("lux_legend"), maps.lux_legend_items(), position="bottomright")
    if colour_by == "status":
        legend = (t("legend"), [(t(s), maps.STATUS_COLOURS[s]) for s in STATUSES])
    else:
        edges = [*maps.SCORE_BREAKS[1:], None]
        legend = (t("score"), [
            (f"{lo:g}–{hi:g}" if hi is not None else f"≥ {lo:g}", c)
            for lo, hi, c in zip(maps.SCORE_BREAKS, edges, maps.SCORE_COLOURS, strict=True)])
    group = folium.FeatureGroup(name=t("segments"))
    labels = {s: t(s) for s in STATUSES}
    maps.add_segments(group, shown, colour_by=colour_by, labels=labels, name=t("segments"),
                      legend=legend)
    return m, group


def _zoom_to(gdf: gpd.GeoDataFrame, row_id: str, pad_m: float = 60.0) -> None:
    geom = gpd.GeoSeries([gdf.geometry.loc[row_id].buffer(pad_m)], crs=gdf.crs)
    st.session_state["zoom_bounds"] = tuple(geom.to_crs("EPSG:4326").total_bounds)


#: Row limits offered for the tables; the browser gets at most this many rows per table.
ROW_LIMITS = (200, 1000, 0)  # 0 = all


def _table(key: str, df: pd.DataFrame, cols: dict[str, str], gdf: gpd.GeoDataFrame,
           limit: int) -> None:
    head = df.head(limit) if limit else df
    view = head[[c for c in cols if c in head.columns]]
    if "lighting_status" in view:
        status = view["lighting_status"].astype(str)
        view = view.assign(lighting_status=status.map({s: t(s) for s in status.unique()}))
    view = view.rename(columns=cols)
    event = st.dataframe(view, hide_index=True, width="stretch", height=320,
                         on_select="rerun", selection_mode="single-row", key=f"tbl_{key}")
    if len(head) < len(df):
        st.caption(t("rows_of").format(shown=len(head), total=len(df)))
    rows = event.selection.rows if event is not None else []
    if rows:
        _zoom_to(gdf, head.index[rows[0]])


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
    c1, c2 = st.columns(2)
    c3, c4 = st.columns(2)
    c1.metric(t("km_unlit_near_school"), f"{s['km_unlit_near_school']:.1f}")
    c2.metric(t("top_cost").format(currency=s.get("currency", "SEK")),
              f"{s['top_packages_cost_sek']:,.0f}".replace(",", " "))
    c3.metric(t("top_kwh"), f"{s['top_packages_kwh_per_year']:,.0f}".replace(",", " "))
    c4.metric(t("led_saving"), f"{s['led']['kwh_saved_per_year']:,.0f}".replace(",", " "))
    months = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
    st.html(_darkness_bars(months, result.darkness["share_dark"].to_numpy() * 100))
    _school_darkness(months)
    origins = s.get("school_route_origins") or {}
    if origins.get("kind") == "homes":
        st.caption(t("routes_from_homes").format(n=f"{origins['count']:,}".replace(",", " ")))
    elif origins.get("kind") == "grid":
        st.caption(t("routes_from_grid").format(m=f"{origins['spacing_m']:.0f}"))


def _school_darkness(months: list[str]) -> None:
    """Dark commute hours per school day, per school (each school's own times)."""
    import datetime as dt

    from ui.st_cache import inputs_key, profile_path, st_school_darkness

    path = profile_path()
    table = st_school_darkness(str(path), inputs_key(path), dt.date.today().year)
    if table.empty:
        return
    with st.expander(t("school_darkness")):
        head = "".join(f"<th scope=\"col\">{html.escape(m)}</th>" for m in months)
        rows = "".join(
            f"<tr><th scope=\"row\" style=\"text-align:left\">{html.escape(str(name))}</th>"
            f"<td>{html.escape(str(r['school_day']))}</td>"
            + "".join(f"<td style=\"text-align:right\">{r[m]:.2f}</td>" for m in range(1, 13))
            + "</tr>" for name, r in table.iterrows())
        st.html(f"<table class=\"trygga-school-darkness\" style=\"font-size:0.8rem;"
                f"border-collapse:collapse\"><thead><tr><th scope=\"col\">"
                f"{html.escape(t('school_col'))}</th><th scope=\"col\">"
                f"{html.escape(t('school_day_col'))}</th>{head}</tr></thead>"
                f"<tbody>{rows}</tbody></table>")
        st.caption(t("school_darkness_help"))


def _darkness_bars(months: list[str], percent: np.ndarray) -> str:
    """Share of the dark school commute per month as an HTML table with bars.

    A plain table (readable by screen readers and without a chart library) whose last
    column draws each share as a bar.
    """
    rows = "".join(
        f"<tr><th scope=\"row\" style=\"text-align:left;font-weight:normal;padding:0 6px 0 0\">"
        f"{html.escape(mon)}</th><td style=\"text-align:right;padding:0 6px\">{p:.0f}</td>"
        f"<td style=\"width:100%\"><div aria-hidden=\"true\" style=\"height:10px;"
        f"width:{max(0.0, min(p, 100.0)):.1f}%;background:#3b4cc0\"></div></td></tr>"
        for mon, p in zip(months, percent, strict=True))
    return (f"<table class=\"trygga-darkness\" style=\"width:100%;font-size:0.85rem;"
            f"border-collapse:collapse\"><caption style=\"text-align:left;caption-side:top\">"
            f"{html.escape(t('darkness_chart'))}</caption><thead><tr>"
            f"<th scope=\"col\" style=\"text-align:left\">{html.escape(t('month_col'))}</th>"
            f"<th scope=\"col\">{html.escape(t('share_dark_col'))}</th><th></th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def render() -> None:
    """The page."""
    layers = load_or_stop()
    show_demo_notice(layers.profile)
    st.title(t("page_map"))
    weights, school_class, colour_by, basemap, show_lum, show_lux = _sidebar(layers)
    from ui.st_cache import inputs_key, profile_path, st_lux_overlay

    path = profile_path()
    key = inputs_key(path)
    result = st_ranking(str(path), key, weights, school_class)
    lux = st_lux_overlay(str(path), key) if show_lux else None
    seg = result.segments
    areas = sorted(layers.priority_areas["name"].astype(str)) if len(layers.priority_areas) \
        else []
    shown = _filters(seg, areas)
    left, right = st.columns([3, 2])
    with left:
        m, segments = _map(layers, shown, result, colour_by, basemap, show_lum, lux)
        st_folium(m, height=560, use_container_width=True, returned_objects=[],
                  key="rank_map", feature_group_to_add=segments,
                  layer_control=folium.LayerControl(collapsed=True))
    with right:
        # Lazy tabs: only the open tab runs and reaches the browser. The overview is light,
        # so the map draws first; a table is one click away (docs/benchmarks.md).
        labels = [t("overview"), t("segments"), t("packages"), t("led")]
        overview, tab_seg, tab_pk, tab_led = st.tabs(labels, on_change="rerun",
                                                     key="map_tab")
        if overview.open is not False:
            with overview:
                _totals(result, layers)
        tables = (
            (tab_seg, "seg", shown, seg, {"rank": t("rank"), "score": t("score"),
                                          "lighting_status": t("status"),
                                          "reason": t("reason")}),
            (tab_pk, "pk", result.packages, result.packages, {
                "rank": t("rank"), "rank_per_sek": "SEK-rang", "length_m": "m",
                "new_light_points": "nya", "cost_sek": layers.profile.costs.currency,
                "reason": t("reason")}),
            (tab_led, "led", result.led, result.led, {
                "priority": "#", "light_source": "typ", "kwh_saved_per_year": "kWh/år",
                "payback_years": "år", "reason": t("reason")}),
        )
        for tab, name, df, full, cols in tables:
            if tab.open:
                with tab:
                    st.caption(t("select_row_zoom"))
                    limit = st.selectbox(t("rows_shown"), ROW_LIMITS,
                                         format_func=lambda n: str(n) if n else t("rows_all"),
                                         key=f"table_rows_{name}")
                    _table(name, df, cols, full, limit)
    _downloads(result, layers)
