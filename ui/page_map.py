"""Karta & prioritering: the streets department's ranked map, tables and downloads."""

from __future__ import annotations

import dataclasses
import html
import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from streamlit_folium import st_folium

from gis.outputs import write_ranking_outputs
from gis.ranking import RankingResult
from layers import P_CLASSES
from layers.loader import Layers
from promises.progress import fmt_number
from ui import maps
from ui.common import load_or_stop, show_demo_notice
from ui.st_cache import BASEMAP_CHOICES, add_app_basemap, st_ranking
from ui.state import lang, t
from ui.translate import reason_text

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



def _reasons(values: pd.Series) -> pd.Series:
    """The computed Swedish reasons in the UI language (:func:`ui.translate.reason_text`)."""
    code = lang()
    return values.astype(str).map(lambda r: reason_text(r, code))

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
        school_class = st.selectbox(t("school_class"), classes, key="map_school_class",
                                    index=classes.index(prof.lighting.school_class))
        colour_by = st.radio(t("color_by"), ["status", "score"], horizontal=True,
                             key="map_colour_by",
                             format_func=lambda v: t("by_status") if v == "status"
                             else t("by_score"))
        basemap = st.selectbox(t("basemap"), BASEMAP_CHOICES, key="basemap",
                               format_func=lambda v: t(f"basemap_{v}"))
        show_lum = st.checkbox(t("luminaires"), value=False, key="map_show_lum")
        show_lux = st.checkbox(t("show_raster"), value=False, key="map_show_lux")
    return tuple(weights), school_class, colour_by, basemap, show_lum, show_lux


def _filters(seg: gpd.GeoDataFrame, areas: list[str]) -> gpd.GeoDataFrame:
    c1, c2, c3, c4 = st.columns(4)
    # Keyed, so a filter keeps its value when the language (and with it the label) changes.
    status = c1.multiselect(t("status"), STATUSES, default=["unlit", "underlit"],
                            format_func=t, key="map_status", placeholder=t("all"))
    max_school = c2.slider(t("max_school_distance"), 0, 2000, 2000, 50, key="map_max_school")
    area = c3.selectbox(t("priority_area"), ["", *areas], key="map_area",
                        format_func=lambda a: a or t("all"))
    min_score = c4.slider(t("min_score"), 0.0, float(max(1.0, seg["score"].max())), 0.0, 0.1,
                          key="map_min_score")
    keep = seg["lighting_status"].isin(status) & seg["score"].ge(min_score)
    if max_school < 2000:
        keep &= seg["school_distance_m"].le(max_school)
    if area:
        keep &= seg["priority_area"].eq(area)
    return seg[keep]


#: Colours of the context layers (also their legend swatches).
SCHOOL_COLOUR = "#6a3d9a"
AREA_COLOUR = "#1b9e77"
CROSSING_COLOUR = "#ffffff"
TOP_COLOUR = "#111111"
PACKAGE_COLOUR = "#7a0177"
HIGHLIGHT_COLOUR = "#ffd400"
#: How many of the best-ranked segments and packages get a numbered marker.
TOP_N = 10


@dataclass(frozen=True)
class Selection:
    """The table row the user selected: which table, which feature, its geometry."""

    table: str
    row_id: str
    geometry: shapely.Geometry


def _map(layers: Layers, shown: gpd.GeoDataFrame, result: RankingResult, colour_by: str,
         basemap: str, show_lum: bool, lux: tuple[bytes, tuple[float, ...]] | None,
         selection: Selection | None) -> tuple[folium.Map, folium.FeatureGroup]:
    """The map and, apart, the segments group with its legend and the top-10 markers.

    The segments change with every filter and colour choice; streamlit-folium updates a
    ``feature_group_to_add`` inside the map that is already drawn, so those changes do not
    rebuild the map's iframe (only changes to the base map or the zoom do).
    """
    maps.configure_folium()
    if selection is not None:
        geom = gpd.GeoSeries([shapely.buffer(selection.geometry, 60.0)], crs=layers.paths.crs)
        w, s, e, n = (float(v) for v in geom.to_crs("EPSG:4326").total_bounds)
        bounds = (w, s, e, n)
    else:
        bounds = maps.web_bounds(layers.paths)
    m = maps.base_map(bounds, "none")
    add_app_basemap(m, basemap)
    if lux is not None:
        png, (w, s, e, n) = lux
        maps.add_image_overlay(m, png, (w, s, e, n), t("show_raster"))
    maps.add_polygons(m, layers.priority_areas, AREA_COLOUR, "name", t("priority_areas"),
                      dash="6 4")
    maps.add_polygons(m, layers.schools, SCHOOL_COLOUR, "name", t("schools"))
    marked = layers.crossings[layers.crossings["marked"].astype(bool)]
    maps.add_points(m, marked, CROSSING_COLOUR, {"crossing": t("crossings")},
                    t("crossings"), radius=3)
    context_items = [(t("schools"), SCHOOL_COLOUR), (t("priority_areas"), AREA_COLOUR),
                     (t("crossings"), CROSSING_COLOUR)]
    if show_lum:
        lum = layers.luminaires
        maps.add_points(m, lum, lum["light_source"].map(maps.SOURCE_COLOURS).fillna("#777")
                        .to_numpy(), {"light_source": t("luminaires")}, t("luminaires"),
                        radius=2.5)
        present = [s for s in maps.SOURCE_COLOURS if s != "other"
                   and lum["light_source"].eq(s).any()]
        context_items += [(f"{t('luminaires')}: {t('src_' + s)}", maps.SOURCE_COLOURS[s])
                          for s in present]
    context_items += [(t("top_segments_legend").format(n=TOP_N), TOP_COLOUR),
                      (t("top_packages_legend").format(n=TOP_N), PACKAGE_COLOUR)]
    maps.add_legend(m, t("legend_context"), context_items, position="bottomright")
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
    _top_markers(group, shown, result.packages)
    if selection is not None:
        maps.add_highlight(group, gpd.GeoSeries([selection.geometry], crs=layers.paths.crs),
                           HIGHLIGHT_COLOUR, t("selected_feature"))
    return m, group


def _top_markers(group: folium.FeatureGroup, shown: gpd.GeoDataFrame,
                 packages: gpd.GeoDataFrame) -> None:
    """Numbered markers on the TOP_N best segments (among the shown) and packages."""
    seg = shown.nsmallest(TOP_N, "rank")
    pk = packages.nsmallest(TOP_N, "rank")
    if len(seg):
        maps.add_numbered_markers(group, seg, seg["rank"].astype(int).to_numpy(),
                                  (t("segment") + " " + seg["rank"].astype(int).astype(str)
                                   + ": " + _reasons(seg["reason"])).to_numpy(),
                                  TOP_COLOUR, name="top_segments")
    if len(pk):
        maps.add_numbered_markers(group, pk, pk["rank"].astype(int).to_numpy(),
                                  (t("package") + " " + pk["rank"].astype(int).astype(str)
                                   + ": " + _reasons(pk["reason"])).to_numpy(),
                                  PACKAGE_COLOUR, name="top_packages", square=True)


#: Row limits offered for the tables; the browser gets at most this many rows per table.
ROW_LIMITS = (200, 1000, 0)  # 0 = all


def _where(places: pd.DataFrame) -> pd.Series:
    """"Storgatan" for an own or touching name, "vid Storgatan" / "near …" for a nearby one."""
    near = places["distance_m"].gt(15.0) & places["name"].ne("")
    out = places["name"].astype(str).copy()
    out[near] = t("near_place").format(name="") + out[near]
    return out


def _where_columns(df: gpd.GeoDataFrame, seg: gpd.GeoDataFrame,
                   where: pd.DataFrame) -> dict[str, object]:
    """Rank, where, nearest school and its distance, area, status and lux: the columns
    segments and packages share (*seg*: the segment each row is described by)."""
    return {
        t("rank"): df["rank"].astype(int).to_numpy(),
        t("col_where"): _where(where).to_numpy(),
        t("col_school"): seg["nearest_school"].fillna("").astype(str).to_numpy(),
        t("col_school_m"): seg["school_distance_m"].round(0).astype("Int64").to_numpy(),
        t("priority_area"): seg["priority_area"].fillna("").astype(str).to_numpy(),
        t("status"): df["lighting_status"].astype(str).map(t).to_numpy(),
        t("col_mean_lux"): seg["mean_lux"].round(1).to_numpy(),
        t("col_length_m"): df["length_m"].round(0).astype(int).to_numpy(),
    }


def segment_table(df: gpd.GeoDataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """The segment table as shown: where, why and how much, plain Swedish headers."""
    return pd.DataFrame({
        **_where_columns(df, df, places.reindex(df.index)),
        t("score"): df["score"].round(2).to_numpy(),
        t("reason"): _reasons(df["reason"]).to_numpy(),
    }, index=df.index)


def package_table(df: gpd.GeoDataFrame, segments: gpd.GeoDataFrame,
                  places: pd.DataFrame) -> pd.DataFrame:
    """The package table: where (from its best segment), cost in SEK, new light points."""
    top = df["top_segment"].astype(str)
    return pd.DataFrame({
        **_where_columns(df, segments.reindex(top), places.reindex(top)),
        t("col_new_points"): df["new_light_points"].astype(int).to_numpy(),
        t("col_cost_sek"): [fmt_number(v) for v in df["cost_sek"].to_numpy(float)],
        t("col_rank_per_sek"): df["rank_per_sek"].astype(int).to_numpy(),
        t("reason"): _reasons(df["reason"]).to_numpy(),
    }, index=df.index)


def led_table(df: gpd.GeoDataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """The LED table in its own priority order (mercury first, then near schools …)."""
    return pd.DataFrame({
        t("col_priority"): df["priority"].astype(int).to_numpy(),
        t("col_luminaire"): df.index.astype(str).to_numpy(),
        t("col_where"): _where(places.reindex(df.index)).to_numpy(),
        t("col_source"): df["light_source"].astype(str).map(lambda s: t("src_" + s)).to_numpy(),
        t("col_watt"): df["current_w"].round(0).astype("Int64").to_numpy(),
        t("col_led_watt"): df["led_w"].round(1).to_numpy(),
        t("col_kwh_saved"): [fmt_number(v) for v in df["kwh_saved_per_year"].to_numpy(float)],
        t("col_sek_saved"): [fmt_number(v) for v in df["sek_saved_per_year"].to_numpy(float)],
        t("col_payback"): df["payback_years"].round(1).to_numpy(),
        t("reason"): _reasons(df["reason"]).to_numpy(),
    }, index=df.index)


def _table_key(name: str) -> str:
    return f"tbl_{name}_{st.session_state.get('tbl_generation', 0)}"


def _selected(name: str, frame: pd.DataFrame) -> str | None:
    """The id of the selected row of table *name* (read before the map is drawn, so the
    map zooms on the same rerun as the click)."""
    state = st.session_state.get(_table_key(name))
    rows: list[int] = []
    if state is not None:
        sel = state.get("selection", {}) if isinstance(state, dict) else getattr(
            state, "selection", {})
        rows = sel.get("rows", []) if isinstance(sel, dict) else getattr(sel, "rows", [])
    if rows and rows[0] < len(frame):
        return str(frame.index[rows[0]])
    return None


def _show_table(name: str, view: pd.DataFrame, total: int) -> None:
    st.dataframe(view, hide_index=True, width="stretch", height=320, on_select="rerun",
                 selection_mode="single-row", key=_table_key(name))
    if len(view) < total:
        st.caption(t("rows_of").format(shown=len(view), total=total))


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
    c1.metric(t("km_unlit_near_school"), fmt_number(s["km_unlit_near_school"], 1))
    c2.metric(t("top_cost").format(currency=s.get("currency", "SEK")),
              fmt_number(s["top_packages_cost_sek"]))
    c3.metric(t("top_kwh"), fmt_number(s["top_packages_kwh_per_year"]))
    c4.metric(t("led_saving"), fmt_number(s["led"]["kwh_saved_per_year"]))
    months = t("months_short").split()
    st.html(_darkness_bars(months, result.darkness["share_dark"].to_numpy() * 100))
    _school_darkness(months)
    origins = s.get("school_route_origins") or {}
    if origins.get("kind") == "homes":
        st.caption(t("routes_from_homes").format(n=fmt_number(origins["count"])))
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
    from ui.st_cache import inputs_key, profile_path, st_lux_overlay, st_places

    path = profile_path()
    key = inputs_key(path)
    from ui.page_public import store_token
    from ui.st_cache import st_lamp_fault_ids, st_open_findings

    token = store_token(path)
    faults = st_lamp_fault_ids(str(path), token)  # reported lamps are dark
    found = st_open_findings(str(path), token)  # open findings score as in trygga rank
    result = st_ranking(str(path), key, weights, school_class, faults, found)
    lux = st_lux_overlay(str(path), key) if show_lux else None
    seg = result.segments
    areas = sorted(layers.priority_areas["name"].astype(str)) if len(layers.priority_areas) \
        else []
    shown = _filters(seg, areas)
    left, right = st.columns([3, 2])
    with right:
        # Lazy tabs: only the open tab runs and reaches the browser. The overview is light,
        # so the map draws first; a table is one click away (docs/benchmarks.md).
        labels = [t("overview"), t("segments"), t("packages"), t("led")]
        overview, *tabs = st.tabs(labels, on_change="rerun", key="map_tab")
    # The open table is built before the map, so a selected row zooms the map at once.
    table: tuple[str, pd.DataFrame, gpd.GeoDataFrame] | None = None
    for tab_el, name in zip(tabs, ("seg", "pk", "led"), strict=True):
        if not tab_el.open:
            continue
        limit = st.session_state.get(f"table_rows_{name}", ROW_LIMITS[0])
        if name == "seg":
            full = shown
            places = st_places(str(path), key, "segments", seg)
            view = segment_table(full.head(limit) if limit else full, places)
        elif name == "pk":
            full = result.packages
            places = st_places(str(path), key, "segments", seg)
            view = package_table(full.head(limit) if limit else full, seg, places)
        else:
            full = result.led
            places = st_places(str(path), key, "luminaires", layers.luminaires, 80.0)
            view = led_table(full.head(limit) if limit else full, places)
        table = (name, view, full)
    selection = None
    if table is not None:
        row_id = _selected(table[0], table[1])
        if row_id is not None and row_id in table[2].index:
            selection = Selection(table[0], row_id, table[2].geometry.loc[row_id])
    with left:
        m, segments = _map(layers, shown, result, colour_by, basemap, show_lum, lux,
                           selection)
        st_folium(m, height=560, use_container_width=True, returned_objects=[],
                  key="rank_map", feature_group_to_add=segments,
                  layer_control=folium.LayerControl(collapsed=True))
        if selection is not None:
            where = str(table[1].loc[selection.row_id, t("col_where")]) if table else ""
            st.caption(t("zoomed_to").format(id=selection.row_id, where=where))
            if st.button(t("show_whole_map"), key="map_reset_zoom"):
                st.session_state["tbl_generation"] = st.session_state.get(
                    "tbl_generation", 0) + 1
                st.rerun()
    with right:
        if overview.open is not False:
            with overview:
                _totals(result, layers)
        for tab_el, name in zip(tabs, ("seg", "pk", "led"), strict=True):
            if tab_el.open and table is not None and table[0] == name:
                with tab_el:
                    st.caption(t("select_row_zoom"))
                    st.selectbox(t("rows_shown"), ROW_LIMITS,
                                 format_func=lambda n: str(n) if n else t("rows_all"),
                                 key=f"table_rows_{name}")
                    _show_table(name, table[1], len(table[2]))
    _downloads(result, layers)
