"""Import safety-walk findings from field apps and files (``trygga walks import``).

One entry point, :func:`read_findings_file`, detects the format by extension and content
and returns an :class:`ImportResult`: the findings as a GeoDataFrame in the profile CRS
(columns :data:`FINDING_COLUMNS`), every problem by row, warnings, and the format. Nothing
is stored here; :func:`dry_run_report` renders a result for ``--dry-run``.

Supported sources (details in each reader module):

=========================  ==============================  =====================
source                     files                           channel
=========================  ==============================  =====================
QField                     ``.gpkg``                       ``import:qfield``
Survey123                  ``.csv``, ``.shp``, ``.zip``    ``import:survey123``
Epicollect5                ``.csv``, ``.json``             ``import:epicollect5``
GPX waypoints              ``.gpx``                        ``import:gpx``
Google My Maps             ``.kml``, ``.kmz``              ``import:kml``
GeoJSON                    ``.geojson``, ``.json``         ``import:geojson``
Open311 GeoReport v2       ``.json`` (``requests.json``)   ``import:open311``
our CSV template           ``.csv``, ``.txt``              ``import:csv``
other Shapefiles           ``.shp``, ``.zip``              ``import:shapefile``
=========================  ==============================  =====================

The template is ``data/templates/fynd_mall.csv``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import shapely
from pyproj import CRS

from layers._common import Problem, ValidationError, source_label
from layers.profile import Limits
from walks.categories import map_category
from walks.importers._funnel import (
    BOUNDARY_TOLERANCE_M,
    FIELD_SYNONYMS,
    FINDING_COLUMNS,
    LOCAL_TZ,
    CategoryMapper,
    ImportResult,
    RawTable,
    failed_result,
    normalize_findings,
)
from walks.importers.gpx import read_gpx_findings
from walks.importers.kml import read_kml_findings
from walks.importers.limits import DEFAULT_LIMITS, check_file_size
from walks.importers.open311 import georeport_requests, read_open311_requests
from walks.importers.report import dry_run_report
from walks.importers.spatial import (
    check_row_count,
    read_geojson_findings,
    read_vector_findings,
)
from walks.importers.tabular import (
    TEMPLATE_COLUMNS,
    epicollect5_entries,
    load_json,
    read_csv_findings,
    read_epicollect5_json,
)

__all__ = [
    "BOUNDARY_TOLERANCE_M",
    "FIELD_SYNONYMS",
    "FINDING_COLUMNS",
    "LOCAL_TZ",
    "SUPPORTED_EXTENSIONS",
    "TEMPLATE_COLUMNS",
    "CategoryMapper",
    "ImportResult",
    "dry_run_report",
    "read_findings_file",
]

logger = logging.getLogger(__name__)

_Reader = Callable[[Path, CRS, Limits], RawTable]


def _read_json(path: Path, target: CRS, limits: Limits,
               service_codes: Mapping[str, str] | None = None) -> RawTable:
    """``.json``: Epicollect5 entries, GeoJSON, or an Open311 GeoReport v2 requests list."""
    obj = load_json(path)
    if epicollect5_entries(obj) is not None:
        return read_epicollect5_json(path, target, limits, obj)
    if isinstance(obj, dict) and obj.get("type") in ("FeatureCollection", "Feature"):
        return read_geojson_findings(path, target, limits, obj)
    requests = georeport_requests(obj)
    if requests is not None:
        check_row_count(len(requests), source_label(path), limits, "service requests")
        return read_open311_requests(path, target, service_codes)
    raise ValidationError([Problem(
        source_label(path), "", "", "neither an Epicollect5 export (a \"data\" list of "
        "entries with \"ec5_uuid\"), GeoJSON (a FeatureCollection) nor an Open311 "
        "requests.json (a list of service requests)",
        "export the entries as JSON from Epicollect5, the findings as GeoJSON points, or "
        "fetch requests.json from the Open311 server")])


#: File extension -> reader.
_READERS: dict[str, _Reader] = {
    ".gpkg": lambda p, t, lim: read_vector_findings(p, t, "qfield", lim),
    ".shp": lambda p, t, lim: read_vector_findings(p, t, "shapefile", lim),
    ".zip": lambda p, t, lim: read_vector_findings(p, t, "shapefile", lim),
    ".csv": read_csv_findings,
    ".txt": read_csv_findings,
    ".json": _read_json,
    ".geojson": read_geojson_findings,
    ".gpx": read_gpx_findings,
    ".kml": read_kml_findings,
    ".kmz": read_kml_findings,
}

#: File extensions :func:`read_findings_file` reads.
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(_READERS)


def read_findings_file(
    path: str | Path,
    crs: str | CRS,
    boundary: shapely.Geometry | None = None,
    category_mapper: CategoryMapper | None = None,
    limits: Limits | None = None,
    service_codes: Mapping[str, str] | None = None,
) -> ImportResult:
    """Read a file of safety-walk findings from any supported tool.

    Never raises for bad input: every problem (missing, empty, corrupt or unsupported file;
    bad rows) is in :attr:`ImportResult.problems`, by row, with the fix.

    Parameters
    ----------
    path : str or Path
        The exported file. Photo paths in it are resolved against its folder.
    crs : str or CRS
        The profile's metric CRS (e.g. ``"EPSG:3007"``); the findings' points are in it.
    boundary : shapely geometry, optional
        Municipality polygon in *crs* (metres). Points more than
        :data:`BOUNDARY_TOLERANCE_M` outside it, or that lie inside only with their axes
        swapped, are problems. Without it, the area of use of *crs* is the test.
    category_mapper : callable, optional
        Text -> (label, recognised); defaults to :func:`walks.categories.map_category`.
        Unrecognised categories become ``övrigt`` with a warning, never dropped.
    limits : Limits, optional
        The profile's ``[limits]`` (:class:`layers.profile.Limits`; defaults when not
        given): a file over a limit is refused before it is parsed (size, rows) or gets a
        problem per row (text length, photos), naming the limit.
    service_codes : mapping, optional
        Open311 service code -> category (the profile's ``open311_services``), for a
        GeoReport v2 ``requests.json``.

    Returns
    -------
    ImportResult
        ``findings`` (rows without problems), ``problems``, ``warnings``, ``format``.

    Examples
    --------
    >>> r = read_findings_file("tests/fixtures/walks/fynd_mall_cp1252.csv", "EPSG:3007")
    >>> r.format, len(r.findings), r.findings.crs.to_epsg(), r.findings["category"].iloc[0]
    ('csv', 3, 3007, 'belysning')
    """
    path = Path(path)
    src = source_label(path)
    ext = path.suffix.lower()
    mapper = category_mapper or map_category
    reader = _READERS.get(ext)
    if reader is None:
        return failed_result(path, "unknown", crs, [Problem(
            src, "", "", f"unsupported file type '{ext}'",
            f"export the findings as one of {', '.join(SUPPORTED_EXTENSIONS)}")])
    if not path.is_file():
        return failed_result(path, "unknown", crs, [Problem(
            src, "", "", f"file not found: {path}", "check the path")])
    lim = limits or DEFAULT_LIMITS
    try:
        check_file_size(path, src, lim)
        if ext == ".json":
            table = _read_json(path, CRS.from_user_input(crs), lim, service_codes)
        else:
            table = reader(path, CRS.from_user_input(crs), lim)
    except ValidationError as exc:
        return failed_result(path, ext.lstrip("."), crs, exc.problems)
    return normalize_findings(table, crs, boundary, mapper, lim)
