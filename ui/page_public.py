"""Offentlig karta: what safety walks found and what has been fixed, for residents.

This page receives only :func:`walks.public.public_view` of the store (STYLE rule 8):
allow-listed columns, HTML-escaped text. It imports nothing staff-only, keeps no findings
in session state and shows the lighting work as plain counts from the luminaire layer.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import streamlit as st
from streamlit_folium import st_folium

from layers import load_profile
from layers.loader import Layers
from ui import maps
from ui.common import load_or_stop, show_demo_notice
from ui.public_map import build_public_map
from ui.st_cache import InputsKey, inputs_key, profile_path, st_layers
from ui.state import lang, t
from walks.public import public_view
from walks.service import open_store
from walks.store import is_postgres_target, store_target

#: Values of the open/fixed filter; ``"all"`` keeps every public finding.
STATE_FILTERS = ("all", "open", "fixed", "closed")
_STATE_TEXT = {"open": "state_open", "fixed": "state_fixed", "closed": "state_closed",
               "all": "public_state_all"}


@dataclass(frozen=True)
class PublicFilter:
    """What the resident chose to see.

    Attributes
    ----------
    year : str or None
        ``"2024"`` etc.; None for every year.
    categories : tuple of str
        Category labels as in the public view; empty for every category.
    state : str
        One of :data:`STATE_FILTERS`.
    """

    year: str | None = None
    categories: tuple[str, ...] = ()
    state: str = "all"


def store_token(profile_file: Path) -> tuple[Any, ...]:
    """Something that changes whenever the profile's store changes (the cache key).

    A GeoPackage: modification time and size of the file and its WAL (a new finding may
    change only ``<store>-wal``). PostgreSQL: the store's change token (history count and
    the time of the last change).
    """
    prof = load_profile(profile_file)
    target = store_target(prof)
    if is_postgres_target(target):
        with open_store(prof) as store:
            return ("postgresql", *store.change_token())
    path = Path(target)
    out = []
    for f in (path, path.with_name(path.name + "-wal")):
        st_ = f.stat() if f.exists() else None
        out.append((st_.st_mtime_ns, st_.st_size) if st_ else (0, 0))
    return tuple(out)


@st.cache_data(show_spinner=False, max_entries=8)
def st_public_view(profile_file: str, key: tuple[Any, ...]) -> gpd.GeoDataFrame:
    """The public view of the profile's store, cached on the store file's mtime.

    Only this allow-listed, escaped frame leaves the function; the staff frame does not.
    """
    prof = load_profile(profile_file)
    with open_store(prof) as store:
        return public_view(store.findings(include_hidden=False),
                           categories=store.categories, tz=prof.timezone)


@st.cache_data(show_spinner=False, max_entries=4)
def st_public_context(profile_file: str, key: InputsKey) -> gpd.GeoDataFrame:
    """The path network as ONE MultiLineString row (profile CRS), for grey map context.

    One feature instead of thousands keeps the map quick to draw in the browser.
    """
    paths = st_layers(profile_file, key).paths
    lines = shapely.multilinestrings(shapely.get_parts(paths.geometry.values))
    return gpd.GeoDataFrame(geometry=[lines], crs=paths.crs)


def filter_view(view: gpd.GeoDataFrame, flt: PublicFilter) -> gpd.GeoDataFrame:
    """The findings of *view* that match *flt* (a new frame; *view* is not changed)."""
    keep = pd.Series(True, index=view.index)
    if flt.year:
        keep &= view["date"].astype(str).str.startswith(flt.year)
    if flt.categories:
        keep &= view["category"].isin(flt.categories)
    if flt.state != "all":
        keep &= view["state_type"].eq(flt.state)
    return view[keep]


def _state_text(state_type: str) -> str:
    return t(_STATE_TEXT.get(state_type, "unknown"))


def findings_table_html(view: gpd.GeoDataFrame) -> str:
    """The findings as one HTML table for keyboard and screen-reader users.

    *view* is the escaped public view, so its text goes in as it is; everything this
    function adds is escaped here. No newline is left in the output, so Markdown never
    reads part of it as Markdown.
    """
    def cell(v: object) -> str:
        text = "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
        return text.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")

    heads = [t("date"), t("category"), t("description"), t("status")]
    rows = []
    for _, r in view.sort_values("date", ascending=False).iterrows():
        state = html.escape(_state_text(str(r["state_type"])))
        if r["state_type"] == "fixed" and r["fixed_date"]:
            state += f' <span style="white-space:nowrap">{cell(r["fixed_date"])}</span>'
        rows.append(f'<tr><td style="white-space:nowrap">{cell(r["date"])}</td>'
                    f"<td>{cell(r['category'])}</td>"
                    f"<td>{cell(r['description'])}</td><td>{state}</td></tr>")
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in heads)
    caption = html.escape(f"{t('findings')} ({len(view)})")
    return (f'<table class="trygga-public-list"><caption>{caption}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _filters(view: gpd.GeoDataFrame) -> PublicFilter:
    years = sorted({str(d)[:4] for d in view["date"].dropna()}, reverse=True)
    c1, c2, c3 = st.columns([1, 2, 2])
    year = c1.selectbox(t("public_filter_year"), [None, *years], key="pub_year",
                        format_func=lambda y: y or t("public_all_years"))
    # Category labels come from the category table; shown as plain text by the widget.
    cats = sorted(view["category"].unique())
    chosen = c2.multiselect(t("category"), cats, key="pub_cats", format_func=html.unescape,
                            placeholder=t("public_all_categories"))
    state = c3.radio(t("public_filter_state"), STATE_FILTERS, key="pub_state",
                     horizontal=True, format_func=_state_text)
    return PublicFilter(year, tuple(chosen), str(state))


def _bounds(layers: Layers) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the path network in degrees."""
    if not len(layers.paths):
        return (11.1, 58.9, 11.25, 58.97)
    geom = gpd.GeoSeries([shapely.box(*layers.paths.total_bounds)], crs=layers.paths.crs)
    w, s, e, n = (float(v) for v in geom.to_crs("EPSG:4326").total_bounds)
    return (w, s, e, n)


def _map(layers: Layers, shown: gpd.GeoDataFrame, show_led: bool) -> None:
    maps.configure_folium()
    lum = layers.luminaires
    led = lum.loc[lum["light_source"].eq("LED"), ["geometry"]] if show_led else None
    path = profile_path()
    context = st_public_context(str(path), inputs_key(path))
    m = build_public_map(shown, _bounds(layers), "none", lang(), led=led, context=context)
    st.markdown(t("public_map_help"))
    st_folium(m, height=520, use_container_width=True, returned_objects=[],
              key="public_map")


def _lighting_work(layers: Layers) -> None:
    st.header(t("public_lighting_work"))
    src = layers.luminaires["light_source"].astype(str)
    if src.empty:
        st.write(t("public_no_luminaires"))
        return
    n_led = int(src.eq("LED").sum())
    unknown = int(src.eq("unknown").sum())
    non_led = int((~src.isin(["LED", "unknown"])).sum())
    c1, c2, c3 = st.columns(3)
    c1.metric(t("public_led_share"), f"{100 * n_led / len(src):.0f} %")
    c2.metric(t("public_led_count"), f"{n_led} / {len(src)}")
    c3.metric(t("public_non_led_left"), non_led)
    if unknown:
        st.markdown(f"{unknown} {t('public_unknown_source')}")
    st.info(t("public_before_after"))


def render() -> None:
    """The page: filters, map (optional), accessible list and lighting work."""
    layers = load_or_stop()
    show_demo_notice(layers.profile)
    st.title(t("page_public"))
    st.write(t("public_intro"))
    path = profile_path()
    view = st_public_view(str(path), store_token(path))
    shown = filter_view(view, _filters(view))
    c1, c2 = st.columns(2)
    show_map = c1.toggle(t("public_show_map"), value=True, key="pub_show_map")
    show_led = c2.toggle(t("public_show_led"), value=False, key="pub_show_led",
                         disabled=not show_map)
    if show_map:
        _map(layers, shown, show_led)
    st.header(t("public_list"))
    if shown.empty:
        st.write(t("public_none"))
    else:
        st.markdown(findings_table_html(shown), unsafe_allow_html=True)
    _lighting_work(layers)
