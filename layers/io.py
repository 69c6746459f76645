"""Reading vector files with clear errors: one extension -> driver table (STYLE rule 9)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from pathlib import Path
from types import ModuleType

import geopandas as gpd
import pyogrio

from layers._common import Problem, ValidationError, source_label

logger = logging.getLogger(__name__)

#: File extension -> OGR driver for the vector formats we read and write.
VECTOR_DRIVERS: dict[str, str] = {
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".shp": "ESRI Shapefile",
    ".fgb": "FlatGeobuf",
    ".kml": "KML",
}


def driver_for(path: str | Path) -> str:
    """OGR driver name for *path*'s extension; raises with the supported list otherwise."""
    ext = Path(path).suffix.lower()
    try:
        return VECTOR_DRIVERS[ext]
    except KeyError:
        raise ValidationError([Problem(
            source_label(path), "", "", f"unsupported file type '{ext}'",
            f"use one of {', '.join(sorted(VECTOR_DRIVERS))}")]) from None


def read_vector(path: str | Path, layer: str | None = None,
                require_crs: bool = True) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame, turning library errors into clear ones.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, Shapefile, FlatGeobuf, KML or GML file.
    layer : str, optional
        Layer name inside a multi-layer file (GeoPackage).
    require_crs : bool, default True
        Raise when the file declares no CRS (a Shapefile without ``.prj``).

    Returns
    -------
    GeoDataFrame
        In the file's own CRS; reprojecting is the layer funnel's job.

    Raises
    ------
    ValidationError
        Missing, empty, corrupt or CRS-less file, with the fix in the message.
    """
    path = Path(path)
    src = source_label(path)
    if not path.exists():
        raise ValidationError([Problem(src, "", "", f"file not found: {path}",
                                       "check the path")])
    if path.stat().st_size == 0:
        raise ValidationError([Problem(src, "", "", "the file is empty (0 bytes)",
                                       "export the layer again from its source program")])
    try:
        # GML: never write a .gfs schema file next to the input (it may be read-only, and
        # a stale one would decide the field types of the next read).
        options = {"WRITE_GFS": "NO"} if path.suffix.lower() == ".gml" else {}
        gdf = pyogrio.read_dataframe(path, layer=layer, use_arrow=False, **options)
    except Exception as exc:  # pyogrio raises DataSourceError/DataLayerError/...
        raise ValidationError([unreadable_vector(path, exc)]) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        raise ValidationError([Problem(src, "", "geometry", "the file has no geometry column",
                                       "use a spatial file, or a CSV with coordinate columns")])
    if len(gdf) == 0:
        raise ValidationError([Problem(src, "", "", "the file has no features",
                                       "check that the right layer was exported")])
    if require_crs and gdf.crs is None:
        raise ValidationError([Problem(
            src, "", "", "the file has no coordinate reference system (CRS)",
            "add a CRS (for a Shapefile, the .prj file next to it; in QGIS: "
            "Layer > Set CRS and export again)")])
    logger.info("read %d features from %s", len(gdf), path)
    return gdf


_SQL_FAILED = re.compile(r"^sqlite3_\w+\(.*\) failed: ", re.DOTALL)


def unreadable_vector(path: str | Path, exc: BaseException) -> Problem:
    """The problem for a vector file GDAL cannot open, in words a user understands.

    A damaged GeoPackage gets ``not a valid GeoPackage: <reason>`` (the SQLite reason,
    e.g. "database disk image is malformed", without GDAL's SQL statement); other files
    ``cannot be read as a vector file (<GDAL's first line>)``.
    """
    path = Path(path)
    src = source_label(path)
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if path.suffix.lower() == ".gpkg":
        reason = _SQL_FAILED.sub("", first).split(";")[0].strip()
        if "not recognized as being in a supported file format" in reason:
            reason = "the file is not an SQLite database"
        elif "required GeoPackage tables" in reason:
            reason = "an SQLite database without the GeoPackage tables"
        return Problem(src, "", "", f"not a valid GeoPackage: {reason[:160]}",
                       "the file is damaged or of another type: export it again (QGIS: "
                       "Export > Save Features As > GeoPackage) or restore it from a backup")
    return Problem(
        src, "", "", f"cannot be read as a vector file ({type(exc).__name__}: "
        f"{first[:200]})",
        "check that the file is complete and of the type its extension says; "
        "open it in QGIS to see whether it is corrupt")


def write_atomic(path: str | Path, data: bytes, mode: int | None = None) -> Path:
    """Write *data* to *path* so that readers see the old file or the whole new one.

    The bytes go to a fresh temporary name in the same folder (opened with ``"x"``, so the
    umask decides its mode as for any new file, unlike ``mkstemp``'s 0600), which then
    replaces *path*; on any error the temporary file is removed. Parent folders are
    created.

    Parameters
    ----------
    path : path
        Target file.
    data : bytes
        The complete new content.
    mode : int, optional
        File mode to set before the replace (e.g. ``0o644``); default: umask.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-{uuid.uuid4().hex}{path.suffix}"
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def source_fingerprint(*packages: ModuleType) -> str:
    """Hash of the Python source of *packages* (their ``*.py`` files, by name and content).

    Part of the keys of results cached on disk (layers, rankings), so that a new version of
    the code never gets results an older version computed. The packages' ``*.toml`` data
    files (``layers/inventory_columns.toml``) count as source.
    """
    h = hashlib.blake2b(digest_size=16)
    for pkg in packages:
        folder = Path(str(pkg.__file__)).parent
        # data files too (the inventory column table is TOML)
        for src in sorted([*folder.glob("*.py"), *folder.glob("*.toml")]):
            h.update(src.name.encode())
            h.update(src.read_bytes())
    return h.hexdigest()
