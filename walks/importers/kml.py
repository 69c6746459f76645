"""Findings from KML/KMZ, as exported by Google My Maps, read with fastkml.

My Maps exports a ``Document`` with one ``Folder`` per map layer. Each point
``Placemark`` is a finding: the folder (layer) name is the category unless the placemark's
``ExtendedData`` has a category field; ``name`` and ``description`` make the description
(My Maps prefixes the description with ``<img src=…>`` tags for its photos: those are
removed and ``<br>`` becomes a line break; other markup is kept as text); ExtendedData fields
named like our columns (``allvarlighet``, ``intern_anteckning``, ``datum`` ...) fill the
other fields. ``gx_media_links`` holds the photo URLs (space separated): they are not
downloaded but noted in the internal note, with a warning. The source id is the placemark's
``id`` attribute, else its name plus position.

The XML is parsed by lxml without entity expansion, network access or huge-tree mode
(fastkml's own ``KML.parse`` turns ``huge_tree`` on), then handed to fastkml's object model.

Row labels are placemark numbers (from 1) in document order.
"""

from __future__ import annotations

import logging
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import fastkml
import fastkml.config
from fastkml import KML
from lxml import etree
from pyproj import CRS

from layers._common import Problem, ValidationError, source_label
from layers.lighting import _WGS84
from layers.profile import Limits
from walks.importers._funnel import RawFinding, RawTable, clean_text, match_fields
from walks.importers.gpx import title_and_text
from walks.importers.limits import DEFAULT_LIMITS, check_xml_elements, read_zip_member

logger = logging.getLogger(__name__)

_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def _kml_bytes(path: Path, src: str, limits: Limits) -> bytes:
    """The KML document: the file, or ``doc.kml`` (else the first ``.kml``) of a KMZ.

    A KMZ member is decompressed through a counting reader that stops at
    ``limits.upload_mb`` (:func:`walks.importers.limits.read_zip_member`): the size in the
    zip header is not trusted.
    """
    if path.suffix.lower() != ".kmz":
        return path.read_bytes()
    try:
        with zipfile.ZipFile(path) as zf:
            names = [i for i in zf.infolist() if i.filename.lower().endswith(".kml")]
            if not names:
                raise ValidationError([Problem(src, "", "", "the KMZ file has no KML document",
                                               "export the map again as KML/KMZ")])
            info = next((i for i in names if i.filename.lower() == "doc.kml"), names[0])
            return read_zip_member(zf, info, src, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, RuntimeError,
            NotImplementedError, zlib.error) as exc:
        raise ValidationError([Problem(src, "", "", "cannot be read as KMZ (not a zip file, "
                                       f"or a damaged one: {str(exc)[:120]})",
                                       "export the map again as KML/KMZ")]) from exc


def _placemarks(feature: object, folder: str) -> Iterator[tuple[str, object]]:
    """(folder name, placemark) pairs, depth first, in document order."""
    for child in getattr(feature, "features", None) or []:
        if isinstance(child, fastkml.Placemark):
            yield folder, child
        elif isinstance(child, fastkml.Folder):
            yield from _placemarks(child, clean_text(child.name)[0] or folder)
        else:  # Document
            yield from _placemarks(child, folder)


def _extended_data(placemark: object) -> dict[str, object]:
    out: dict[str, object] = {}
    ed = getattr(placemark, "extended_data", None)
    for el in getattr(ed, "elements", None) or []:
        if isinstance(el, fastkml.Data) and el.name:
            out[el.name] = el.value
        elif isinstance(el, fastkml.SchemaData):
            for sd in el.data or []:
                if sd.name:
                    out[sd.name] = sd.value
    return out


def _when(placemark: object) -> object:
    times = getattr(placemark, "times", None)
    stamp = getattr(times, "timestamp", None)
    return getattr(stamp, "dt", None)


def read_kml_findings(path: Path, target: CRS, limits: Limits = DEFAULT_LIMITS) -> RawTable:
    """Point placemarks of a KML or KMZ file (more than ``limits.rows_per_import`` are
    refused while streaming, before fastkml builds its objects)."""
    src = source_label(path)
    data = _kml_bytes(path, src, limits)
    if not data.strip():
        raise ValidationError([Problem(src, "", "", "the file is empty",
                                       "export the map again as KML")])
    check_xml_elements(data, "Placemark", src, limits, "placemarks")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             remove_comments=True)
    try:
        root = etree.fromstring(data, parser=parser)
        ns = root.tag[:-3] if root.tag.endswith("kml") else ""
        kml = KML.class_from_element(ns=ns, name_spaces={**fastkml.config.NAME_SPACES,
                                                         "kml": ns},
                                     element=root, strict=False)
    except (etree.XMLSyntaxError, ValueError, TypeError, AttributeError) as exc:
        raise ValidationError([Problem(
            src, "", "", f"cannot be read as KML ({str(exc).splitlines()[0][:200]})",
            "export the map again as KML (Google My Maps: ⋮ > Export to KML/KMZ)")]) from exc
    marks = list(_placemarks(kml, ""))
    if not marks:
        raise ValidationError([Problem(src, "", "", "the KML file has no placemarks",
                                       "check that the right map was exported")])
    extended = [_extended_data(p) for _, p in marks]
    columns = list(dict.fromkeys(k for ed in extended for k in ed if k != "gx_media_links"))
    fields, photo_cols, _personal = match_fields(columns)
    problems: list[Problem] = []
    rows = []
    for i, ((folder, mark), ed) in enumerate(zip(marks, extended, strict=True)):
        row = str(i + 1)
        geom = getattr(mark, "geometry", None)
        gtype = getattr(geom, "geom_type", None)
        x = y = float("nan")
        if gtype == "Point":
            x, y = float(geom.x), float(geom.y)  # type: ignore[union-attr]
        elif gtype is not None:
            problems.append(Problem(src, row, "geometry", f"the geometry is a {gtype}, not a "
                                    "point", "mark each finding as a point (a pin)"))
        name = clean_text(getattr(mark, "name", None))[0]
        html = str(getattr(mark, "description", None) or "")
        text = _BR.sub("\n", _IMG.sub("", html))

        def get(f: str, ed: dict[str, object] = ed) -> object:
            col = fields.get(f)
            return ed.get(col) if col is not None else None
        description = get("description")
        if description is None:
            description = title_and_text(name, clean_text(text)[0])
        media = str(ed.get("gx_media_links") or "").split()
        photos = media + [r for c in photo_cols for r in str(ed.get(c) or "").split(";")
                          if r.strip()]
        pid = clean_text(getattr(mark, "id", None))[0]
        sid, id_field = (pid, "id") if pid else (
            f"{name}|{y:.6f},{x:.6f}" if gtype == "Point" else f"{name}|{row}", "name+coordinates")
        category = get("category")
        rows.append(RawFinding(
            row=row, source_id=sid, id_field=id_field,
            category=category if category not in (None, "") else folder,
            category_fallback=name, severity=get("severity"), description=description,
            internal_note=get("internal_note"), created=get("created") or _when(mark),
            photos=photos, photo_field="gx_media_links" if media else (
                photo_cols[0] if photo_cols else "photo"),
            walk_id=get("walk_id"), luminaire_id=get("luminaire_id"), x=x, y=y))
    return RawTable(path=path, format="kml", rows=rows, crs_candidates=[_WGS84],
                    coord_field="coordinates", coord_names=("lon", "lat"),
                    field_names=fields, problems=problems)
