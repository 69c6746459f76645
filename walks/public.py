"""The public view of findings: an allow-list (STYLE rule 8).

Every public export and page receives only the result of :func:`public_view`, which
selects :data:`PUBLIC_COLUMNS` and nothing else (FixMyStreet ``Problem.as_hashref``).

What is public
--------------
``id``, ``category``, ``description`` (the public, possibly moderated text),
``state_label``, ``state_type``, ``date`` (created, local date), ``fixed_date`` (local
date, only for fixed findings), ``public_photo`` (content hash of the first public
photo copy, which has no EXIF and is downscaled) and the position in EPSG:4326 rounded
to 5 decimals (about 1 m).

What is internal (never public)
-------------------------------
:data:`INTERNAL_COLUMNS`: the internal note, the original text before moderation, the
responsible party, measure, deadline, severity, the reason for closing, walk id, channel,
import keys (source id, content hash, raw category), versions and edit times, the
original photos (their EXIF can hold GPS positions and owner names), the
``non_public`` flag itself, and everything in the history (author roles, notes). Walk
participants and organisers are never part of a findings output. No names are stored at
all (:mod:`walks.model`).

Findings marked ``non_public`` and findings in staff-only categories are never included,
and categories unknown to the category table are left out too (allow-list). All text is
HTML-escaped with :func:`html.escape` (quotes included), and control characters other
than newline and tab are removed, so a public page can insert the values as they are.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers._common import Problem, ValidationError
from walks.categories import CATEGORIES, Category
from walks.model import APPROVED

logger = logging.getLogger(__name__)

#: The only columns a public output may contain (``geometry``: EPSG:4326 points, 5 decimals).
PUBLIC_COLUMNS: tuple[str, ...] = (
    "id", "category", "description", "state_label", "state_type", "date", "fixed_date",
    "state_date", "public_note", "public_photo", "geometry",
)

#: Fields of the staff frame that are internal and never public (documentation and tests;
#: the public view is an allow-list, so anything else not in PUBLIC_COLUMNS is left out too).
INTERNAL_COLUMNS: tuple[str, ...] = (
    "internal_note", "description_original", "responsible", "measure", "deadline",
    "severity", "closed_reason", "walk_id", "channel", "source_id", "content_hash",
    "raw_category", "version", "updated", "photos", "non_public", "author_role", "note",
    "participants", "organiser", "moderation", "created_by", "author_id",
)

#: Decimals of the public coordinates (5 decimals ≈ 1 m).
PUBLIC_DECIMALS = 5

_REQUIRED = ("category", "description", "state_label", "state_type", "created", "non_public",
             "moderation")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _clean(value: Any) -> str:
    """Public text: control characters removed, HTML-escaped (quotes too)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    text = _CONTROL.sub("", str(value))
    # Lone surrogates cannot be encoded; replace them rather than fail the export.
    text = text.encode("utf-8", "replace").decode("utf-8")
    return html.escape(text, quote=True)


def _local_date(values: pd.Series, tz: str) -> list[str | None]:
    """ISO local dates (the profile's time zone) of UTC times; None for missing."""
    if not len(values):
        return []
    ts = pd.to_datetime(pd.Series(values, copy=False), utc=True, format="ISO8601")
    local = ts.dt.tz_convert(tz).dt.strftime("%Y-%m-%d")
    return [None if pd.isna(v) else str(v) for v in local]


def _clean_all(values: Any) -> list[str]:
    """:func:`_clean` of every value, computed once per distinct value."""
    vals = list(values)
    cache: dict[Any, str] = {}
    out = []
    for v in vals:
        try:
            out.append(cache[v])
        except KeyError:
            out.append(cache.setdefault(v, _clean(v)))
        except TypeError:  # unhashable
            out.append(_clean(v))
    return out


def public_view(findings: gpd.GeoDataFrame, *, categories: Sequence[Category] = CATEGORIES,
                tz: str = "Europe/Stockholm") -> gpd.GeoDataFrame:
    """The allow-listed public view of a staff findings frame.

    Parameters
    ----------
    findings : GeoDataFrame
        As returned by :meth:`walks.store.FindingStore.findings` (any projected or
        geographic CRS; the UUID in the index or an ``id`` column).
    categories : sequence of Category
        The category table; staff-only and unknown categories are left out.
    tz : str
        Time zone for the public dates (the profile's ``timezone``).

    Returns
    -------
    GeoDataFrame
        Exactly :data:`PUBLIC_COLUMNS`, a fresh RangeIndex, EPSG:4326 points rounded to
        5 decimals, all text HTML-escaped. Never mutates *findings*.

    Raises
    ------
    ValidationError
        Required columns are missing or the frame has no CRS.
    """
    missing = [c for c in _REQUIRED if c not in findings.columns]
    problems = [Problem("findings", "", c, "required column is missing",
                        "pass the frame from store.findings()") for c in missing]
    if findings.crs is None:
        problems.append(Problem("findings", "", "geometry", "the frame has no CRS",
                                "pass the frame from store.findings()"))
    if problems:
        raise ValidationError(problems)
    ids = findings["id"] if "id" in findings.columns else pd.Series(
        findings.index, index=findings.index)
    public_labels = {c.label for c in categories if not c.staff_only}
    # Only findings a moderator approved (residents' reports wait), not hidden, in a
    # public category.
    keep = (~findings["non_public"].fillna(True).astype(bool)) \
        & findings["moderation"].astype(object).eq(APPROVED) \
        & findings["category"].isin(public_labels)
    unknown = ~findings["category"].isin({c.label for c in categories})
    if unknown.any():
        logger.warning("public view: left out %d finding(s) with unknown categories",
                       int(unknown.sum()))
    sel = findings.loc[keep]
    geom = sel.geometry.to_crs("EPSG:4326") if len(sel) else sel.geometry.set_crs(
        "EPSG:4326", allow_override=True)
    rounded = shapely.transform(np.asarray(geom.values, dtype=object),
                                lambda xy: np.round(xy, PUBLIC_DECIMALS))
    geom = gpd.GeoSeries(rounded, index=sel.index, crs="EPSG:4326")
    state_type = sel["state_type"].astype(str)
    fixed = (_local_date(sel["fixed_at"], tz) if "fixed_at" in sel.columns
             else [None] * len(sel))
    fixed = [d if t == "fixed" else None for d, t in zip(fixed, state_type, strict=True)]
    # The day of the last public state change: the fix date of a fixed finding (recorded
    # fixes keep their real date), else the last state change, else the day it was made.
    changed = (_local_date(sel["state_changed"], tz) if "state_changed" in sel.columns
               else [None] * len(sel))
    made = _local_date(sel["created"], tz)
    state_date = [f or c or d for f, c, d in zip(fixed, changed, made, strict=True)]
    if "public_photos" in sel.columns:
        photos = [_clean(p[0]) if isinstance(p, (list, tuple, np.ndarray)) and len(p) else None
                  for p in sel["public_photos"]]
    else:
        photos = [None] * len(sel)
    out = pd.DataFrame({
        "id": _clean_all(ids.loc[sel.index]),
        "category": _clean_all(sel["category"]),
        "description": _clean_all(sel["description"]),
        "state_label": _clean_all(sel["state_label"]),
        "state_type": _clean_all(state_type),
        "date": _local_date(sel["created"], tz),
        "fixed_date": fixed,
        "state_date": state_date,
        "public_note": (_clean_all(sel["public_note"]) if "public_note" in sel.columns
                        else [""] * len(sel)),
        "public_photo": photos,
    })
    result = gpd.GeoDataFrame(out, geometry=geom.reset_index(drop=True), crs="EPSG:4326")
    return result[list(PUBLIC_COLUMNS)]


def public_geojson(view: gpd.GeoDataFrame) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (dict) of a :func:`public_view` result."""
    if list(view.columns) != list(PUBLIC_COLUMNS):
        raise ValueError("public_geojson takes only the result of public_view()")
    features = []
    props = [c for c in PUBLIC_COLUMNS if c != "geometry"]
    for rec, g in zip(view[props].to_dict("records"), view.geometry, strict=True):
        features.append({
            "type": "Feature",
            "properties": {k: (None if v is None or (isinstance(v, float) and np.isnan(v))
                               else v) for k, v in rec.items()},
            "geometry": None if g is None else {
                "type": "Point",
                "coordinates": [round(g.x, PUBLIC_DECIMALS), round(g.y, PUBLIC_DECIMALS)]},
        })
    return {"type": "FeatureCollection", "features": features}
