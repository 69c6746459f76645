"""The printable walk protocol (Swedish), as standalone HTML or PDF.

:func:`render_protocol` writes the protocol of a safety walk; run before the walk (a
walk in state ``planerad`` with no findings yet) it writes an **empty form** for the walk
leader instead: the route map with numbered stops, the stops, the checklist questions
with empty lines to write on and a blank table for the findings.

Contents of the protocol
------------------------
* header: title, date and time (local time of ``tz``), light condition, area and school,
  organising unit, route length, walk state;
* participants as **counts per group** (names are never stored, so never printed);
* a map drawn offline with matplotlib (no tiles, no network): the paths layer in light
  grey as context, the route in bold, the stops, and the findings as numbered markers
  coloured by state type;
* the checklist questions per category (:func:`walks.categories.checklist`; staff-only
  categories left out);
* a table of the findings: number, category, description, state and the public
  explanation staff wrote (``public_note``);
* the public photo copies (EXIF-free, downscaled) when a store is given.

Two versions
------------
The **protocol** (default) is shared with the participants and residents, so it is built
from an allow-list of fields (:data:`PROTOCOL_FIELDS`): the measure, responsible party,
deadline, internal closing reason, **internal note**, severity, the original text before
moderation, import keys, channels, versions, history and the original photos are never
read into the template, and the organising unit (which staff may have written with a
contact person) is not printed. Findings marked ``non_public``, findings in staff-only
categories and residents' reports a moderator has not approved are left out.

The **internal protocol** (``internal=True``; ``trygga walks protocol --internal``, the
app's "Internt protokoll") is for staff only and says so on every page: it adds the
organiser and, per finding, severity, measure, responsible party, deadline, the closing
reason and the internal note (:data:`INTERNAL_PROTOCOL_FIELDS`). It still leaves out
other walks' findings; non-public and staff-only findings are included, marked.

Safety of the output
--------------------
The HTML is rendered by Jinja2 with autoescape on, so every text from the store is
HTML-escaped (``<script>`` becomes ``&lt;script&gt;``). Images (map and photos) are
embedded as base64 ``data:`` URIs, the CSS is inline and no fonts, scripts or style sheets
are linked, so the file opens offline and makes no external requests. The PDF is made
from the same HTML with WeasyPrint, whose URL fetcher is limited to ``data:`` URIs.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point

from layers.io import write_atomic
from walks.categories import CATEGORIES, Category, checklist, staff_only_labels
from walks.model import APPROVED, PARTICIPANT_GROUPS, Walk, finding_state
from walks.pdf import html_to_pdf

if TYPE_CHECKING:
    from walks.store import FindingStore

logger = logging.getLogger(__name__)

#: The only finding fields the shared protocol reads (allow-list; plus the position and
#: the public photo copies). Measures, responsibility, deadlines, closing reasons and the
#: internal note are deliberately not here.
PROTOCOL_FIELDS: tuple[str, ...] = ("category", "description", "state_label", "public_note")
#: The fields of the internal (staff) protocol.
INTERNAL_PROTOCOL_FIELDS: tuple[str, ...] = (
    *PROTOCOL_FIELDS, "severity", "measure", "responsible", "deadline", "closed_reason",
    "internal_note", "non_public",
)
#: Banner of the internal protocol (on the page, in the title and in every page footer).
INTERNAL_LABEL = "INTERNT – delas inte med deltagare eller allmänhet"
#: Output extension -> format.
PROTOCOL_FORMATS: dict[str, str] = {".html": "html", ".htm": "html", ".pdf": "pdf"}
#: Empty rows in the form's findings table.
BLANK_FINDING_ROWS = 10
#: Most public photos printed per finding.
MAX_PHOTOS_PER_FINDING = 2

_TEMPLATES = Path(__file__).with_name("templates")
_MONTHS_SV = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
              "september", "oktober", "november", "december")
_STATE_COLOURS = {"open": "#c1121f", "fixed": "#2a9d8f", "closed": "#6c757d"}
_ROUTE_COLOUR = "#1d3557"


class ProtocolError(RuntimeError):
    """The protocol cannot be written in the requested format (the message has the fix)."""


@dataclass(frozen=True)
class _Row:
    no: int
    category: str
    description: str
    state: str
    state_type: str
    point: Point | None
    public_note: str = ""
    # internal protocol only (empty in the shared one: never read)
    severity: str = ""
    measure: str = ""
    responsible: str = ""
    deadline: str = ""
    closed_reason: str = ""
    internal_note: str = ""
    non_public: bool = False


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )


def _text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def _when_sv(value: datetime, tz: str) -> str:
    local = value.astimezone(ZoneInfo(tz))
    return f"{local.day} {_MONTHS_SV[local.month - 1]} {local.year} kl. {local:%H.%M}"


def _deadline(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, datetime | pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _walk_findings(walk: Walk, findings: gpd.GeoDataFrame | None,
                   categories: Sequence[Category], internal: bool = False) -> pd.DataFrame:
    """The walk's printable findings: this walk only, ordered by creation time then id.

    Shared protocol: no hidden or staff-only ones, only :data:`PROTOCOL_FIELDS`. Internal
    protocol: all of the walk's findings, :data:`INTERNAL_PROTOCOL_FIELDS`."""
    fields = INTERNAL_PROTOCOL_FIELDS if internal else PROTOCOL_FIELDS
    if findings is None or len(findings) == 0:
        return pd.DataFrame(columns=[*fields, "geometry", "public_photos"])
    f = findings
    if "walk_id" in f.columns:
        f = f.loc[f["walk_id"].astype(object).eq(walk.id).fillna(False).astype(bool)]
    hidden = pd.Series(False, index=f.index)
    if "non_public" in f.columns:
        hidden |= f["non_public"].fillna(True).astype(bool)
    hidden |= f["category"].astype(str).isin(staff_only_labels(categories))
    if "moderation" in f.columns:  # residents' reports a moderator has not approved
        hidden |= ~f["moderation"].astype(object).eq(APPROVED)
    if hidden.any() and not internal:
        logger.info("protocol for %s: left out %d non-public/staff-only finding(s)",
                    walk.id, int(hidden.sum()))
        f = f.loc[~hidden]
    state_col = "state_label" if "state_label" in f.columns else "state"
    out = pd.DataFrame(index=f.index)
    if internal:
        out["non_public"] = hidden.loc[f.index].to_numpy()
    for c in fields:
        if c == "non_public":
            continue
        src = state_col if c == "state_label" else c
        out[c] = f[src].to_numpy() if src in f.columns else None
    out["geometry"] = f.geometry.to_numpy() if isinstance(f, gpd.GeoDataFrame) else None
    out["public_photos"] = f["public_photos"].to_numpy() if "public_photos" in f.columns \
        else [[] for _ in range(len(f))]
    created = pd.to_datetime(f["created"], utc=True, format="ISO8601") \
        if "created" in f.columns else pd.Series(pd.NaT, index=f.index)
    order = np.lexsort((f.index.astype(str).to_numpy(),
                        created.fillna(pd.Timestamp.max.tz_localize("UTC")).to_numpy()))
    return out.iloc[order]


def _rows(f: pd.DataFrame, internal: bool = False) -> list[_Row]:
    rows = []
    for no, (_, r) in enumerate(f.iterrows(), start=1):
        state = finding_state(_text(r["state_label"]))
        g = r["geometry"]
        extra: dict[str, Any] = {}
        if internal:
            extra = dict(
                severity=_text(r["severity"]), measure=_text(r["measure"]),
                responsible=_text(r["responsible"]), deadline=_deadline(r["deadline"]),
                closed_reason=_text(r["closed_reason"]) if state.is_closed() else "",
                internal_note=_text(r["internal_note"]), non_public=bool(r["non_public"]))
        rows.append(_Row(
            no=no, category=_text(r["category"]), description=_text(r["description"]),
            state=state.label, state_type=state.type,
            point=g if isinstance(g, Point) and not g.is_empty else None,
            public_note=_text(r["public_note"]), **extra))
    return rows


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    for v in (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if v >= target:
            return float(v)
    return 10000.0


def protocol_map_png(route: LineString | None, stops: Sequence[tuple[str, Point]],
                     findings: Sequence[tuple[str, Point, str]],
                     paths: gpd.GeoDataFrame | None = None, *,
                     number_stops: bool = True,
                     attribution: str | None = "Vägnät © OpenStreetMap-bidragsgivare",
                     dpi: int = 150) -> bytes | None:
    """Draw the walk map offline (no tiles) and return it as PNG bytes.

    Parameters
    ----------
    route : LineString or None
        The route, in the profile's metric CRS (metres).
    stops : sequence of (label, Point)
        Stops in walking order; the label is drawn in the marker when *number_stops*.
    findings : sequence of (label, Point, state_type)
        Numbered findings; ``state_type`` (``open``/``fixed``/``closed``) sets the colour.
    paths : GeoDataFrame, optional
        Paths layer in the same CRS, drawn in light grey as context (clipped to the map).
    number_stops : bool
        Number the stops (the form) or draw them as small dots (the protocol).
    attribution : str or None
        Small text in the lower right corner (data source of the paths).
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    bytes or None
        PNG bytes, or None when there is nothing with a position to draw.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    geoms: list[Any] = [g for _, g in stops] + [g for _, g, _ in findings]
    if route is not None and not route.is_empty:
        geoms.append(route)
    if not geoms:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
    pad = max(0.08 * max(maxx - minx, maxy - miny), 80.0)
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    # Keep the figure's 4:3 aspect ratio without distorting the map.
    w, h = maxx - minx, maxy - miny
    if w / h < 4 / 3:
        grow = (h * 4 / 3 - w) / 2
        minx, maxx = minx - grow, maxx + grow
    else:
        grow = (w * 3 / 4 - h) / 2
        miny, maxy = miny - grow, maxy + grow

    fig = Figure(figsize=(8, 6), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if paths is not None and len(paths):
        ctx = paths.cx[minx:maxx, miny:maxy]
        lines = [shapely.get_coordinates(g) for g in ctx.geometry
                 if g is not None and not g.is_empty and g.geom_type == "LineString"]
        if lines:
            ax.add_collection(LineCollection(lines, colors="#c8c8c8", linewidths=0.8,
                                             zorder=1))
    handles = []
    if route is not None and not route.is_empty:
        xy = shapely.get_coordinates(route)
        ax.plot(xy[:, 0], xy[:, 1], color=_ROUTE_COLOUR, linewidth=3.2, zorder=2,
                solid_capstyle="round", solid_joinstyle="round")
        handles.append(Line2D([], [], color=_ROUTE_COLOUR, linewidth=3.2, label="Rutt"))
    for i, (label, p) in enumerate(stops):
        if number_stops:
            ax.annotate(label, (p.x, p.y), ha="center", va="center", fontsize=7.5,
                        fontweight="bold", color="#111", zorder=4,
                        bbox={"boxstyle": "square,pad=0.25" if i == 0 else "circle,pad=0.25",
                              "fc": "#ffffff", "ec": "#111", "lw": 1.0})
        else:
            ax.plot([p.x], [p.y], marker="o", markersize=4, color="#444", zorder=3)
    if stops:
        handles.append(Line2D([], [], marker="s" if number_stops else "o", linestyle="",
                              markerfacecolor="#fff" if number_stops else "#444",
                              markeredgecolor="#111", label="Stopp"))
    for label, p, state_type in findings:
        colour = _STATE_COLOURS.get(state_type, "#c1121f")
        ax.annotate(label, (p.x, p.y), ha="center", va="center", fontsize=7.5,
                    fontweight="bold", color="#fff", zorder=5,
                    bbox={"boxstyle": "circle,pad=0.3", "fc": colour, "ec": "#fff", "lw": 0.8})
    for state_type, text in (("open", "Fynd, öppet"), ("fixed", "Fynd, åtgärdat"),
                             ("closed", "Fynd, avslutat")):
        if any(s == state_type for _, _, s in findings):
            handles.append(Line2D([], [], marker="o", linestyle="", markersize=9,
                                  markerfacecolor=_STATE_COLOURS[state_type],
                                  markeredgecolor="#fff", label=text))
    if handles:
        ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9)
    # Scale bar and north arrow.
    bar = _nice_length(maxx - minx)
    x0, y0 = minx + 0.04 * (maxx - minx), miny + 0.05 * (maxy - miny)
    ax.plot([x0, x0 + bar], [y0, y0], color="#111", linewidth=3, zorder=6,
            solid_capstyle="butt")
    ax.text(x0 + bar / 2, y0 + 0.015 * (maxy - miny), f"{bar:.0f} m", ha="center",
            va="bottom", fontsize=8, zorder=6)
    ax.annotate("N", xy=(0.96, 0.95), xytext=(0.96, 0.85), xycoords="axes fraction",
                ha="center", va="center", fontsize=10, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "#111"})
    if attribution and paths is not None and len(paths):
        ax.text(0.99, 0.01, attribution, transform=ax.transAxes, ha="right", va="bottom",
                fontsize=6.5, color="#444")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _photos(rows: list[_Row], f: pd.DataFrame, store: FindingStore | None
            ) -> list[dict[str, Any]]:
    if store is None:
        return []
    out = []
    for row, hashes in zip(rows, f["public_photos"], strict=True):
        if not isinstance(hashes, list | tuple | np.ndarray):
            continue
        for h in list(hashes)[:MAX_PHOTOS_PER_FINDING]:
            try:
                data = store.photo_bytes(str(h), public=True)
            except (KeyError, OSError) as exc:
                logger.warning("protocol: public photo %s of finding %d not found (%s)",
                               h, row.no, exc)
                continue
            mime = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
            out.append({"no": row.no, "mime": mime,
                        "data": base64.b64encode(data).decode("ascii")})
    return out


def render_protocol_html(walk: Walk, findings: gpd.GeoDataFrame | None,
                         categories: Sequence[Category] = CATEGORIES, *,
                         paths: gpd.GeoDataFrame | None = None,
                         store: FindingStore | None = None, form: bool | None = None,
                         tz: str = "Europe/Stockholm",
                         generated: datetime | None = None,
                         internal: bool = False) -> str:
    """The protocol (or the empty walk-leader form) as a standalone HTML string.

    Parameters are those of :func:`render_protocol` (without the output path).

    Returns
    -------
    str
        A complete HTML document in Swedish; all values HTML-escaped, images as
        ``data:`` URIs, no external references.
    """
    f = _walk_findings(walk, findings, categories, internal)
    rows = _rows(f, internal)
    if form is None:
        form = not rows and walk.state.is_planned()
    stops = [(str(i), s.point) for i, s in enumerate(walk.stops, start=1)]
    finding_marks = [] if form else [(str(r.no), r.point, r.state_type) for r in rows
                                     if r.point is not None]
    png = protocol_map_png(walk.route, stops, finding_marks, paths, number_stops=form)
    if form:
        caption = "Rutten med numrerade stopp (se tabellen Stopp längs rutten)."
    else:
        caption = ("Rutten och fynden; siffrorna är fyndens nummer i tabellen. "
                   "Röd = öppet, grön = åtgärdat, grå = avslutat utan åtgärd.")
    if form:
        participants = [(g, walk.participants.get(g, "")) for g in PARTICIPANT_GROUPS]
        total: int | str = sum(walk.participants.values()) or ""
    else:
        participants = [(g, n) for g, n in walk.participants.items()]
        total = sum(walk.participants.values())
    questions = checklist([c for c in categories if not c.staff_only])
    length = f"{walk.route.length / 1000:.1f} km".replace(".", ",") \
        if walk.route is not None else ""
    kind = "Underlag för vandringsledare" if form else "Protokoll"
    context = {
        "walk": walk,
        "form": form,
        "internal": internal,
        "internal_label": INTERNAL_LABEL,
        "kind_label": f"Internt {kind.lower()}" if internal else kind,
        "when": _when_sv(walk.start, tz),
        "route_length_m": length,
        "participants": participants,
        "participants_total": total,
        "map_png": base64.b64encode(png).decode("ascii") if png else "",
        "map_caption": caption,
        "stops": [{"no": i, "label": s.label} for i, s in enumerate(walk.stops, start=1)],
        "checklist": list(questions.items()),
        "findings": [] if form else rows,
        "closed": [] if form or not internal else [r for r in rows
                                                   if r.state_type == "closed"],
        "photos": [] if form else _photos(rows, f, store),
        "blank_rows": BLANK_FINDING_ROWS,
        "generated": _when_sv(generated or datetime.now(UTC), tz),
    }
    return _environment().get_template("protocol.html.j2").render(**context)


def _pdf_bytes(html: str) -> bytes:
    return html_to_pdf(html, ProtocolError, "protocol")


def render_protocol(walk: Walk, findings: gpd.GeoDataFrame | None, out_path: str | Path,
                    categories: Sequence[Category] = CATEGORIES, *,
                    paths: gpd.GeoDataFrame | None = None,
                    store: FindingStore | None = None, form: bool | None = None,
                    tz: str = "Europe/Stockholm", generated: datetime | None = None,
                    internal: bool = False) -> Path:
    """Write the printable protocol of a walk (or the empty form) as HTML or PDF.

    Parameters
    ----------
    walk : Walk
        The walk (route and stops in the profile's metric CRS).
    findings : GeoDataFrame or None
        Findings, e.g. :meth:`walks.store.FindingStore.findings` (profile CRS). Rows of
        other walks (``walk_id``) are left out; in the shared protocol also
        ``non_public`` rows and staff-only categories, and only :data:`PROTOCOL_FIELDS`
        are read.
    out_path : path
        ``.html`` (standalone) or ``.pdf`` (WeasyPrint); replaced atomically.
    categories : sequence of Category
        Category table for the checklist (active, not staff-only ones are printed).
    paths : GeoDataFrame, optional
        Paths layer (profile CRS) drawn in grey as map context.
    store : FindingStore, optional
        Store to read the public photo copies from; without it no photos are printed.
    form : bool, optional
        True for the empty walk-leader form, False for the protocol. Default: the form
        when the walk is ``planerad`` and has no (printable) findings.
    tz : str
        Time zone for dates and times (the profile's ``timezone``).
    generated : datetime, optional
        "Created" time printed in the footer (default: now).
    internal : bool
        The internal staff protocol (:data:`INTERNAL_PROTOCOL_FIELDS`, marked
        :data:`INTERNAL_LABEL` on every page) instead of the one shared with participants.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        Unsupported extension.
    ProtocolError
        PDF requested but WeasyPrint cannot run here (the message says how to fix it).

    Examples
    --------
    >>> render_protocol(store.get_walk("demo-2024-1"), store.findings(),
    ...                 "protokoll.html", paths=layers.paths)  # doctest: +SKIP
    """
    out = Path(out_path)
    fmt = PROTOCOL_FORMATS.get(out.suffix.lower())
    if fmt is None:
        what = repr(out.suffix) if out.suffix else "a file without an extension"
        raise ValueError(f"cannot write a protocol as {what}. Fix: use one of "
                         f"{', '.join(PROTOCOL_FORMATS)}")
    html = render_protocol_html(walk, findings, categories, paths=paths, store=store,
                                form=form, tz=tz, generated=generated, internal=internal)
    write_atomic(out, html.encode("utf-8") if fmt == "html" else _pdf_bytes(html))
    logger.info("wrote %s protocol of walk %s to %s", fmt.upper(), walk.id, out)
    return out
