"""Atom feeds (RFC 4287) of the public findings and their status, per area and for the
whole kommun, for the kommun's website and feed readers.

Built **only** from :func:`walks.public.public_view` output (STYLE rule 8): one entry per
public finding, with its category, public description, state and public dates. The entry
``updated`` is the finding's latest public event: the day of its last state change
(``state_date``: the fix date of a fixed finding), else the day it was made (the public view
has dates, not times: they are written as midnight in the profile's time zone). When a finding is fixed its entry gets a new ``updated`` and
title ("Åtgärdad: …"), so feed readers show the change.

The area of a finding is the priority area (:mod:`layers.priority_areas`, by name) its
public position lies in (:func:`finding_areas`). Entry ids are ``urn:uuid:<finding id>``
(the finding ids are UUIDs; other ids are appended to the feed id), feed ids ``urn:trygga:<kommun code>:fynd[:<area>]``. All
texts are plain text (``type="text"``); lxml escapes them for XML.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
from lxml import etree

from layers.io import write_atomic
from walks.public import PUBLIC_COLUMNS

ATOM_NS = "http://www.w3.org/2005/Atom"
#: Title prefix per state type, when the state label is missing.
_STATUS_TITLE = {"open": "nytt fynd", "fixed": "åtgärdad", "closed": "avslutad"}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def slug(name: str) -> str:
    """File-, id- and code-safe form of a name: ``"Strömsdalen"`` → ``"stromsdalen"``,
    ``"vegetation/buskage"`` → ``"vegetation-buskage"`` (``""`` for no letters)."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def area_slug(name: str) -> str:
    """:func:`slug` of an area name (``"omrade"`` when it has no letters)."""
    return slug(name) or "omrade"


def kommun_name(municipality: str) -> str:
    """``"Strömstad"`` → ``"Strömstads kommun"``, ``"Borås"`` → ``"Borås kommun"``."""
    return f"{municipality} kommun" if municipality.endswith("s") \
        else f"{municipality}s kommun"


def plain_text(value: object) -> str:
    """Plain text of a public-view value (its HTML escaping undone; missing -> ``""``)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.unescape(str(value))


def finding_areas(view: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> pd.Series:
    """The area name each public finding lies in (``""`` outside every area).

    Parameters
    ----------
    view : GeoDataFrame
        :func:`walks.public.public_view` output (EPSG:4326 points).
    areas : GeoDataFrame
        Priority areas with ``name`` (any CRS; reprojected to EPSG:4326 here). A point in
        two areas takes the first in *areas* order.

    Returns
    -------
    Series of str
        Aligned to ``view.index``, named ``area``.
    """
    out = pd.Series("", index=view.index, name="area", dtype=object)
    if view.empty or areas is None or areas.empty:
        return out
    polys = areas.to_crs("EPSG:4326").reset_index(drop=True)
    hits = gpd.sjoin(view[["geometry"]], polys[["name", "geometry"]], how="inner",
                     predicate="within")
    hits = hits.assign(order=hits["index_right"]).sort_values("order", kind="stable")
    first = hits[~hits.index.duplicated()]
    out.loc[first.index] = first["name"].astype(str).to_numpy()
    return out


@dataclass(frozen=True)
class FeedInfo:
    """What a feed is about.

    Attributes
    ----------
    title : str
        E.g. ``"Trygghetsfynd i Strömstad"``.
    feed_id : str
        Permanent IRI, e.g. ``"urn:trygga:1486:fynd"``.
    author : str
        The publishing organisation, e.g. ``"Strömstads kommun"``.
    tz : str
        The profile's time zone.
    base_url : str
        Public page of the findings (``alternate`` links; ``?fynd=<id>`` per entry), or
        ``""`` for none.
    self_url : str
        Where the feed itself is published, or ``""``.
    """

    title: str
    feed_id: str
    author: str
    tz: str = "Europe/Stockholm"
    base_url: str = ""
    self_url: str = ""


def _stamp(day: str, tz: str) -> str:
    """RFC 3339 timestamp of local midnight of an ISO date."""
    d = dt.date.fromisoformat(day)
    return dt.datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz)).isoformat()


def atom_feed(view: gpd.GeoDataFrame, info: FeedInfo, *,
              area_of: pd.Series | None = None, generated: dt.datetime | None = None) -> bytes:
    """An Atom 1.0 feed (UTF-8 XML bytes) of a public view.

    Parameters
    ----------
    view : GeoDataFrame
        :func:`walks.public.public_view` output, and only that.
    info : FeedInfo
    area_of : Series, optional
        Area per finding (:func:`finding_areas`), shown in the entry and as a category.
    generated : datetime, optional
        Feed ``updated`` when there are no entries (default: now).

    Raises
    ------
    ValueError
        *view* is not a public view.
    """
    if list(view.columns) != list(PUBLIC_COLUMNS):
        raise ValueError("atom_feed takes only the result of public_view(). Fix: pass "
                         "walks.public.public_view(store.findings(), ...)")
    a = f"{{{ATOM_NS}}}"
    feed = etree.Element(f"{a}feed", nsmap={None: ATOM_NS})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "sv")
    rows = []
    for i, rec in zip(view.index, view.to_dict("records"), strict=True):
        state_type = plain_text(rec["state_type"]) or "open"
        # The latest public event: the day of the last state change (the fix date of a
        # fixed finding), never before the day it was made.
        last = max(plain_text(rec.get("state_date")) or "", plain_text(rec["date"]))
        rows.append((last, i, rec, state_type))
    rows.sort(key=lambda r: (r[0], plain_text(r[2]["id"])), reverse=True)
    newest = rows[0][0] if rows else None
    etree.SubElement(feed, f"{a}id").text = info.feed_id
    etree.SubElement(feed, f"{a}title", type="text").text = info.title
    etree.SubElement(feed, f"{a}updated").text = (
        _stamp(newest, info.tz) if newest else
        (generated or dt.datetime.now(ZoneInfo(info.tz))).replace(microsecond=0).isoformat())
    author = etree.SubElement(feed, f"{a}author")
    etree.SubElement(author, f"{a}name").text = info.author
    etree.SubElement(feed, f"{a}generator").text = "Trygga stråk"
    if info.self_url:
        etree.SubElement(feed, f"{a}link", rel="self", href=info.self_url,
                         type="application/atom+xml")
    if info.base_url:
        etree.SubElement(feed, f"{a}link", rel="alternate", href=info.base_url,
                         type="text/html")
    for last, i, rec, state_type in rows:
        fid = plain_text(rec["id"])
        category = plain_text(rec["category"])
        state = plain_text(rec["state_label"])
        text = plain_text(rec["description"])
        area = plain_text(area_of.get(i, "")) if area_of is not None else ""
        entry = etree.SubElement(feed, f"{a}entry")
        etree.SubElement(entry, f"{a}id").text = (
            f"urn:uuid:{fid.lower()}" if _UUID.match(fid) else f"{info.feed_id}:{fid}")
        short = text if len(text) <= 60 else text[:59].rstrip() + "…"
        title = f"{(state or _STATUS_TITLE.get(state_type, 'fynd')).capitalize()}: {category}"
        etree.SubElement(entry, f"{a}title", type="text").text = (
            f"{title} – {short}" if short else title)
        etree.SubElement(entry, f"{a}updated").text = _stamp(last, info.tz)
        etree.SubElement(entry, f"{a}published").text = _stamp(plain_text(rec["date"]), info.tz)
        etree.SubElement(entry, f"{a}category", term=category, label=category)
        if area:
            etree.SubElement(entry, f"{a}category", term=area_slug(area), label=area,
                             scheme="urn:trygga:omrade")
        lines = [f"Läge: {state}.", f"Kategori: {category}.",
                 f"Registrerat {plain_text(rec['date'])}."]
        if state_type == "fixed" and plain_text(rec["fixed_date"]):
            lines.append(f"Åtgärdat {plain_text(rec['fixed_date'])}.")
        if area:
            lines.append(f"Område: {area}.")
        g = view.geometry.loc[i]
        if g is not None and not g.is_empty:
            lines.append(f"Plats: {g.y:.5f} N, {g.x:.5f} E (WGS 84).")
        if text:
            lines.append(text)
        etree.SubElement(entry, f"{a}content", type="text").text = "\n".join(lines)
        if info.base_url:
            sep = "&" if "?" in info.base_url else "?"
            etree.SubElement(entry, f"{a}link", rel="alternate", type="text/html",
                             href=f"{info.base_url}{sep}fynd={fid}")
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_feeds(view: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None, folder: str | Path,
                *, municipality: str, kommun_code: str, tz: str, base_url: str = "",
                feed_url: str = "", only_areas: Sequence[str] | None = None) -> list[Path]:
    """Write ``fynd.atom`` (the whole kommun) and ``fynd-<area>.atom`` per area.

    Parameters
    ----------
    view : GeoDataFrame
        :func:`walks.public.public_view` output.
    areas : GeoDataFrame or None
        Priority areas (``name``); None or empty: only the kommun feed.
    folder : path
        Output folder.
    municipality, kommun_code, tz : str
        From the profile (author ``"<name> kommun"``, feed ids, time zone).
    base_url : str
        Public findings page for the links, or ``""``.
    feed_url : str
        Where the feeds are published (folder URL; ``rel="self"`` links), or ``""``.
    only_areas : sequence of str, optional
        Area names to write (default: every area). Unknown names raise ValueError.

    Returns
    -------
    list of Path
        The written feeds, the kommun's first.
    """
    folder = Path(folder)
    author = kommun_name(municipality)
    area_of = finding_areas(view, areas) if areas is not None else None
    names = [] if areas is None or areas.empty else list(dict.fromkeys(
        areas["name"].astype(str)))
    if only_areas:
        unknown = [a for a in only_areas if a not in names]
        if unknown:
            raise ValueError(f"unknown area(s) {', '.join(unknown)}. Fix: use one of: "
                             f"{', '.join(names) or '(the profile has no areas)'}")
        names = list(only_areas)

    def url(name: str) -> str:
        return f"{feed_url.rstrip('/')}/{name}" if feed_url else ""

    out = []
    info = FeedInfo(f"Trygghetsfynd i {municipality}", f"urn:trygga:{kommun_code}:fynd",
                    author, tz, base_url, url("fynd.atom"))
    out.append(write_atomic(folder / "fynd.atom", atom_feed(view, info, area_of=area_of),
                            mode=0o644))
    for name in names:
        assert area_of is not None
        sel = area_of.eq(name).to_numpy()
        slug = area_slug(name)
        info = FeedInfo(f"Trygghetsfynd i {name}, {municipality}",
                        f"urn:trygga:{kommun_code}:fynd:{slug}", author, tz, base_url,
                        url(f"fynd-{slug}.atom"))
        out.append(write_atomic(folder / f"fynd-{slug}.atom",
                                atom_feed(view.loc[sel], info, area_of=area_of), mode=0o644))
    return out


__all__ = ["ATOM_NS", "FeedInfo", "area_slug", "atom_feed", "finding_areas", "kommun_name",
           "plain_text", "slug", "write_feeds"]
