"""Findings from an Open311 GeoReport v2 ``requests.json`` (e.g. street-light reports).

GeoReport v2 (http://wiki.open311.org/GeoReport_v2) lists service requests as a JSON
array of objects with ``service_request_id``, ``status`` (``open``/``closed``),
``service_code``, ``service_name``, ``description``, ``requested_datetime`` (W3C
date-time), ``lat``, ``long``, ``address`` and ``media_url``. Some servers wrap the array
(``{"service_requests": [...]}``, ``{"requests": [...]}``, or FixMyStreet's
``{"service_requests": [{"request": [...]}]}``); all are read.

Each open request becomes a finding: the source id is ``service_request_id``, the category
is the profile's ``open311_services`` mapping of the ``service_code`` (else the
``service_name`` through the usual category synonyms; unknown ones become ``övrigt`` with
a warning), the description is the request's description (with the address when given),
the created time is ``requested_datetime``, the point is ``long``/``lat`` (WGS 84), and
``media_url`` is a web photo link that is noted, not downloaded. Closed requests are left
out with a warning unless ``include_closed``. Everything then goes through
:func:`walks.importers._funnel.normalize_findings` like every other format.

Row labels are request numbers (from 1).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyproj import CRS

from layers._common import Problem, ValidationError, source_label
from layers.lighting import _WGS84
from walks.importers._funnel import RawFinding, RawTable, clean_text

logger = logging.getLogger(__name__)

#: Keys that mark an object as a GeoReport v2 service request.
REQUEST_KEYS = frozenset({"service_request_id", "service_code", "requested_datetime"})


def georeport_requests(obj: Any) -> list[dict[str, Any]] | None:
    """The request objects of a parsed ``requests.json``, or None when it is not one."""
    items: Any = obj
    if isinstance(obj, dict):
        items = obj.get("service_requests", obj.get("requests"))
        if isinstance(items, list) and len(items) == 1 and isinstance(items[0], dict) \
                and isinstance(items[0].get("request"), list):
            items = items[0]["request"]
    if not isinstance(items, list):
        return None
    if not items:
        return [] if isinstance(obj, dict) else None
    if all(isinstance(x, dict) for x in items) and any(
            REQUEST_KEYS & set(x) for x in items):
        return items
    return None


def _float(value: Any) -> float:
    try:
        return float(str(value).replace(",", "."))
    except (TypeError, ValueError):
        return float("nan")


def read_open311_requests(path: Path, target: CRS,
                          service_codes: Mapping[str, str] | None = None, *,
                          include_closed: bool = False) -> RawTable:
    """Service requests of a GeoReport v2 ``requests.json`` as raw findings.

    Parameters
    ----------
    path : Path
        The ``requests.json`` file (UTF-8).
    target : CRS
        The profile CRS (the funnel reprojects from WGS 84).
    service_codes : mapping, optional
        Service code -> finding category (the profile's ``open311_services``).
    include_closed : bool
        Also import requests with ``status`` ``closed``.

    Raises
    ------
    ValidationError
        Empty file, not JSON, or JSON that is not a list of service requests.
    """
    src = source_label(path)
    data = path.read_bytes()
    if not data.strip():
        raise ValidationError([Problem(src, "", "", "the file is empty",
                                       "fetch requests.json from the Open311 server again")])
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError([Problem(src, "", "", f"not valid JSON ({exc})",
                                       "fetch requests.json (format json) again")]) from exc
    requests = georeport_requests(obj)
    if requests is None:
        raise ValidationError([Problem(
            src, "", "", "not a GeoReport v2 requests list (a JSON array of objects with "
            "service_request_id, service_code and requested_datetime)",
            "fetch <endpoint>/requests.json from the Open311 server")])
    codes = {str(k).casefold(): v for k, v in (service_codes or {}).items()}
    rows: list[RawFinding] = []
    warnings: list[str] = []
    skipped: list[str] = []
    unmapped: set[str] = set()
    for i, req in enumerate(requests):
        status = str(req.get("status") or "").strip().casefold()
        rid = clean_text(req.get("service_request_id"))[0]
        if status == "closed" and not include_closed:
            skipped.append(rid or str(i + 1))
            continue
        code = clean_text(req.get("service_code"))[0]
        name = clean_text(req.get("service_name"))[0]
        mapped = codes.get(code.casefold()) if code else None
        if code and mapped is None:
            unmapped.add(code)
        description = clean_text(req.get("description"))[0]
        address = clean_text(req.get("address"))[0]
        if address and address not in description:
            description = f"{description} ({address})" if description else address
        media = clean_text(req.get("media_url"))[0]
        rows.append(RawFinding(
            row=str(i + 1), source_id=rid, id_field="service_request_id",
            category=mapped or name or code, description=description,
            created=req.get("requested_datetime"), photos=[media] if media else [],
            photo_field="media_url", x=_float(req.get("long")), y=_float(req.get("lat"))))
    if skipped:
        warnings.append(f"{len(skipped)} closed request(s) left out (import them with "
                        f"include_closed): {', '.join(skipped[:10])}")
    if unmapped:
        warnings.append("service codes without a category in the profile's "
                        f"open311_services (mapped by service_name): {', '.join(sorted(unmapped))}")
    logger.info("open311: %d requests read from %s (%d closed left out)", len(rows), src,
                len(skipped))
    return RawTable(path=path, format="open311", rows=rows, crs_candidates=[_WGS84],
                    coord_field="lat/long", coord_names=("long", "lat"), naive_tz="UTC",
                    field_names={"source_id": "service_request_id",
                                 "category": "service_code", "created": "requested_datetime",
                                 "description": "description"},
                    warnings=warnings)


__all__ = ["REQUEST_KEYS", "georeport_requests", "read_open311_requests"]
