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

from layers import ValidationError, load_profile
from layers.loader import Layers
from promises.progress import fmt_number
from ui import maps
from ui.common import load_or_stop, show_demo_notice
from ui.html_tables import cards_css
from ui.public_map import build_public_map
from ui.st_cache import InputsKey, add_app_basemap, inputs_key, profile_path, st_layers
from ui.state import lang, t
from ui.translate import category_text
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


@st.cache_data(show_spinner=False, max_entries=4)
def st_converted_led(profile_file: str, key: InputsKey) -> gpd.GeoDataFrame | None:
    """Luminaires converted to LED during the promise period (profile CRS points).

    Converted = the same luminaire id is not LED in the register's first inventory
    (:class:`promises.register.InventorySnapshot`) and is LED in the current one. None
    when the profile has no promise register with an earlier inventory.
    """
    from layers.lighting import read_inventory
    from promises.register import load_register, register_for_profile

    layers = st_layers(profile_file, key)
    prof = layers.profile
    reg_file = register_for_profile(prof)
    if reg_file is None:
        return None
    reg = load_register(reg_file)
    current = prof.sources.lighting_inventory
    first = reg.inventories[0] if reg.inventories else None
    if first is None or current is None or Path(first.path).resolve() == Path(
            current).resolve():
        return None
    before = read_inventory(first.path, prof.crs, column_map=prof.sources.lighting_columns
                            or None, source_crs=prof.sources.lighting_crs)
    now = layers.luminaires
    was_other = before.index[before["light_source"].astype(str).ne("LED")]
    is_led = now["light_source"].astype(str).eq("LED")
    converted = now.index[is_led & now.index.isin(was_other)]
    return now.loc[converted, ["geometry"]]


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


#: Narrow screens (a phone) show each row of the list as a card: cells stacked, each
#: with its column name. The table stays a table for screen readers.
_LIST_CSS = cards_css("trygga-public-list")


def _category(escaped: object) -> str:
    """An (escaped) category label of the public view in the UI language, escaped."""
    return html.escape(category_text(html.unescape(str(escaped)), lang()), quote=True)


def findings_table_html(view: gpd.GeoDataFrame, where: pd.Series | None = None) -> str:
    """The findings as one HTML table for keyboard and screen-reader users.

    *view* is the escaped public view, so its text goes in as it is; everything this
    function adds is escaped here (*where*: street or place name per finding, aligned to
    *view*). No newline is left in the output, so Markdown never reads part of it as
    Markdown. On a narrow screen each row is shown as a card (:data:`_LIST_CSS`).
    """
    def cell(v: object) -> str:
        text = "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
        return text.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")

    heads = [t("date"), t("col_where"), t("category"), t("description"), t("status")]
    labels = [html.escape(h, quote=True) for h in heads]
    rows = []
    for i, r in view.sort_values("date", ascending=False).iterrows():
        state = html.escape(_state_text(str(r["state_type"])))
        if r["state_type"] == "fixed" and r["fixed_date"]:
            state += f' <span style="white-space:nowrap">{cell(r["fixed_date"])}</span>'
        if r.get("public_note"):  # what was done, or why nothing will be done
            state += f"<br>{cell(r['public_note'])}"
        place = html.escape(str(where.get(i, ""))) if where is not None else ""
        rows.append(f'<tr><td data-label="{labels[0]}" style="white-space:nowrap">'
                    f'{cell(r["date"])}</td><td data-label="{labels[1]}">{place}</td>'
                    f'<td data-label="{labels[2]}">{_category(r["category"])}</td>'
                    f'<td data-label="{labels[3]}">{cell(r["description"])}</td>'
                    f'<td data-label="{labels[4]}">{state}</td></tr>')
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in heads)
    caption = html.escape(f"{t('findings')} ({len(view)})")
    return (f'{_LIST_CSS}<table class="trygga-public-list"><caption>{caption}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def public_nav() -> None:
    """Visible, labelled links between the public pages (the sidebar is folded away on a
    phone)."""
    with st.container(horizontal=True, gap="medium"):
        st.markdown(f"**{t('public_nav')}**")
        st.page_link("ui/pages/offentlig.py", label=t("page_public"))
        st.page_link("ui/pages/uppfoljning.py", label=t("page_followup"))


def _where(view: gpd.GeoDataFrame, key: tuple[tuple[int, int], ...]) -> pd.Series:
    """Street or place name of each public finding: the nearest named street within 80 m,
    else the nearest place name within 2 km."""
    from ui.st_cache import st_places

    if view.empty:
        return pd.Series([], dtype=object)
    path = profile_path()
    crs = st_layers(str(path), inputs_key(path)).profile.crs
    places = st_places(str(path), inputs_key(path), f"findings:{key}",
                       view[["geometry"]].to_crs(crs), 80.0)
    near = places["distance_m"].gt(15.0) & places["name"].ne("")
    out = places["name"].astype(str).copy()
    out[near] = t("near_place").format(name="") + out[near]
    # No named street within 80 m: the nearest place name (town, district, village,
    # hamlet, lake) within 2 km, so that every finding says where it is.
    missing = out.eq("")
    if missing.any():
        from gis.context import nearest_name
        from ui.st_cache import st_basemap

        bm = st_basemap(str(path), inputs_key(path))
        if bm is not None and len(bm.places):
            named = bm.places[bm.places["rank"].le(3)]
            pts = view.loc[missing.index[missing.to_numpy()], ["geometry"]].to_crs(crs)
            found = nearest_name(pts, named, max_distance_m=2000.0)["name"].astype(str)
            has = found.ne("")
            out.update(found[has].map(lambda n: t("near_place").format(name=n)))
    return out


def _filters(view: gpd.GeoDataFrame) -> PublicFilter:
    years = sorted({str(d)[:4] for d in view["date"].dropna()}, reverse=True)
    c1, c2, c3 = st.columns([1, 2, 2])
    # "" (not None) for every year: a text value the language switch can write back
    # (ui.state.refresh_widget_labels).
    year = c1.selectbox(t("public_filter_year"), ["", *years], key="pub_year",
                        format_func=lambda y: y or t("public_all_years"))
    # Category labels come from the category table; shown as plain text by the widget.
    cats = sorted(view["category"].unique())
    chosen = c2.multiselect(t("category"), cats, key="pub_cats",
                            format_func=lambda c: category_text(html.unescape(c), lang()),
                            placeholder=t("public_all_categories"))
    state = c3.radio(t("public_filter_state"), STATE_FILTERS, key="pub_state",
                     horizontal=True, format_func=_state_text)
    return PublicFilter(year or None, tuple(chosen), str(state))


def _bounds(layers: Layers) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the path network in degrees."""
    if not len(layers.paths):
        return (11.1, 58.9, 11.25, 58.97)
    geom = gpd.GeoSeries([shapely.box(*layers.paths.total_bounds)], crs=layers.paths.crs)
    w, s, e, n = (float(v) for v in geom.to_crs("EPSG:4326").total_bounds)
    return (w, s, e, n)


def _map(layers: Layers, shown: gpd.GeoDataFrame, show_led: bool) -> None:
    maps.configure_folium()
    path = profile_path()
    led = st_converted_led(str(path), inputs_key(path)) if show_led else None
    context = st_public_context(str(path), inputs_key(path))
    m = build_public_map(shown, _bounds(layers), "none", lang(), led=led, context=context)
    add_app_basemap(m, "offline")
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
    c1.metric(t("public_led_share"), f"{fmt_number(100 * n_led / len(src))} %")
    c2.metric(t("public_led_count"), f"{fmt_number(n_led)} / {fmt_number(len(src))}")
    c3.metric(t("public_non_led_left"), fmt_number(non_led))
    if unknown:
        st.markdown(f"{unknown} {t('public_unknown_source')}")
    st.info(t("public_before_after"))


def render() -> None:
    """The page: filters, map (optional), accessible list and lighting work."""
    layers = load_or_stop()
    show_demo_notice(layers.profile)
    public_nav()
    st.title(t("page_public"))
    st.write(t("public_intro"))
    path = profile_path()
    skey = store_token(path)
    view = st_public_view(str(path), skey)
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
        # Names of every public finding (cached per store version), aligned by id.
        st.markdown(findings_table_html(shown, _where(view, skey)), unsafe_allow_html=True)
        _not_fixed_form(layers, shown)
    _lighting_work(layers)


def _not_fixed_form(layers: Layers, shown: gpd.GeoDataFrame) -> None:
    """"Är det åtgärdat?": a resident can say that a finding marked fixed is not fixed.

    No name or contact is asked for; the optional comment is internal (staff see it in
    the history, the public never does). One report per finding and browser session.
    """
    fixed = shown.loc[shown["state_type"].astype(str).eq("fixed")]
    if fixed.empty:
        return
    done: set[str] = st.session_state.setdefault("pub_not_fixed_sent", set())
    with st.expander(t("nf_public_title")):
        st.caption(t("nf_public_intro"))
        ids = [html.unescape(str(i)) for i in fixed["id"]]
        labels = {html.unescape(str(i)):
                  html.unescape(f"{d} · {category_text(html.unescape(str(c)), lang())} · "
                                f"{str(s)[:60]}")
                  for i, d, c, s in zip(fixed["id"], fixed["date"], fixed["category"],
                                        fixed["description"], strict=True)}
        with st.form("pub_not_fixed"):
            fid = st.selectbox(t("nf_public_pick"), ids, key="pub_nf_pick",
                               format_func=lambda i: labels.get(i, i))
            comment = st.text_input(t("nf_public_comment"), max_chars=300,
                                    key="pub_nf_comment")
            sent = st.form_submit_button(t("nf_public_send"), key="pub_nf_send")
        if not sent:
            return
        if fid in done:
            st.info(t("nf_public_already"))
            return
        from walks.service import open_store as open_profile_store

        try:
            with open_profile_store(layers.profile) as store:
                store.report_not_fixed(str(fid), (comment or "").strip())
        except (ValidationError, KeyError):
            st.error(t("nf_public_failed"))
            return
        done.add(str(fid))
        st.success(t("nf_public_thanks"))
