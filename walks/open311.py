"""Open311 GeoReport v2: public findings out as ``services.json`` / ``requests.json``, and
``requests.json`` of an Open311 server in as findings.

Export
------
:func:`georeport_services` lists the public finding categories as GeoReport v2 services
(``service_code``, ``service_name``, ``description``, ``metadata``, ``type``,
``keywords``, ``group``); :func:`georeport_requests` turns a :func:`walks.public.public_view`
result, and **only** that (STYLE rule 8), into service requests: ``service_request_id``
(the finding's public id), ``status`` (``open``, or ``closed`` for fixed and closed
findings; the Swedish state in ``status_notes``), ``service_code``/``service_name`` (the
category), ``description`` (the public text), ``requested_datetime`` (the public local
date, W3C complete date ``YYYY-MM-DD``: the public view has no time of day),
``updated_datetime`` (the fix date of fixed findings), ``lat``/``long`` (WGS 84, 5
decimals). Responsible party, notes, photos and everything else internal are not in the
public view and so not in the export. Texts are plain text (the public view's HTML
escaping is undone: JSON is not HTML; consumers escape where they render).

The service code of a category is the first code the profile's ``open311_services`` maps
to it, else a slug of the label (``"vegetation/buskage"`` → ``"vegetation-buskage"``).

Import
------
:func:`fetch_requests` GETs ``<endpoint>/requests.json`` (with the optional GeoReport
filters) and :func:`import_requests` imports such a file through the findings import
funnel (:mod:`walks.importers.open311`), all or nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd

from layers._common import Problem, ValidationError
from layers.io import write_atomic
from walks.categories import Category
from walks.feed import plain_text, slug
from walks.public import PUBLIC_COLUMNS, PUBLIC_DECIMALS

if TYPE_CHECKING:
    from layers.profile import Profile
    from walks.service import ImportOutcome
    from walks.store import FindingStore

logger = logging.getLogger(__name__)

#: Group of every exported service.
SERVICE_GROUP = "Trygghet i den fysiska miljön"
#: GeoReport v2 status of our state types.
STATUS_OF_TYPE: dict[str, str] = {"open": "open", "fixed": "closed", "closed": "closed"}


def service_code(label: str, service_codes: Mapping[str, str] | None = None) -> str:
    """The service code of a category (see the module docstring).

    >>> service_code("vegetation/buskage")
    'vegetation-buskage'
    >>> service_code("belysning", {"gatubelysning": "belysning", "streetlight": "belysning"})
    'gatubelysning'
    """
    for code, category in (service_codes or {}).items():
        if category == label:
            return code
    return slug(label)


def georeport_services(categories: Sequence[Category],
                       service_codes: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """GeoReport v2 ``services.json`` of the public, active categories (checklist order)."""
    out = []
    for c in categories:
        if c.staff_only or not c.active:
            continue
        out.append({
            "service_code": service_code(c.label, service_codes),
            "service_name": c.label,
            "description": f"Trygghetsfynd i kategorin {c.label} (trygghetsvandringar och "
                           "synpunkter)",
            "metadata": False, "type": "realtime",
            "keywords": ", ".join(s for s in c.synonyms[:8] if "*" not in s),
            "group": SERVICE_GROUP})
    return out


def _plain(value: Any) -> str | None:
    """:func:`walks.feed.plain_text`, with None for a missing value (JSON null)."""
    return plain_text(value) or None


def georeport_requests(view: gpd.GeoDataFrame,
                       service_codes: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """GeoReport v2 ``requests.json`` of a :func:`walks.public.public_view` result.

    Raises
    ------
    ValueError
        *view* is not a public view (its columns are not exactly ``PUBLIC_COLUMNS``).
    """
    if list(view.columns) != list(PUBLIC_COLUMNS):
        raise ValueError("georeport_requests takes only the result of public_view(). Fix: "
                         "pass walks.public.public_view(store.findings(), ...)")
    out = []
    for rec, g in zip(view[[c for c in PUBLIC_COLUMNS if c != "geometry"]].to_dict("records"),
                      view.geometry, strict=True):
        label = _plain(rec["category"]) or ""
        state_type = _plain(rec["state_type"]) or "open"
        fixed = _plain(rec["fixed_date"])
        out.append({
            "service_request_id": _plain(rec["id"]),
            "status": STATUS_OF_TYPE.get(state_type, "open"),
            "status_notes": _plain(rec["state_label"]),
            "service_name": label,
            "service_code": service_code(label, service_codes),
            "description": _plain(rec["description"]) or "",
            "agency_responsible": None,
            "service_notice": None,
            "requested_datetime": _plain(rec["date"]),
            "updated_datetime": fixed if state_type == "fixed" else None,
            "expected_datetime": None,
            "address": None,
            "address_id": None,
            "zipcode": None,
            "lat": None if g is None else round(float(g.y), PUBLIC_DECIMALS),
            "long": None if g is None else round(float(g.x), PUBLIC_DECIMALS),
            "media_url": None,
        })
    return out


def export_georeport(view: gpd.GeoDataFrame, categories: Sequence[Category], folder: str | Path,
                     service_codes: Mapping[str, str] | None = None) -> tuple[Path, Path]:
    """Write ``services.json`` and ``requests.json`` (UTF-8) into *folder*.

    *view* must be :func:`walks.public.public_view` output.

    Returns
    -------
    (Path, Path)
        The two files.
    """
    folder = Path(folder)
    requests = georeport_requests(view, service_codes)
    services = georeport_services(categories, service_codes)
    s_path = write_atomic(folder / "services.json", json.dumps(
        services, ensure_ascii=False, indent=1).encode("utf-8"), mode=0o644)
    r_path = write_atomic(folder / "requests.json", json.dumps(
        requests, ensure_ascii=False, indent=1).encode("utf-8"), mode=0o644)
    logger.info("wrote %d services and %d requests to %s", len(services), len(requests),
                folder)
    return s_path, r_path


def requests_url(endpoint: str, *, service_code: str | None = None,
                 start_date: dt.date | None = None, end_date: dt.date | None = None,
                 status: str | None = None) -> str:
    """``<endpoint>/requests.json`` with the GeoReport v2 query parameters.

    >>> requests_url("https://open311.example.se/v2/", status="open")
    'https://open311.example.se/v2/requests.json?status=open'
    """
    query: dict[str, str] = {}
    if service_code:
        query["service_code"] = service_code
    if start_date:
        query["start_date"] = f"{start_date.isoformat()}T00:00:00Z"
    if end_date:
        query["end_date"] = f"{end_date.isoformat()}T23:59:59Z"
    if status:
        query["status"] = status
    url = endpoint.rstrip("/") + "/requests.json"
    return url + ("?" + urllib.parse.urlencode(query) if query else "")


def fetch_requests(url: str, out: str | Path, *, timeout_s: float = 30.0) -> Path:
    """GET a GeoReport v2 ``requests.json`` and save it to *out*.

    Raises
    ------
    ValidationError
        The server cannot be reached, answers with an HTTP error (the GeoReport error
        description is quoted) or with something that is not JSON.
    """
    req = urllib.request.Request(url, headers={"Accept": "application/json",
                                               "User-Agent": "trygga-strak"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            data = resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", errors="replace")
        detail = body[:200]
        try:
            errors = json.loads(body)
            detail = "; ".join(str(e.get("description", e)) for e in errors)
        except (json.JSONDecodeError, AttributeError, TypeError):
            pass
        raise ValidationError([Problem(url, "", "", f"the Open311 server answered HTTP "
                                       f"{exc.code}: {detail}",
                                       "check the endpoint URL and the filters")]) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ValidationError([Problem(url, "", "", f"cannot reach the Open311 server "
                                       f"({exc})", "check the URL and the network")]) from None
    try:
        json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationError([Problem(url, "", "", "the server did not answer with JSON",
                                       "use the endpoint's requests.json URL")]) from None
    path = write_atomic(out, data, mode=0o600)
    logger.info("fetched %s (%d bytes)", url, len(data))
    return path


def import_requests(store: FindingStore, profile: Profile, path: str | Path, *,
                    dry_run: bool = False) -> ImportOutcome:
    """Import a GeoReport v2 ``requests.json`` into *store*, all or nothing, with the
    profile's ``open311_services`` mapping (as :func:`walks.service.import_file` does for
    other files)."""
    from layers.boundary import load_boundary
    from walks.importers import dry_run_report, read_findings_file
    from walks.service import ImportOutcome

    result = read_findings_file(path, profile.crs, boundary=load_boundary(profile),
                                service_codes=profile.open311_services)
    text = dry_run_report(result)
    if result.problems:
        return ImportOutcome(text, None, False)
    if result.format != "open311":
        return ImportOutcome(text + f"\n\n{Path(path).name} is {result.format}, not an "
                             "Open311 requests.json", None, False)
    report = store.import_findings(result.findings, Path(path).name, dry_run=dry_run)
    return ImportOutcome(text + "\n\n" + report.summary(), report, report.ok)


__all__ = ["SERVICE_GROUP", "STATUS_OF_TYPE", "export_georeport", "fetch_requests",
           "georeport_requests", "georeport_services", "import_requests", "requests_url",
           "service_code"]
