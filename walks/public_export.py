"""The public GeoJSON export with the findings' text as written (not HTML-escaped).

:func:`walks.public.public_view` HTML-escapes every text so pages can insert it as it is.
A data file is not a page: a GeoJSON read by QGIS, a map portal or a script must carry the
raw text (``<script>`` stays ``<script>``, ``&`` stays ``&``), and whatever renders it as
HTML escapes it there. This module turns the escaped public view back into the raw text
with :func:`html.unescape` (exact: ``html.escape`` is reversed character for character) and
writes it. The allow-list is the same: only :data:`walks.public.PUBLIC_COLUMNS`.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import Any

from layers.io import write_atomic
from walks.public import PUBLIC_COLUMNS, public_geojson, public_view
from walks.store import FindingStore

logger = logging.getLogger(__name__)

#: Text properties of the public view (unescaped in the data file).
TEXT_PROPERTIES: tuple[str, ...] = ("id", "category", "description", "state_label",
                                    "state_type", "public_photo")


def raw_public_geojson(view: Any) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (dict) of a :func:`walks.public.public_view` result,
    with the text properties as written (HTML escaping undone)."""
    collection = public_geojson(view)
    for feature in collection["features"]:
        props = feature["properties"]
        for key in TEXT_PROPERTIES:
            if isinstance(props.get(key), str):
                props[key] = html.unescape(props[key])
    return collection


def export_public_geojson(store: FindingStore, path: str | Path, *,
                          tz: str = "Europe/Stockholm") -> Path:
    """Write the public view of *store* as GeoJSON (EPSG:4326, RFC 7946), raw text.

    Parameters
    ----------
    store : FindingStore
        The findings store.
    path : path
        Output ``.geojson`` file; written atomically (mode 0600).
    tz : str
        Time zone for the public dates.

    Returns
    -------
    Path
        The written file.
    """
    view = public_view(store.findings(include_hidden=False), categories=store.categories,
                       tz=tz)
    assert list(view.columns) == list(PUBLIC_COLUMNS)
    text = json.dumps(raw_public_geojson(view), ensure_ascii=False, indent=1)
    out = write_atomic(path, text.encode("utf-8"), mode=0o600)
    logger.info("wrote %d public finding(s) to %s", len(view), out)
    return out
