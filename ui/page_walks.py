"""Trygghetsvandringar (staff): plan a walk, record findings on the map, import a file.

All logic lives in :mod:`walks` (planning, store, duplicates, importers, protocol); this
module only wires widgets to it (STYLE rules 1 and 11). The map's click payload is parsed
into a :class:`ClickedPoint` at once; lon/lat go to the profile CRS with
``always_xy=True`` (TRAPS.md).

Session state of this page is initialised in one place, :func:`init_page_state`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import math
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from pyproj import Transformer
from shapely.geometry import Point
from streamlit_folium import st_folium

from layers import ValidationError
from layers.loader import Layers
from promises.progress import fmt_number
from ui import maps, uploads
from ui.common import show_error, staff_store_page
from ui.st_cache import (
    InputsKey,
    add_app_basemap,
    inputs_key,
    profile_path,
    st_layers,
    st_ranking,
)
from ui.state import DATE_FORMAT, lang, t
from ui.translate import category_text, label_text
from walks.categories import category_labels, staff_only_labels
from walks.duplicates import duplicate_candidates
from walks.importers import (
    BOUNDARY_TOLERANCE_M,
    SUPPORTED_EXTENSIONS,
    ImportResult,
    dry_run_report,
    read_findings_file,
)
from walks.model import (
    LIGHT_CONDITIONS,
    PARTICIPANT_GROUPS,
    WALK_STATES,
    Finding,
    Stop,
    Walk,
    new_id,
)
from walks.photos import PhotoError
from walks.planning import (
    Reroute,
    UnknownSchoolError,
    WalkPlan,
    free_walk_id,
    plan_walk,
    route_through,
)
from walks.service import import_file
from walks.store import ConflictError, FindingStore

#: Sections of the page (a radio, so only the chosen one is computed and drawn).
SECTIONS: tuple[str, ...] = ("plan", "record", "import", "list", "cycle")
#: Clicks farther outside the municipality than this are refused, in metres (the same
#: tolerance as imports: coast lines and border roads).
CLICK_TOLERANCE_M = BOUNDARY_TOLERANCE_M
#: Channel of findings recorded in the app (``walk_id`` is set too when a walk is chosen).
APP_CHANNEL = "app"
#: Folder for uploaded import files, each saved under its content hash (ui.uploads).
UPLOAD_DIR = uploads.UPLOAD_DIR
#: Photo types accepted by the uploader (content is checked by :mod:`walks.photos`).
PHOTO_TYPES = ("jpg", "jpeg", "png", "heic", "heif")
#: Widget keys of the finding form, cleared after a save.
FORM_KEYS = ("rec_category", "rec_severity", "rec_description", "rec_note", "rec_non_public",
             "rec_photo_upload", "rec_lamp")
STATE_COLOURS = {"open": "#d7301f", "fixed": "#1a9641", "closed": "#7f7f7f"}


# --------------------------------------------------------------------------------------
# Small value types (parsed at once from widget payloads, STYLE rule 11)
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClickedPoint:
    """A map click in WGS 84 degrees (what Leaflet returns).

    Attributes
    ----------
    lon, lat : float
        Longitude and latitude in degrees.
    """

    lon: float
    lat: float

    @classmethod
    def from_payload(cls, payload: object) -> ClickedPoint | None:
        """The ``last_clicked`` of an ``st_folium`` return value, or None.

        >>> ClickedPoint.from_payload({"last_clicked": {"lat": 58.94, "lng": 11.17}})
        ClickedPoint(lon=11.17, lat=58.94)
        >>> ClickedPoint.from_payload({"last_clicked": None}) is None
        True
        """
        if not isinstance(payload, Mapping):
            return None
        last = payload.get("last_clicked")
        if not isinstance(last, Mapping):
            return None
        try:
            lat, lon = float(last["lat"]), float(last["lng"])
        except (KeyError, TypeError, ValueError):
            return None
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90):
            return None
        if not -180.0 <= lon <= 180.0:  # Leaflet gives unwrapped longitudes past ±180
            lon = ((lon + 180.0) % 360.0) - 180.0
        return cls(lon, lat)

    def to_point(self, crs: str) -> Point:
        """The click in *crs* (the profile's metric CRS), metres."""
        x, y = _to_crs(crs).transform(self.lon, self.lat)
        return Point(x, y)


@dataclass(frozen=True)
class PhotoRef:
    """An uploaded photo already in the store.

    Attributes
    ----------
    sha256 : str
        Content hash of the original (what a finding stores).
    proposed : tuple of float or None
        EXIF GPS position in the store CRS (x, y metres), if the photo had one.
    """

    sha256: str
    proposed: tuple[float, float] | None = None


@dataclass(frozen=True)
class Draft:
    """A finding waiting for the user's decision: link to a duplicate, or save anyway."""

    finding: Finding
    candidate_ids: tuple[str, ...]


@functools.lru_cache(maxsize=8)
def _to_crs(crs: str) -> Transformer:
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


@functools.lru_cache(maxsize=8)
def _to_wgs84(crs: str) -> Transformer:
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md(text: object) -> str:
    """*text* with Markdown syntax escaped, for ``st.markdown``, captions and radio labels.

    User text (titles, descriptions, ids from imported files) must not become links or
    images, which would make the browser fetch third-party URLs.

    >>> print(md("![x](http://evil/p.png)"))
    \\!\\[x\\]\\(http\\://evil/p\\.png\\)
    """
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def init_page_state() -> None:
    """Every session-state key this page and its widgets use, initialised here only."""
    ss = st.session_state
    ss.setdefault("walk_section", SECTIONS[0])
    ss.setdefault("walk_current", "")
    ss.setdefault("walk_current_next", None)
    ss.setdefault("walk_plan_params", None)
    ss.setdefault("walk_click", None)
    ss.setdefault("walk_click_seen", None)
    ss.setdefault("walk_photo", None)
    ss.setdefault("walk_draft", None)
    ss.setdefault("walk_message", None)


def inside_municipality(point: Point, boundary: Any,
                        tolerance_m: float = CLICK_TOLERANCE_M) -> bool:
    """True when *point* (profile CRS) is within *tolerance_m* metres of the boundary."""
    return bool(shapely.dwithin(boundary, point, tolerance_m))


def save_upload(data: bytes, uploaded_name: str, folder: Path | None = None) -> Path | None:
    """:func:`ui.uploads.save_upload` into :data:`UPLOAD_DIR` (or *folder*)."""
    return uploads.save_upload(data, uploaded_name, UPLOAD_DIR if folder is None else folder)


# --------------------------------------------------------------------------------------
# Cached computations
# --------------------------------------------------------------------------------------

def _default_weights(layers: Layers) -> tuple[tuple[str, float], ...]:
    w = layers.profile.weights
    return tuple((f.name, float(getattr(w, f.name))) for f in dataclasses.fields(w))


def findings_key(findings: pd.DataFrame) -> tuple[int, int]:
    """A cheap cache key that changes whenever a finding is added or edited."""
    if findings.empty:
        return (0, 0)
    return (len(findings), int(findings["version"].sum()))


@st.cache_data(show_spinner=False, max_entries=16)
def st_walk_plan(path: str, key: InputsKey, school: str, length_m: float, dark: bool,
                 findings_version: tuple[int, int], _findings: gpd.GeoDataFrame) -> WalkPlan:
    """The proposed route (cached per school, length, light and findings version)."""
    layers = st_layers(path, key)
    prof = layers.profile
    ranked = st_ranking(path, key, _default_weights(layers), prof.lighting.school_class)
    return plan_walk(layers, school, length_m, dark, ranked=ranked, findings=_findings)


@st.cache_data(show_spinner=False, max_entries=16)
def st_reroute(path: str, key: InputsKey, coords: tuple[tuple[float, float], ...]) -> Reroute:
    """The loop through the edited stops in their new order (cached per stop list)."""
    return route_through(st_layers(path, key).paths, [Point(x, y) for x, y in coords])


def rerouted(plan: WalkPlan, stops: tuple[Stop, ...],
             reroute: Any) -> tuple[WalkPlan, str | None]:
    """*plan* with the route through the edited *stops* (``reroute(coords)``, e.g.
    :func:`st_reroute`), and a message for the user: unchanged when the stops are the
    plan's own; the plan's route and a warning when no route can be found."""
    own = tuple((float(g.x), float(g.y)) for g in plan.stops.geometry)
    now = tuple((float(s.point.x), float(s.point.y)) for s in stops)
    if not now or now == own:
        return plan, None
    try:
        r = reroute(now)
    except ValueError as exc:
        return plan, t("walk_reroute_failed").format(error=str(exc))
    return (dataclasses.replace(plan, route=r.route, length_m=r.length_m),
            t("walk_rerouted").format(length=fmt_number(r.length_m)))


@st.cache_data(show_spinner=False, max_entries=8)
def st_context_lines(path: str, key: InputsKey) -> str:
    """The path network as simplified GeoJSON (EPSG:4326) for map context."""
    paths = st_layers(path, key).paths
    web = maps.to_web(paths[["geometry"]], simplify_m=2.0)
    # One MultiLineString feature: folium styles features one by one, thousands are slow.
    lines = shapely.multilinestrings(shapely.get_parts(web.geometry.values))
    return str(gpd.GeoSeries([lines], crs=web.crs).to_json(drop_id=True))


@st.cache_data(show_spinner=False, max_entries=8)
def st_dry_run(name: str, path: str, key: InputsKey, _file: str) -> ImportResult:
    """What importing *_file* would do; nothing is stored. Cached by *name*, the upload's
    content-hash name (the file itself exists only while it is read)."""
    layers = st_layers(path, key)
    return read_findings_file(_file, layers.profile.crs, boundary=layers.boundary,
                              limits=layers.profile.limits)


@functools.lru_cache(maxsize=1)
def pdf_available() -> bool:
    """True when WeasyPrint (for PDF protocols) can be imported here."""
    if importlib.util.find_spec("weasyprint") is None:
        return False
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


# --------------------------------------------------------------------------------------
# Map pieces
# --------------------------------------------------------------------------------------

def _bounds(layers: Layers, walk: Walk | None) -> tuple[float, float, float, float]:
    if walk is not None and walk.route is not None:
        geom = gpd.GeoSeries([walk.route.buffer(150)], crs=layers.profile.crs)
        w, s, e, n = (float(v) for v in geom.to_crs("EPSG:4326").total_bounds)
    else:
        w, s, e, n = maps.web_bounds(layers.paths)
    return (w, s, e, n)


def _base(layers: Layers, walk: Walk | None) -> folium.Map:
    maps.configure_folium()
    m = maps.base_map(_bounds(layers, walk), "none")
    add_app_basemap(m, "offline")
    path = profile_path()
    maps.SafeGeoJson(st_context_lines(str(path), inputs_key(path)), name=t("paths"),
                     interactive=False,
                     style_function=lambda f: {"color": "#9a9a9a", "weight": 1.5,
                                               "opacity": 0.8}).add_to(m)
    return m


def _add_route(m: folium.Map, route: Any, stops: tuple[Stop, ...], crs: str) -> None:
    if route is not None:
        web = gpd.GeoDataFrame(geometry=[route], crs=crs).to_crs("EPSG:4326")
        maps.SafeGeoJson(web.to_json(drop_id=True), name=t("walk_route"),
                         style_function=lambda f: {"color": "#1d3557", "weight": 5,
                                                   "opacity": 0.85}).add_to(m)
    if stops:
        gdf = gpd.GeoDataFrame({"no": [str(i) for i in range(1, len(stops) + 1)],
                                "label": [s.label for s in stops]},
                               geometry=[s.point for s in stops], crs=crs)
        maps.add_points(m, gdf, "#ffd166", {"no": "#", "label": t("walk_stop")},
                        t("walk_stops"), radius=7)


def _add_findings(m: folium.Map, findings: gpd.GeoDataFrame) -> None:
    for state_type in ("open", "fixed", "closed"):
        part = findings[findings["state_type"].astype(str).eq(state_type)]
        if part.empty:
            continue
        maps.add_points(m, shown_labels(part), STATE_COLOURS[state_type],
                        {"category": t("category"), "description": t("description"),
                         "state_label": t("status")},
                        f"{t('findings')}: {t('state_' + state_type)}", radius=5,
                        show=state_type == "open")


# --------------------------------------------------------------------------------------
# Walk selector and messages
# --------------------------------------------------------------------------------------

def _walk_label(walks: gpd.GeoDataFrame, walk_id: str) -> str:
    if not walk_id:
        return t("walk_none")
    row = walks.loc[walk_id]
    return (f"{row['title']} ({str(row['start'])[:10]}, "
            f"{label_text(row['state_label'], lang())})")


def _current_walk(store: FindingStore, walks: gpd.GeoDataFrame) -> Walk | None:
    ss = st.session_state
    pending = ss.get("walk_current_next")
    if pending:
        ss["walk_current"] = pending
        ss["walk_current_next"] = None
    options = ["", *map(str, walks.index)]
    if ss.get("walk_current") not in options:
        ss["walk_current"] = ""
    chosen = st.selectbox(t("walk_current"), options, key="walk_current",
                          format_func=lambda w: _walk_label(walks, w))
    return store.get_walk(chosen) if chosen else None


def _flash() -> None:
    msg = st.session_state.get("walk_message")
    if msg:
        st.success(msg)
        st.session_state["walk_message"] = None


# --------------------------------------------------------------------------------------
# Section 1: plan a walk
# --------------------------------------------------------------------------------------

def _stops_table(plan: WalkPlan) -> pd.DataFrame:
    kinds = {"start": t("stop_kind_start"), "segment": t("stop_kind_segment"),
             "finding": t("stop_kind_finding")}
    return pd.DataFrame({
        "order": plan.stops["stop_no"].astype(int).to_numpy(),
        "keep": True,
        "kind": plan.stops["kind"].map(lambda k: kinds.get(str(k), str(k))).to_numpy(),
        "label": plan.stops["reason"].astype(str).to_numpy(),
        "along_m": plan.stops["distance_along_m"].astype(float).round(0).to_numpy(),
    })


def edited_stops(plan: WalkPlan, edited: pd.DataFrame) -> tuple[Stop, ...]:
    """The stops as edited in the table: unticked rows removed, sorted by ``order``.

    *edited* has one row per stop of *plan* in the plan's order (the table of
    :func:`_stops_table` after ``st.data_editor``).
    """
    geoms = list(plan.stops.geometry)
    rows = edited.reset_index(drop=True).assign(_pos=range(len(edited)))
    rows = rows[rows["keep"].fillna(False).astype(bool)]
    order = pd.to_numeric(rows["order"], errors="coerce").fillna(rows["_pos"] + 1)
    rows = rows.assign(order=order).sort_values(["order", "_pos"], kind="stable")
    return tuple(Stop(Point(geoms[int(p)].x, geoms[int(p)].y), str(lab or "").strip())
                 for p, lab in zip(rows["_pos"], rows["label"], strict=True))


def _plan_section(layers: Layers, store: FindingStore, role: str,
                  findings: gpd.GeoDataFrame, walks: gpd.GeoDataFrame,
                  current: Walk | None) -> None:
    prof = layers.profile
    st.subheader(t("walk_plan"))
    schools = list(prof.designated_schools) or sorted(layers.schools["name"].astype(str))
    c1, c2, c3 = st.columns(3)
    school = c1.selectbox(t("walk_school"), schools, key="plan_school")
    length_m = c2.slider(t("walk_length"), 500, 4000, 2000, 250, key="plan_length")
    light = c3.radio(t("walk_light"), ["dark", "day"], key="plan_light", horizontal=True,
                     format_func=lambda v: t(f"walk_light_{v}"))
    if st.button(t("walk_propose"), key="plan_go", type="primary"):
        st.session_state["walk_plan_params"] = (str(school), float(length_m), light == "dark")
    params = st.session_state.get("walk_plan_params")
    if params is not None:
        _show_plan(layers, store, role, findings, walks, params)
    else:
        st.caption(t("walk_plan_hint"))
    st.divider()
    _protocol_section(layers, store, findings, current)


def _show_plan(layers: Layers, store: FindingStore, role: str, findings: gpd.GeoDataFrame,
               walks: gpd.GeoDataFrame, params: tuple[str, float, bool]) -> None:
    prof = layers.profile
    school, length_m, dark = params
    path = profile_path()
    try:
        with st.spinner(t("walk_planning")):
            plan = st_walk_plan(str(path), inputs_key(path), school, length_m, dark,
                                findings_key(findings), findings)
    except (UnknownSchoolError, ValueError) as exc:
        show_error(t("walk_plan_failed"), exc)
        return
    c1, c2, c3 = st.columns(3)
    c1.metric(t("walk_length_actual"), f"{fmt_number(plan.length_m)} m")
    c2.metric(t("walk_stops"), len(plan.stops))
    c3.metric(t("walk_source"), t(f"walk_source_{plan.source}"))
    left, right = st.columns([3, 2])
    with right:
        st.caption(t("walk_edit_stops"))
        edited = st.data_editor(
            _stops_table(plan), hide_index=True, num_rows="fixed", width="stretch",
            key=f"plan_stops_{school}_{length_m:.0f}_{int(dark)}",
            disabled=["kind", "along_m"],
            column_config={
                "order": st.column_config.NumberColumn(t("walk_stop_order"), min_value=1,
                                                       step=1, format="%d"),
                "keep": st.column_config.CheckboxColumn(t("walk_stop_keep")),
                "kind": st.column_config.TextColumn(t("walk_stop_kind")),
                "label": st.column_config.TextColumn(t("walk_stop"), max_chars=200),
                "along_m": st.column_config.NumberColumn("m", format="%d"),
            })
        stops = edited_stops(plan, edited)
        # Reordered or removed stops: the route follows the new order, and it is saved.
        plan, note = rerouted(plan, stops, lambda xy: st_reroute(str(path), inputs_key(path),
                                                                 xy))
        if note:
            st.info(note)
    with left:
        m = _base(layers, None)
        _add_route(m, plan.route, stops, prof.crs)
        folium.LayerControl(collapsed=True).add_to(m)
        st_folium(m, height=460, use_container_width=True, returned_objects=[],
                  key="plan_map")
    _save_walk_form(layers, store, role, plan, stops, walks)


def _save_walk_form(layers: Layers, store: FindingStore, role: str, plan: WalkPlan,
                    stops: tuple[Stop, ...], walks: gpd.GeoDataFrame) -> None:
    prof = layers.profile
    with st.form("plan_save"):
        st.markdown(f"**{t('walk_save_title')}**")
        title = st.text_input(t("walk_title"), value=f"Trygghetsvandring {plan.school}",
                              max_chars=200, key="plan_title")
        c1, c2, c3 = st.columns(3)
        day = c1.date_input(t("date"), value=date.today() + timedelta(days=14),
                            key="plan_day", format=DATE_FORMAT)
        start = c2.time_input(t("walk_time"), value=time(18, 0) if plan.dark else time(10, 0),
                              key="plan_time")
        light = c3.selectbox(t("walk_light_condition"), LIGHT_CONDITIONS,
                             index=LIGHT_CONDITIONS.index(plan.light), key="plan_light_cond",
                             format_func=lambda v: label_text(v, lang()))
        organiser = st.text_input(t("walk_organiser"), help=t("walk_organiser_help"),
                                  max_chars=120, key="plan_organiser")
        st.caption(t("walk_participants_help"))
        counts = st.data_editor(
            pd.DataFrame({"group": [label_text(g, lang()) for g in PARTICIPANT_GROUPS],
                          "count": 0}),
            hide_index=True, num_rows="fixed", disabled=["group"], key="plan_participants",
            column_config={"group": st.column_config.TextColumn(t("walk_group")),
                           "count": st.column_config.NumberColumn(t("walk_count"),
                                                                  min_value=0, step=1)})
        submitted = st.form_submit_button(t("walk_save"), type="primary", key="plan_submit")
    if not submitted:
        return
    if not isinstance(day, date) or start is None:
        st.error(t("walk_need_date"))
        return
    when = datetime.combine(day, start, tzinfo=ZoneInfo(prof.timezone))
    # Rows keep the order of PARTICIPANT_GROUPS (fixed rows); the shown name may be English.
    participants = {str(g): int(c) for g, c in zip(PARTICIPANT_GROUPS, counts["count"],
                                                   strict=True)
                    if pd.notna(c) and int(c) > 0}
    try:
        walk = plan.to_walk(title.strip() or f"Trygghetsvandring {plan.school}", when,
                            organiser=organiser.strip(), participants=participants)
        walk = dataclasses.replace(walk, id=free_walk_id(set(map(str, walks.index)), walk.id),
                                   stops=stops, light=str(light))
        saved = store.add_walk(walk, author_role=role)
    except ValidationError as exc:
        show_error(t("walk_save_failed"), exc)
        return
    st.session_state["walk_current_next"] = saved.id
    st.session_state["walk_message"] = t("walk_saved").format(id=saved.id)
    st.rerun()


def _protocol_section(layers: Layers, store: FindingStore, findings: gpd.GeoDataFrame,
                      walk: Walk | None) -> None:
    st.subheader(t("walk_protocol"))
    if walk is None:
        st.caption(t("walk_protocol_hint"))
        return
    try:
        from walks.protocol import render_protocol, render_protocol_html
    except ImportError:  # pragma: no cover - the protocol module is part of walks/
        st.info(t("walk_protocol_missing"))
        return
    prof = layers.profile
    w: Walk = walk
    internal = st.toggle(t("walk_protocol_internal"), key="proto_internal",
                         help=t("walk_protocol_internal_help"))
    # The shared protocol never even receives non-public findings.
    shown = findings if internal or not len(findings) or "non_public" not in findings \
        else findings.loc[~findings["non_public"].fillna(True).astype(bool)]
    stem = f"internt-protokoll-{walk.id}" if internal else f"protokoll-{walk.id}"

    def html() -> bytes:
        return render_protocol_html(w, shown, store.categories, paths=layers.paths,
                                    store=store, tz=prof.timezone,
                                    internal=internal).encode("utf-8")

    def pdf() -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            out = render_protocol(w, shown, Path(tmp) / "protokoll.pdf",
                                  store.categories, paths=layers.paths, store=store,
                                  tz=prof.timezone, internal=internal)
            return out.read_bytes()

    kind = t("walk_protocol_form") if walk.state.is_planned() and not (
        findings["walk_id"].astype(str).eq(walk.id).any() if len(findings) else False) \
        else t("walk_protocol_full")
    st.caption(kind)
    if internal:
        st.warning(t("walk_protocol_internal_warning"), icon="🔒")
    c1, c2 = st.columns(2)
    c1.download_button(t("walk_protocol_html"), html, f"{stem}.html",
                       "text/html", on_click="ignore", key="proto_html")
    if pdf_available():
        c2.download_button(t("walk_protocol_pdf"), pdf, f"{stem}.pdf",
                           "application/pdf", on_click="ignore", key="proto_pdf")
    else:
        c2.caption(t("walk_protocol_no_pdf"))


# --------------------------------------------------------------------------------------
# Section 2: record findings by clicking the map
# --------------------------------------------------------------------------------------

def _take_click(payload: object) -> None:
    """Parse an ``st_folium`` payload at once; a *new* click replaces the chosen point."""
    click = ClickedPoint.from_payload(payload)
    ss = st.session_state
    if click is not None and click != ss.get("walk_click_seen"):
        ss["walk_click_seen"] = click
        ss["walk_click"] = click


def _chosen_click() -> ClickedPoint | None:
    value = st.session_state.get("walk_click")
    if isinstance(value, ClickedPoint):
        return value
    if isinstance(value, Mapping) and {"lon", "lat"} <= set(value):
        return ClickedPoint(float(value["lon"]), float(value["lat"]))
    return None


def _photo_upload(store: FindingStore) -> PhotoRef | None:
    up = st.file_uploader(t("rec_photo"), type=list(PHOTO_TYPES), key="rec_photo_upload",
                          help=t("rec_photo_help"))
    ss = st.session_state
    if up is None:
        ss["walk_photo"] = None
        return None
    data = up.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    current = ss.get("walk_photo")
    if isinstance(current, PhotoRef) and current.sha256 == sha:
        return current
    try:
        stored = store.add_photo(data, declared_name=up.name, declared_type=up.type)
    except PhotoError as exc:
        show_error(t("rec_photo_bad"), exc)
        ss["walk_photo"] = None
        return None
    loc = stored.proposed_location
    ref = PhotoRef(stored.sha256, (loc.x, loc.y) if loc is not None else None)
    ss["walk_photo"] = ref
    return ref


def _location(click: ClickedPoint | None, photo: PhotoRef | None,
              crs: str) -> tuple[Point | None, str]:
    if click is not None:
        return click.to_point(crs), "click"
    if photo is not None and photo.proposed is not None:
        return Point(*photo.proposed), "photo"
    return None, ""


def _record_section(layers: Layers, store: FindingStore, role: str,
                    findings: gpd.GeoDataFrame, walks: gpd.GeoDataFrame,
                    current: Walk | None) -> None:
    prof = layers.profile
    st.subheader(t("rec_title"))
    st.caption(t("rec_hint"))
    # A click reruns the script; the component's value is in session state before the
    # map is drawn again, so the marker shows the new point at once.
    _take_click(st.session_state.get("rec_map"))
    left, right = st.columns([3, 2])
    with right:
        photo = _photo_upload(store)
        click = _chosen_click()
        point, source = _location(click, photo, prof.crs)
    with left:
        m = _base(layers, current)
        if current is not None:
            _add_route(m, current.route, current.stops, prof.crs)
        _add_findings(m, findings)
        folium.LayerControl(collapsed=True).add_to(m)
        marker = folium.FeatureGroup(name=t("rec_point"))
        if point is not None:
            lon, lat = _to_wgs84(prof.crs).transform(point.x, point.y)
            folium.CircleMarker([lat, lon], radius=9, color="#111", weight=2, fill=True,
                                fill_color="#ff006e", fill_opacity=0.9,
                                tooltip=t("rec_point")).add_to(marker)
        payload = st_folium(m, key="rec_map", height=520, use_container_width=True,
                            returned_objects=["last_clicked"], feature_group_to_add=marker)
        _take_click(payload)
    with right:
        if source == "click" and click is not None:
            st.caption(f"{t('rec_point')}: {click.lat:.5f}, {click.lon:.5f}")
        elif source == "photo":
            st.info(t("rec_point_from_photo"))
        else:
            st.warning(t("rec_no_point"))
        draft = st.session_state.get("walk_draft")
        if isinstance(draft, Draft):
            _draft_decision(store, role, draft, findings)
        else:
            _finding_form(layers, store, role, point, photo, findings, walks, current)
    _walk_findings_table(findings, current, prof.timezone)


def _finding_form(layers: Layers, store: FindingStore, role: str, point: Point | None,
                  photo: PhotoRef | None, findings: gpd.GeoDataFrame,
                  walks: gpd.GeoDataFrame, current: Walk | None) -> None:
    staff_only = staff_only_labels(store.categories)
    labels = list(category_labels(store.categories))
    walk_options = ["", *map(str, walks.index)]
    with st.form("rec_form"):
        category = st.selectbox(
            t("category"), labels, key="rec_category",
            format_func=lambda c: f"{c} ({t('rec_staff_only')})" if c in staff_only else c)
        severity = st.radio(t("rec_severity"), [1, 2, 3], index=1, horizontal=True,
                            key="rec_severity", format_func=lambda s: t(f"rec_severity_{s}"))
        description = st.text_area(t("rec_description"), max_chars=2000,
                                   key="rec_description", help=t("rec_description_help"))
        note = st.text_area(t("rec_note"), max_chars=2000, key="rec_note",
                            help=t("rec_note_help"))
        non_public = st.checkbox(t("rec_non_public"), key="rec_non_public")
        near = nearest_luminaires(layers.luminaires, point)
        lamp = st.selectbox(t("rec_lamp"), ["", *near], key="rec_lamp",
                            help=t("rec_lamp_help"),
                            format_func=lambda i: near.get(i, t("rec_lamp_none")))
        walk_id = st.selectbox(t("rec_walk"), walk_options,
                               index=walk_options.index(current.id) if current else 0,
                               format_func=lambda w: _walk_label(walks, w), key="rec_walk")
        submitted = st.form_submit_button(t("rec_save"), type="primary", key="rec_submit")
    if not submitted:
        return
    if point is None:
        st.error(t("rec_no_point"))
        return
    if not inside_municipality(point, layers.boundary):
        st.error(t("rec_outside"))
        return
    try:
        finding = Finding(
            id=new_id(), geometry=point, created=datetime.now(UTC), category=str(category),
            severity=int(severity), description=(description or "").strip(),
            internal_note=(note or "").strip(), walk_id=walk_id or None,
            channel=APP_CHANNEL, photos=(photo.sha256,) if photo else (),
            non_public=bool(non_public), luminaire_id=str(lamp) if lamp else None)
    except ValidationError as exc:
        show_error(t("rec_invalid"), exc)
        return
    dups = duplicate_candidates(point, finding.category, findings)
    if len(dups):
        st.session_state["walk_draft"] = Draft(finding, tuple(map(str, dups.index)))
        st.rerun()
    _save_finding(store, role, finding)


def nearest_luminaires(luminaires: gpd.GeoDataFrame, point: Point | None,
                       radius_m: float = 30.0, n: int = 8) -> dict[str, str]:
    """The luminaires nearest *point* (within *radius_m*, at most *n*), for a lamp fault:
    id -> label ``"A-010018 · 12 m · Högtrycksnatrium"``, nearest first (ties by id).

    *point* and *luminaires* are in the profile CRS (metres); empty without a point.
    """
    if point is None or len(luminaires) == 0:
        return {}
    dist = pd.Series(shapely.distance(np.asarray(luminaires.geometry.values, dtype=object),
                                      point), index=luminaires.index.astype(str))
    near = dist[dist.le(radius_m)]
    order = sorted(((str(i), float(d)) for i, d in near.items()),
                   key=lambda kv: (kv[1], kv[0]))[:n]
    src = dict(zip(luminaires.index.astype(str),
                   luminaires["light_source"].astype(str) if "light_source" in luminaires.columns
                   else [""] * len(luminaires), strict=True))
    return {i: " · ".join(x for x in (i, f"{d:.0f} m", src.get(i, "")) if x)
            for i, d in order}


def _reset_form() -> None:
    ss = st.session_state
    for k in FORM_KEYS:
        ss.pop(k, None)
    ss["walk_click"] = None
    ss["walk_photo"] = None
    ss["walk_draft"] = None


def _save_finding(store: FindingStore, role: str, finding: Finding) -> None:
    try:
        saved = store.add_finding(finding, author_role=role, note="registrerad i appen")
    except ValidationError as exc:
        show_error(t("rec_invalid"), exc)
        return
    _reset_form()
    st.session_state["walk_message"] = t("rec_saved").format(category=saved.category)
    st.rerun()


def _draft_decision(store: FindingStore, role: str, draft: Draft,
                    findings: gpd.GeoDataFrame) -> None:
    f = draft.finding
    dups = duplicate_candidates(f.geometry, f.category, findings)
    st.warning(t("rec_duplicates").format(n=len(dups)))
    if len(dups):
        st.dataframe(pd.DataFrame({
            t("rec_distance"): dups["distance_m"].round(0).astype(int).to_numpy(),
            t("status"): dups["state_label"].astype(str).to_numpy(),
            t("description"): dups["description"].astype(str).to_numpy(),
            t("date"): [str(c)[:10] for c in dups["created"]],
        }), hide_index=True, width="stretch")
        target = st.radio(t("rec_link_target"), list(map(str, dups.index)),
                          key="rec_link_target",
                          format_func=lambda i: f"{dups.loc[i, 'distance_m']:.0f} m – "
                                                + md(str(dups.loc[i, "description"])[:60]))
    else:
        target = None
    c1, c2, c3 = st.columns(3)
    if target is not None and c1.button(t("rec_link"), type="primary", key="rec_link"):
        _link_to(store, role, str(target), f)
    if c2.button(t("rec_save_anyway"), key="rec_save_anyway"):
        _save_finding(store, role, f)
    if c3.button(t("cancel"), key="rec_cancel"):
        st.session_state["walk_draft"] = None
        st.rerun()


def _link_to(store: FindingStore, role: str, target_id: str, new: Finding) -> None:
    """Add the new observation to an existing finding's history instead of a new finding."""
    existing = store.get_finding(target_id)
    parts = [f"Ny iakttagelse länkad hit i stället för ett nytt fynd "
             f"({datetime.now(UTC):%Y-%m-%d}, allvarlighet {new.severity}"
             + (f", vandring {new.walk_id}" if new.walk_id else "") + ")."]
    if new.description:
        parts.append(f"Beskrivning: {new.description}")
    if new.internal_note:
        parts.append(f"Intern anteckning: {new.internal_note}")
    changes: dict[str, Any] = {}
    extra = [p for p in new.photos if p not in existing.photos]
    if extra:
        changes["photos"] = [*existing.photos, *extra]
    try:
        store.update_finding(target_id, existing.version, author_role=role,
                             note=" ".join(parts), **changes)
    except ConflictError:
        st.error(t("conflict"))
        return
    except ValidationError as exc:
        show_error(t("rec_invalid"), exc)
        return
    _reset_form()
    st.session_state["walk_message"] = t("rec_linked")
    st.rerun()


# --------------------------------------------------------------------------------------
# Section 3: import a file
# --------------------------------------------------------------------------------------

def _import_section(layers: Layers, store: FindingStore, current: Walk | None) -> None:
    st.subheader(t("imp_title"))
    st.caption(t("imp_hint"))
    types = sorted({e.lstrip(".") for e in SUPPORTED_EXTENSIONS})
    up = st.file_uploader(t("imp_file"), type=types, key="imp_upload")
    if up is None:
        return
    limits = layers.profile.limits
    if up.size > limits.upload_bytes:
        st.error(t("imp_too_large").format(mb=f"{up.size / 1e6:.1f}",
                                           limit=f"{limits.upload_mb:g}"))
        return
    data = up.getvalue()
    name = uploads.upload_name(data, up.name)
    if name is None:
        st.error(t("imp_unsupported").format(types=", ".join(types)))
        return
    path = profile_path()
    with uploads.saved_upload(data, up.name, UPLOAD_DIR) as saved:
        result = st_dry_run(name, str(path), inputs_key(path), str(saved))
    st.markdown(f"**{t('imp_preview')}**")
    if len(result.findings):
        f = result.findings
        st.dataframe(pd.DataFrame({
            t("imp_row"): f.index.astype(str),
            t("category"): f["category"].astype(str).to_numpy(),
            t("rec_severity"): f["severity"].astype("string").fillna("–").to_numpy(),
            t("date"): [("" if pd.isna(c) else str(c)[:16]) for c in f["created"]],
            t("description"): f["description"].astype(str).to_numpy(),
        }), hide_index=True, width="stretch")
    if result.problems:
        st.error(t("imp_problems").format(n=len(result.problems)))
        st.dataframe(pd.DataFrame({
            t("imp_row"): [p.row or "–" for p in result.problems],
            t("imp_column"): [p.column for p in result.problems],
            t("imp_problem"): [p.message for p in result.problems],
            t("imp_fix"): [p.fix for p in result.problems],
        }), hide_index=True, width="stretch")
    with st.expander(t("imp_report")):
        st.text(dry_run_report(result))
    st.caption(t("imp_target").format(walk=md(current.title) if current else t("walk_none")))
    if st.button(t("imp_commit"), type="primary", disabled=not result.ok or
                 not len(result.findings), key="imp_commit"):
        try:
            with uploads.saved_upload(data, up.name, UPLOAD_DIR) as saved:
                assert saved is not None
                outcome = import_file(store, layers.profile, saved,
                                      walk_id=current.id if current else None)
        except ValidationError as exc:
            show_error(t("imp_failed"), exc)
            return
        if outcome.ok and outcome.report is not None:
            st.session_state["walk_message"] = (f"{t('imp_done')} "
                                                f"{outcome.report.summary()}")
            st.rerun()
        show_error(t("imp_failed"), outcome.text)


# --------------------------------------------------------------------------------------
# Section 4: the walk's findings
# --------------------------------------------------------------------------------------

def shown_labels(findings: pd.DataFrame) -> pd.DataFrame:
    """A copy of *findings* with ``category`` and ``state_label`` in the UI language (for
    map tooltips; the stored values stay Swedish)."""
    if lang() != "en" or findings.empty:
        return findings
    return findings.assign(
        category=findings["category"].astype(str).map(lambda c: category_text(c, "en")),
        state_label=findings["state_label"].astype(str).map(lambda s: label_text(s, "en")))


def findings_table(findings: gpd.GeoDataFrame, tz: str = "Europe/Stockholm") -> pd.DataFrame:
    """Staff table of findings (translated headers; internal note included)."""
    if findings.empty:
        return pd.DataFrame()
    created = pd.to_datetime(findings["created"], utc=True).dt.tz_convert(tz)
    return pd.DataFrame({
        t("date"): created.dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
        t("category"): findings["category"].astype(str).map(
            lambda c: category_text(c, lang())).to_numpy(),
        t("rec_severity"): findings["severity"].astype(int).to_numpy(),
        t("status"): [label_text(v, lang()) for v in findings["state_label"].astype(str)],
        t("description"): findings["description"].astype(str).to_numpy(),
        t("rec_note"): findings["internal_note"].astype(str).to_numpy(),
        t("act_responsible"): [label_text(v, lang()) if v else ""
                               for v in findings["responsible"].fillna("").astype(str)],
        t("act_deadline"): [str(d) if d else "" for d in findings["deadline"]],
    }, index=findings.index)


def _walk_findings_table(findings: gpd.GeoDataFrame, walk: Walk | None,
                         tz: str = "Europe/Stockholm") -> None:
    if walk is None:
        return
    part = findings[findings["walk_id"].astype(str).eq(walk.id)] if len(findings) else findings
    st.markdown(f"**{t('list_title').format(walk=md(walk.title), n=len(part))}**")
    if len(part):
        st.dataframe(findings_table(part, tz), hide_index=True, width="stretch")


def _list_section(store: FindingStore, findings: gpd.GeoDataFrame, walk: Walk | None,
                  tz: str) -> None:
    st.subheader(t("list_heading"))
    if walk is None:
        st.info(t("list_choose_walk"))
        return
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("date"), walk.start.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M"))
    c2.metric(t("walk_light_condition"), label_text(walk.light, lang()))
    c3.metric(t("walk_stops"), len(walk.stops))
    c4.metric(t("status"), label_text(walk.state.label, lang()))
    if walk.participants:
        st.caption(t("walk_participants") + ": " + ", ".join(
            f"{g} {n}" for g, n in walk.participants.items()))
    nxt = WALK_STATES[walk.state.step + 1] if walk.state.step + 1 < len(WALK_STATES) else None
    if nxt is not None and st.button(t("list_advance").format(state=label_text(nxt.label, lang())),
                                     key="list_advance"):
        try:
            store.set_walk_state(walk.id, walk.version, nxt)
        except ConflictError:
            st.error(t("conflict"))
        except ValidationError as exc:
            show_error(t("walk_save_failed"), exc)
        else:
            st.session_state["walk_message"] = t("list_advanced").format(state=label_text(nxt.label, lang()))
            st.rerun()
    _walk_findings_table(findings, walk, tz)


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------

def render() -> None:
    """The page (staff only)."""
    init_page_state()
    with staff_store_page("page_walks") as (role, layers, store):
        prof = layers.profile
        _flash()
        walks = store.walks()
        findings = store.findings()
        current = _current_walk(store, walks)
        section = st.radio(t("walk_section"), SECTIONS, key="walk_section", horizontal=True,
                           format_func=lambda s: t(f"walk_section_{s}"))
        if section == "plan":
            _plan_section(layers, store, role, findings, walks, current)
        elif section == "record":
            _record_section(layers, store, role, findings, walks, current)
        elif section == "import":
            _import_section(layers, store, current)
        elif section == "cycle":
            _cycle_section(store, walks, findings, current, prof)
        else:
            _list_section(store, findings, current, prof.timezone)


def _cycle_section(store: FindingStore, walks: gpd.GeoDataFrame, findings: gpd.GeoDataFrame,
                   current: Walk | None, prof: Any) -> None:
    """The walk cycle (Brå/Boverket): förmöte, walk, återkopplingsmöte and protocol for
    every walk, overdue protocols first; the förmöte and feedback meeting of the chosen
    walk; a follow-up walk on the same route, and what became of the earlier findings."""
    from walks.cycle import compare_walks, follow_up_walk, walk_cycles
    from walks.model import PARTICIPANT_GROUPS

    st.subheader(t("cyc_title"))
    zone = ZoneInfo(prof.timezone)
    today = datetime.now(zone).date()
    table = walk_cycles(walks, findings, today, protocol_weeks=prof.protocol_weeks,
                        tz=prof.timezone)
    late = table.loc[table["protocol_overdue"]]
    if len(late):
        st.error(t("cyc_overdue").format(n=len(late), weeks=prof.protocol_weeks), icon="⏰")
    if table.empty:
        st.info(t("cyc_none"))
    else:
        def d(v: object) -> str:
            return "" if v is None or pd.isna(v) else str(v)  # type: ignore[call-overload]
        st.dataframe(pd.DataFrame({
            t("cyc_walk"): [str(x) for x in table["title"]],
            t("cyc_date"): [d(x) for x in table["start_date"]],
            t("cyc_premeeting"): [d(x) for x in table["premeeting"]],
            t("cyc_feedback"): [d(x) for x in table["feedback_meeting"]],
            t("cyc_protocol"): [d(x) or ("⚠ " + t("cyc_due") + " " + d(y) if o else
                                         t("cyc_due") + " " + d(y) if h else "")
                                for x, y, o, h in zip(table["protocol_published"],
                                                      table["protocol_due"],
                                                      table["protocol_overdue"],
                                                      table["held"], strict=True)],
            t("cyc_decided"): [f"{a}/{b}" for a, b in zip(table["decided"],
                                                           table["findings"], strict=True)],
        }), hide_index=True, width="stretch", key="cyc_table")
    if current is None:
        st.caption(t("cyc_choose"))
        return
    with st.form("cyc_form"):
        st.markdown(f"**{md(current.title)}**")
        c1, c2 = st.columns(2)
        pre = c1.date_input(t("cyc_premeeting"), value=current.premeeting_at.astimezone(zone)
                            .date() if current.premeeting_at else None, key="cyc_pre",
                            format=DATE_FORMAT)
        fb = c2.date_input(t("cyc_feedback"), value=current.feedback_at.astimezone(zone)
                           .date() if current.feedback_at else None, key="cyc_fb",
                           format=DATE_FORMAT)
        invited = st.multiselect(t("cyc_invited"), list(PARTICIPANT_GROUPS),
                                 default=list(current.invited), key="cyc_invited",
                                 format_func=lambda g: label_text(g, lang()),
                                 placeholder=t("choose"))
        focus = st.text_input(t("cyc_focus"), value=current.focus, max_chars=300,
                              key="cyc_focus")
        saved = st.form_submit_button(t("act_save"), type="primary", key="cyc_save")
    if saved:
        def at18(day: object) -> datetime | None:
            return (datetime.combine(day, datetime.min.time(), zone).replace(hour=18)
                    if isinstance(day, date) else None)
        try:
            store.update_walk(current.id, current.version, premeeting_at=at18(pre),
                              feedback_at=at18(fb), invited=tuple(invited),
                              focus=(focus or "").strip())
        except (ValidationError, ConflictError) as exc:
            show_error(t("act_invalid"), exc)
            return
        st.session_state["walk_message"] = t("act_saved")
        st.rerun()
    if current.follows:
        c = compare_walks(walks, findings, current.id)
        st.info(t("cyc_compare").format(fixed=c.fixed, total=c.total, closed=c.closed,
                                         remaining=c.remaining, new=c.new))
    with st.form("cyc_follow"):
        when = st.date_input(t("cyc_follow_date"), value=None, key="cyc_follow_date",
                             format=DATE_FORMAT)
        follow = st.form_submit_button(t("cyc_follow"), key="cyc_follow_btn")
    if follow:
        if not isinstance(when, date):
            st.error(t("cyc_follow_no_date"))
            return
        start = datetime.combine(when, datetime.min.time(), zone).replace(hour=18)
        try:
            new = store.add_walk(follow_up_walk(
                current, f"{current.id}-uppfoljning-{when:%Y-%m-%d}", start))
        except ValidationError as exc:
            show_error(t("act_invalid"), exc)
            return
        st.session_state["walk_current_next"] = new.id
        st.session_state["walk_message"] = t("cyc_follow_done").format(id=new.id)
        st.rerun()
