"""Findings from GPX waypoints (GPS units, OsmAnd, other phone apps), read with gpxpy.

Each ``<wpt>`` is a finding: ``<type>`` is the category (when empty, a recognised waypoint
name such as "Belysning" is used), ``<name>`` and ``<desc>``/``<cmt>`` make the
description, ``<time>`` the created time (UTC, as GPX prescribes), and ``<link href>`` a
photo: a relative path next to the file, or a web link that is noted but not downloaded
(gpxpy keeps the first link of a waypoint). Tracks and routes are ignored. The source id is
the waypoint name plus its position (6 decimals), so the same waypoint exported with and
without its time is one finding.

Row labels are waypoint numbers (from 1).
"""

from __future__ import annotations

import logging
from pathlib import Path

import gpxpy
import gpxpy.gpx
from pyproj import CRS

from layers._common import Problem, ValidationError, source_label
from layers.lighting import _WGS84
from layers.profile import Limits
from walks.importers._funnel import RawFinding, RawTable, clean_text
from walks.importers.limits import DEFAULT_LIMITS, check_xml_elements

logger = logging.getLogger(__name__)


def title_and_text(title: str, text: str) -> str:
    """``"title: text"``, or whichever of the two is given (no repetition)."""
    title, text = title.strip(), text.strip()
    if not title or title in text:
        return text
    if not text:
        return title
    return f"{title}: {text}"


def read_gpx_findings(path: Path, target: CRS, limits: Limits = DEFAULT_LIMITS) -> RawTable:
    """Waypoints of a GPX 1.0/1.1 file (more than ``limits.rows_per_import`` are refused
    while streaming, before gpxpy parses the file)."""
    src = source_label(path)
    data = path.read_bytes()
    if not data.strip():
        raise ValidationError([Problem(src, "", "", "the file is empty",
                                       "export the waypoints again from the GPS or app")])
    check_xml_elements(data, "wpt", src, limits, "waypoints")
    try:
        gpx = gpxpy.parse(data.decode("utf-8-sig", errors="replace"))
    except (gpxpy.gpx.GPXException, ValueError) as exc:
        raise ValidationError([Problem(
            src, "", "", f"cannot be read as GPX ({str(exc).splitlines()[0][:200]})",
            "export the waypoints again as GPX; the file may be cut off or of another "
            "type")]) from exc
    if not gpx.waypoints:
        extra = " (it has only tracks or routes)" if gpx.tracks or gpx.routes else ""
        raise ValidationError([Problem(src, "", "", f"the GPX file has no waypoints{extra}",
                                       "mark each finding as a waypoint (favourite) and "
                                       "export again")])
    rows = []
    for i, wpt in enumerate(gpx.waypoints):
        name = clean_text(wpt.name)[0]
        text = "\n".join(dict.fromkeys(t for t in (clean_text(wpt.description)[0],
                                                     clean_text(wpt.comment)[0]) if t))
        when = wpt.time
        where = f"{wpt.latitude:.6f},{wpt.longitude:.6f}"
        # Name and position identify a waypoint: the same waypoint exported with and
        # without its time must not be imported twice.
        sid = f"{name}|{where}"
        rows.append(RawFinding(
            row=str(i + 1), source_id=sid, id_field="name+position",
            category=wpt.type or "", category_fallback=name,
            description=title_and_text(name, text), created=when,
            photos=[wpt.link.strip()] if wpt.link and wpt.link.strip() else [],
            photo_field="link", x=float(wpt.longitude), y=float(wpt.latitude)))
    return RawTable(path=path, format="gpx", rows=rows, crs_candidates=[_WGS84],
                    coord_field="lat/lon", coord_names=("lon", "lat"), naive_tz="UTC")
