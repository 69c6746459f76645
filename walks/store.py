"""The findings store: a small interface and its GeoPackage implementation.

:class:`FindingStore` is the interface callers use (CLI, UI, protocol, public export); a
PostGIS backend can implement it later without touching them. :class:`GeoPackageStore`
is the default: one GeoPackage file that QGIS opens directly (``findings`` is a point
layer, ``walks`` a line layer, ``finding_updates`` and ``photos`` are attribute tables).

How the GeoPackage is written
-----------------------------
* The file and its tables are created once with pyogrio (GDAL), so the GeoPackage
  metadata (``gpkg_contents``, ``gpkg_geometry_columns``, ``gpkg_spatial_ref_sys``, the
  R-tree spatial index) is exactly what QGIS expects. It is built under a temporary name
  and linked into place, so processes racing to create the same store cannot clash.
* Every write afterwards goes through :mod:`sqlite3` in one ``BEGIN IMMEDIATE``
  transaction, with geometry encoded as GeoPackage binary (``GP`` header, version, flags,
  ``srs_id``, optional envelope, WKB). The R-tree triggers GDAL created call
  ``ST_IsEmpty``/``ST_MinX``/…; we register those functions on our connections.
* The database is in WAL mode with a busy timeout; a write that still meets
  ``SQLITE_BUSY`` is retried with back-off. A killed process leaves no partial
  transaction (SQLite ignores uncommitted WAL frames on the next open).
* ``finding_updates`` is append-only: triggers refuse UPDATE and DELETE.
* Edits carry a version number (optimistic concurrency): a write based on an old version
  raises :class:`ConflictError` instead of silently overwriting someone else's edit.

Times are stored as UTC ISO 8601 text (``2025-10-15T16:02:00.000Z``, the GeoPackage
DATETIME form) and returned timezone-aware. Coordinates are in the store CRS (the
profile's metric CRS), metres.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import random
import sqlite3
import struct
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely
from pyproj import CRS
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from layers._common import Problem, ValidationError
from walks.categories import CATEGORIES, Category, map_category
from walks.model import (
    EDITABLE_FIELDS,
    NY,
    SEVERITIES,
    Finding,
    FindingUpdate,
    State,
    Stop,
    Walk,
    WalkState,
    finding_state,
    new_id,
    normalize_responsible,
    walk_state,
)
from walks.photos import (
    DEFAULT_MAX_BYTES,
    PhotoError,
    StoredPhoto,
    inspect_photo,
    photo_path,
    store_photo,
)

if TYPE_CHECKING:
    from layers.profile import Profile

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Schema version of our tables (kept in the ``trygga_meta`` table).
SCHEMA_VERSION = 1


class ConflictError(RuntimeError):
    """Someone else changed the finding since it was loaded (optimistic concurrency).

    Attributes
    ----------
    finding_id : str
    expected_version, current_version : int
    changed_by : str or None
        Role of the author of the newer change.
    changed_at : datetime or None
        When the newer change was made (UTC).
    """

    def __init__(self, finding_id: str, expected_version: int, current_version: int,
                 changed_by: str | None, changed_at: datetime | None, kind: str = "finding"):
        self.finding_id = finding_id
        self.expected_version = expected_version
        self.current_version = current_version
        self.changed_by = changed_by
        self.changed_at = changed_at
        when = changed_at.strftime("%Y-%m-%d %H:%M:%S UTC") if changed_at else "an unknown time"
        who = changed_by or "someone"
        super().__init__(
            f"{kind} {finding_id} was changed by {who} at {when} since you loaded it "
            f"(you have version {expected_version}, the store has version {current_version}). "
            f"Nothing was saved: reload the {kind}, check the other change and apply yours again.")


@dataclass(frozen=True)
class ImportRow:
    """What happened (or would happen) to one input row.

    Attributes
    ----------
    row : str
        The row label (the input frame's index label).
    action : {'new', 'duplicate', 'error'}
    finding_id : str or None
        The new finding's UUID, or the existing one for duplicates.
    category : str
        Category label after mapping.
    """

    row: str
    action: str
    finding_id: str | None
    category: str


@dataclass(frozen=True)
class ImportReport:
    """Outcome of :meth:`FindingStore.import_findings`.

    Attributes
    ----------
    source : str
        Source label (file name).
    dry_run : bool
        True when nothing was written.
    new : int
        Findings created (or that would be created).
    duplicates : int
        Rows already in the store (same source id and content hash), skipped.
    changed : int
        Of ``new``: rows whose source id was imported before with other content (imported
        as new findings; see the notes).
    problems : tuple of Problem
        Errors by row. A real import with problems writes nothing.
    notes : tuple of Problem
        Warnings by row (defaults applied, categories mapped to ``övrigt`` …).
    rows : tuple of ImportRow
        Per-row outcome, in input order.
    """

    source: str
    dry_run: bool
    new: int = 0
    duplicates: int = 0
    changed: int = 0
    problems: tuple[Problem, ...] = ()
    notes: tuple[Problem, ...] = ()
    rows: tuple[ImportRow, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there are no problems."""
        return not self.problems

    @property
    def new_ids(self) -> tuple[str, ...]:
        """UUIDs of the new findings."""
        return tuple(r.finding_id for r in self.rows if r.action == "new" and r.finding_id)

    def summary(self) -> str:
        """One line for the CLI."""
        verb = "would import" if self.dry_run else "imported"
        return (f"{self.source}: {verb} {self.new} new finding(s), {self.duplicates} "
                f"duplicate(s) skipped, {len(self.problems)} problem(s), "
                f"{len(self.notes)} note(s)")


class ImportRejectedError(ValidationError):
    """An import with problems: nothing was written. ``report`` has every problem by row."""

    def __init__(self, report: ImportReport):
        self.report = report
        super().__init__(report.problems)


# --------------------------------------------------------------------------------------
# The interface
# --------------------------------------------------------------------------------------

class FindingStore(ABC):
    """What callers may do with a findings store; backends implement it.

    All writes are single transactions; all edits of existing findings take the version
    the caller loaded and raise :class:`ConflictError` if it moved.

    Attributes
    ----------
    crs : str
        The store CRS (the profile's metric CRS). Geometries in and out are in it.
    categories : tuple of Category
        Allowed categories.
    """

    crs: str
    categories: tuple[Category, ...]

    # walks ------------------------------------------------------------------------
    @abstractmethod
    def add_walk(self, walk: Walk, author_role: str = "staff") -> Walk:
        """Store a new walk; its id must be unused."""

    @abstractmethod
    def get_walk(self, walk_id: str) -> Walk:
        """Load one walk. Raises KeyError if unknown."""

    @abstractmethod
    def set_walk_state(self, walk_id: str, expected_version: int,
                       new_state: WalkState | str) -> Walk:
        """Move a walk forward (planerad → genomförd → protokoll publicerat)."""

    @abstractmethod
    def walks(self) -> gpd.GeoDataFrame:
        """All walks, index ``walk_id``, route LineStrings in the store CRS."""

    # findings ---------------------------------------------------------------------
    @abstractmethod
    def add_finding(self, finding: Finding, author_role: str = "staff",
                    note: str = "") -> Finding:
        """Store a new finding (version 1) and its first history entry."""

    @abstractmethod
    def get_finding(self, finding_id: str) -> Finding:
        """Load one finding. Raises KeyError if unknown."""

    @abstractmethod
    def findings(self, include_hidden: bool = True) -> gpd.GeoDataFrame:
        """All findings (without ``non_public`` ones unless *include_hidden*).

        Index: the finding UUID (named ``id``). Geometry: points in the store CRS.
        Internal fields are included: this frame is for staff. Publish only
        :func:`walks.public.public_view` of it.
        """

    @abstractmethod
    def update_finding(self, finding_id: str, expected_version: int, *,
                       author_role: str = "staff", note: str = "",
                       **changes: Any) -> Finding:
        """Change editable fields (:data:`walks.model.EDITABLE_FIELDS`).

        Raises
        ------
        ConflictError
            The finding's version is no longer *expected_version*.
        ValidationError
            Unknown fields or invalid values (naming the field).
        """

    @abstractmethod
    def set_state(self, finding_id: str, expected_version: int, new_state: State | str,
                  note: str, author_role: str, reason: str | None = None,
                  fixed_at: datetime | None = None) -> Finding:
        """Change a finding's state; closing without action requires *reason*."""

    @abstractmethod
    def history(self, finding_id: str) -> list[FindingUpdate]:
        """The finding's append-only history, oldest first."""

    @abstractmethod
    def import_findings(self, gdf: gpd.GeoDataFrame, source: str, dry_run: bool = False, *,
                        author_role: str = "import",
                        on_transaction: Callable[[], None] | None = None) -> ImportReport:
        """Import findings all-or-nothing (see :class:`GeoPackageStore`)."""

    # photos -----------------------------------------------------------------------
    @abstractmethod
    def add_photo(self, data: bytes | str | Path, declared_name: str | None = None,
                  declared_type: str | None = None) -> StoredPhoto:
        """Check and store a photo; returns its content hash and location proposal."""

    @abstractmethod
    def photo_file(self, sha256: str, public: bool = False) -> Path:
        """Path of a stored photo (original, or public copy by its public hash)."""


# --------------------------------------------------------------------------------------
# GeoPackage binary geometry
# --------------------------------------------------------------------------------------

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def gpkg_blob(geom: BaseGeometry | None, srs_id: int) -> bytes | None:
    """Encode *geom* as a GeoPackage binary geometry (little-endian, xy envelope).

    Points get no envelope (as GDAL writes them); empty geometries set the empty flag.
    """
    if geom is None:
        return None
    wkb = shapely.to_wkb(geom, byte_order=1, output_dimension=2, flavor="iso")
    if geom.is_empty:
        flags = 0b0001_0001
        envelope = b""
    elif geom.geom_type == "Point":
        flags = 0b0000_0001
        envelope = b""
    else:
        flags = 0b0000_0011
        minx, miny, maxx, maxy = geom.bounds
        envelope = struct.pack("<dddd", minx, maxx, miny, maxy)
    return b"GP" + bytes([0, flags]) + struct.pack("<i", srs_id) + envelope + wkb


def _blob_wkb(blob: bytes) -> bytes:
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob")
    flags = blob[3]
    env = _ENVELOPE_BYTES.get((flags >> 1) & 0b111)
    if env is None:
        raise ValueError("bad envelope indicator in GeoPackage geometry")
    return blob[8 + env:]


def from_gpkg_blob(blob: bytes | None) -> Any:
    """Decode a GeoPackage binary geometry (or None)."""
    if blob is None:
        return None
    return shapely.from_wkb(_blob_wkb(bytes(blob)))


def _blob_is_empty(blob: bytes | None) -> int | None:
    if blob is None:
        return None
    return 1 if blob[3] & 0b0001_0000 else int(from_gpkg_blob(blob).is_empty)


def _blob_bound(i: int) -> Callable[[bytes | None], float | None]:
    def f(blob: bytes | None) -> float | None:
        if blob is None:
            return None
        g = from_gpkg_blob(blob)
        if g is None or g.is_empty:
            return None
        return float(g.bounds[i])
    return f


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------

def _ms(value: datetime) -> datetime:
    """*value* truncated to milliseconds (the store's time resolution)."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _now() -> datetime:
    return _ms(datetime.now(UTC))


def _ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{value.astimezone(UTC).microsecond // 1000:03d}Z"


def _parse_ts(text: str | None) -> datetime | None:
    if text is None or text == "":
        return None
    dt = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, State | WalkState):
        return value.label
    if isinstance(value, datetime):
        return _ts(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, BaseGeometry):
        return value.wkt
    if isinstance(value, tuple):
        return list(value)
    return value


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _text(value: Any) -> str:
    return "" if _is_missing(value) else str(value)


def _opt_text(value: Any) -> str | None:
    return None if _is_missing(value) or str(value).strip() == "" else str(value)


_ST_FUNCTIONS: dict[str, Callable[[bytes | None], Any]] = {
    "ST_IsEmpty": _blob_is_empty,
    "ST_MinX": _blob_bound(0), "ST_MinY": _blob_bound(1),
    "ST_MaxX": _blob_bound(2), "ST_MaxY": _blob_bound(3),
}

_BUSY_WORDS = ("database is locked", "database is busy", "locked")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return True
    return any(w in str(exc).lower() for w in _BUSY_WORDS)


# --------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------

def _s() -> pd.Series:
    return pd.Series([], dtype=pd.ArrowDtype(pa.string()))


def _dt() -> pd.Series:
    return pd.Series([], dtype=pd.ArrowDtype(pa.timestamp("ms", tz="UTC")))


def _i() -> pd.Series:
    return pd.Series([], dtype=pd.ArrowDtype(pa.int64()))


def _f() -> pd.Series:
    return pd.Series([], dtype=pd.ArrowDtype(pa.float64()))


def _b() -> pd.Series:
    return pd.Series([], dtype=pd.ArrowDtype(pa.bool_()))


def _d() -> pd.Series:
    return pd.Series([], dtype=pd.ArrowDtype(pa.date32()))


_FINDINGS_SCHEMA: dict[str, Callable[[], pd.Series]] = {
    "uuid": _s, "walk_id": _s, "channel": _s, "created": _dt, "category": _s,
    "raw_category": _s, "severity": _i, "description": _s, "description_original": _s,
    "internal_note": _s, "photos": _s, "responsible": _s, "measure": _s, "deadline": _d,
    "state_label": _s, "state_type": _s, "closed_reason": _s, "non_public": _b,
    "version": _i, "source_id": _s, "content_hash": _s, "fixed_at": _dt, "updated": _dt,
}
_WALKS_SCHEMA: dict[str, Callable[[], pd.Series]] = {
    "walk_id": _s, "title": _s, "start": _dt, "light": _s, "area": _s, "school": _s,
    "organiser": _s, "participants": _s, "stops": _s, "state_label": _s, "state_type": _s,
    "version": _i, "created": _dt, "updated": _dt,
}
_UPDATES_SCHEMA: dict[str, Callable[[], pd.Series]] = {
    "finding_uuid": _s, "time": _dt, "author_role": _s, "state_before": _s,
    "state_after": _s, "note": _s, "changes": _s, "version_after": _i,
}
_PHOTOS_SCHEMA: dict[str, Callable[[], pd.Series]] = {
    "sha256": _s, "format": _s, "ext": _s, "size_bytes": _i, "width": _i, "height": _i,
    "public_sha256": _s, "gps_lon": _f, "gps_lat": _f, "created": _dt,
}
_META_SCHEMA: dict[str, Callable[[], pd.Series]] = {"key": _s, "value": _s}

_EXTRA_DDL = (
    'CREATE UNIQUE INDEX IF NOT EXISTS "findings_uuid_idx" ON "findings" ("uuid")',
    'CREATE INDEX IF NOT EXISTS "findings_source_idx" ON "findings" ("source_id", '
    '"content_hash")',
    'CREATE INDEX IF NOT EXISTS "findings_hash_idx" ON "findings" ("content_hash")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "walks_walk_id_idx" ON "walks" ("walk_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "photos_sha256_idx" ON "photos" ("sha256")',
    'CREATE INDEX IF NOT EXISTS "finding_updates_uuid_idx" ON "finding_updates" '
    '("finding_uuid")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "trygga_meta_key_idx" ON "trygga_meta" ("key")',
    "CREATE TRIGGER IF NOT EXISTS \"finding_updates_append_only_update\" BEFORE UPDATE ON "
    "\"finding_updates\" BEGIN SELECT RAISE(ABORT, 'finding_updates is append-only: "
    "history is never changed'); END",
    "CREATE TRIGGER IF NOT EXISTS \"finding_updates_append_only_delete\" BEFORE DELETE ON "
    "\"finding_updates\" BEGIN SELECT RAISE(ABORT, 'finding_updates is append-only: "
    "history is never deleted'); END",
)

_FINDING_COLUMNS = [c for c in _FINDINGS_SCHEMA]
_WALK_COLUMNS = [c for c in _WALKS_SCHEMA]


def _empty_frame(schema: dict[str, Callable[[], pd.Series]]) -> pd.DataFrame:
    return pd.DataFrame({k: f() for k, f in schema.items()})


# --------------------------------------------------------------------------------------
# Import preparation (backend independent)
# --------------------------------------------------------------------------------------

#: Columns of the frame :meth:`FindingStore.import_findings` takes (the importers' output).
IMPORT_COLUMNS: tuple[str, ...] = (
    "source_id", "category", "raw_category", "severity", "description", "internal_note",
    "created", "photo_paths", "walk_id", "channel", "geometry",
)
_IMPORT_REQUIRED = ("category", "geometry")


#: (position, row outcome) pairs, the new findings and "changed" notes of one import plan.
_Plan = tuple[list[tuple[int, ImportRow]], list[Finding], list[Problem]]


@dataclass
class _Prepared:
    findings: list[tuple[int, str, Finding]] = field(default_factory=list)  # (pos, row, f)
    photo_paths: dict[str, list[str]] = field(default_factory=dict)  # finding id -> paths
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    error_rows: list[tuple[int, str, str]] = field(default_factory=list)  # (pos, row, cat)


def _content_hash(values: dict[str, Any]) -> str:
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _photo_list(value: Any) -> list[str] | None:
    """The photo paths of a row, or None when the value is not a list of paths."""
    if value is None or (not isinstance(value, (list, tuple, np.ndarray)) and _is_missing(value)):
        return []
    if isinstance(value, str):
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        out = [str(v) for v in value if not _is_missing(v) and str(v).strip()]
        return out
    return None


def prepare_import(gdf: gpd.GeoDataFrame, crs: str, source: str,
                   categories: Sequence[Category] = CATEGORIES,
                   max_photo_bytes: int = DEFAULT_MAX_BYTES) -> _Prepared:
    """Validate an import frame row by row and build the findings (nothing is written).

    Shared by all backends. See :meth:`GeoPackageStore.import_findings` for the frame.
    """
    prep = _Prepared()
    missing = [c for c in _IMPORT_REQUIRED if c not in gdf.columns]
    if not isinstance(gdf, gpd.GeoDataFrame):
        missing = ["geometry"] if "geometry" in missing else missing
    for c in missing:
        prep.problems.append(Problem(source, "", c, "required column is missing",
                                     f"the importer must deliver the columns "
                                     f"{', '.join(IMPORT_COLUMNS)}"))
    if prep.problems:
        return prep
    if gdf.crs is None:
        prep.problems.append(Problem(source, "", "geometry", "the frame has no CRS",
                                     f"set the CRS; the store is in {crs}"))
        return prep
    if CRS.from_user_input(gdf.crs) != CRS.from_user_input(crs):
        gdf = gdf.to_crs(crs)
    labels = {c.label for c in categories}
    now = _now()
    for pos, (idx, rec) in enumerate(zip(gdf.index, gdf.to_dict("records"), strict=True)):
        row = str(idx)
        row_problems: list[Problem] = []

        def bad(column: str, message: str, fix: str,
                _row: str = row, _rp: list[Problem] = row_problems) -> None:
            _rp.append(Problem(source, _row, column, message, fix))

        def note(column: str, message: str, fix: str, _row: str = row) -> None:
            prep.notes.append(Problem(source, _row, column, message, fix))

        geom = rec.get(gdf.geometry.name)
        if geom is None or not isinstance(geom, Point) or geom.is_empty \
                or not (math.isfinite(geom.x) and math.isfinite(geom.y)):
            bad("geometry", "missing, empty or non-point position",
                "give each finding one point (fix it in the source and import again)")
        category = _text(rec.get("category")).strip()
        raw_category = _text(rec.get("raw_category"))
        if category not in labels:
            mapped, known = map_category(category or raw_category, categories)
            if known:
                note("category", f"category {category!r} mapped to {mapped!r}",
                     "check the mapping")
            else:
                note("category", f"unknown category {category or raw_category!r}; "
                     f"put in {mapped!r}", "choose the right category in the store")
            category = mapped
        sev_raw = rec.get("severity")
        severity = 2
        if _is_missing(sev_raw):
            note("severity", "severity missing; set to 2", "assess the finding (1–3)")
        else:
            try:
                severity = int(sev_raw)
                if severity != float(sev_raw) or severity not in SEVERITIES:
                    raise ValueError
            except (TypeError, ValueError):
                bad("severity", f"severity {sev_raw!r} is not 1, 2 or 3",
                    "use 1 (low), 2 or 3 (high)")
        created_raw = rec.get("created")
        created: datetime = now
        if _is_missing(created_raw):
            note("created", "no time given; set to the import time", "check the date")
        else:
            ts = pd.Timestamp(created_raw)
            if ts.tzinfo is None:
                bad("created", f"time {created_raw!r} has no time zone",
                    "the importer must give timezone-aware times")
            else:
                created = _ms(ts.to_pydatetime())
        photos = _photo_list(rec.get("photo_paths"))
        if photos is None:
            bad("photo_paths", "photo_paths is not a list of file paths",
                "give a list (may be empty)")
            photos = []
        photo_hashes = []
        for p in photos:
            if not os.path.isabs(p):
                bad("photo_paths", f"photo path {p!r} is not absolute",
                    "the importer must resolve photo paths (e.g. DCIM/…) to absolute paths")
                continue
            try:
                info = inspect_photo(p, max_bytes=max_photo_bytes)
                photo_hashes.append(info.sha256)
            except PhotoError as exc:
                for pr in exc.problems:
                    bad("photo_paths", f"{Path(p).name}: {pr.message}", pr.fix)
        walk_id = _opt_text(rec.get("walk_id"))
        channel = _opt_text(rec.get("channel"))
        source_id = _opt_text(rec.get("source_id"))
        description = _text(rec.get("description"))
        internal_note = _text(rec.get("internal_note"))
        if row_problems:
            prep.problems.extend(row_problems)
            prep.error_rows.append((pos, row, category))
            continue
        assert isinstance(geom, Point)
        chash = _content_hash({
            "raw_category": raw_category, "category": _text(rec.get("category")),
            "severity": None if _is_missing(sev_raw) else severity,
            "description": description, "internal_note": internal_note,
            "created": None if _is_missing(created_raw) else _ts(created),
            "x": round(geom.x, 2), "y": round(geom.y, 2), "walk_id": walk_id,
            "photos": sorted(photo_hashes),
        })
        try:
            finding = Finding(
                id=new_id(), geometry=Point(geom.x, geom.y), created=created,
                category=category, severity=severity, description=description,
                internal_note=internal_note, walk_id=walk_id, channel=channel,
                photos=tuple(photo_hashes), source_id=source_id, content_hash=chash,
                raw_category=raw_category)
            finding.validate(categories)
        except ValidationError as exc:
            prep.problems.extend(Problem(source, row, p.column, p.message, p.fix)
                                 for p in exc.problems)
            prep.error_rows.append((pos, row, category))
            continue
        prep.findings.append((pos, row, finding))
        prep.photo_paths[finding.id] = photos
    return prep


# --------------------------------------------------------------------------------------
# GeoPackage store
# --------------------------------------------------------------------------------------

class GeoPackageStore(FindingStore):
    """The findings store in one GeoPackage file (QGIS opens it directly).

    Parameters
    ----------
    path : path
        The ``.gpkg`` file; created with all tables if missing.
    crs : str
        The store CRS, the profile's metric CRS (e.g. ``"EPSG:3007"``). An existing store
        in another CRS is an error.
    photos_dir : path, optional
        Photos folder; default ``photos`` next to the store file.
    categories : tuple of Category
        Allowed categories (default :data:`walks.categories.CATEGORIES`).
    busy_timeout_s : float
        How long a write waits for another writer's lock before retrying.
    max_photo_bytes : int
        Photo size limit in bytes.

    Notes
    -----
    A store object keeps one SQLite connection per process (opened on first use, guarded
    by a lock so threads can share the object). It can be pickled or forked: another
    process opens its own connection. ``close()`` (or ``with store:``) releases it.

    Examples
    --------
    >>> store = GeoPackageStore("data/stromstad/walks.gpkg", "EPSG:3007")  # doctest: +SKIP
    >>> store.findings().query("state_type == 'open'")  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, crs: str, *, photos_dir: str | Path | None = None,
                 categories: Sequence[Category] = CATEGORIES, busy_timeout_s: float = 30.0,
                 max_photo_bytes: int = DEFAULT_MAX_BYTES):
        self.path = Path(path)
        self.crs = CRS.from_user_input(crs).to_string()
        self.photos_dir = Path(photos_dir) if photos_dir else self.path.parent / "photos"
        self.categories = tuple(categories)
        self.busy_timeout_s = float(busy_timeout_s)
        self.max_photo_bytes = int(max_photo_bytes)
        self._lock = threading.RLock()
        self._con: sqlite3.Connection | None = None
        self._con_pid: int | None = None
        if not self.path.exists():
            self._create()
        self.srs_id = self._check_file()

    @classmethod
    def from_profile(cls, profile: Profile, **kwargs: Any) -> GeoPackageStore:
        """The store named by ``profile.store`` (default ``walks.gpkg`` in the profile
        folder), in the profile CRS."""
        path = profile.store or profile.folder / "walks.gpkg"
        return cls(path, profile.crs, **kwargs)

    def __repr__(self) -> str:
        return f"GeoPackageStore({str(self.path)!r}, {self.crs!r})"

    # connection & transactions ------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                              check_same_thread=False)
        con.row_factory = sqlite3.Row
        con.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        con.execute("PRAGMA synchronous = NORMAL")
        for name, fn in _ST_FUNCTIONS.items():
            con.create_function(name, 1, fn, deterministic=True)
        return con

    def _connection(self) -> sqlite3.Connection:
        """This process's connection (opened lazily; a forked child opens its own)."""
        if self._con is None or self._con_pid != os.getpid():
            # An inherited connection from the parent is abandoned, never used or closed.
            self._con = self._connect()
            self._con_pid = os.getpid()
        return self._con

    def close(self) -> None:
        """Close this process's connection (reopened on the next call)."""
        with self._lock:
            if self._con is not None and self._con_pid == os.getpid():
                self._con.close()
            self._con = None

    def __enter__(self) -> GeoPackageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_con=None, _con_pid=None, _lock=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            con = self._connection()
            con.execute("BEGIN")  # one consistent snapshot for multi-statement reads
            try:
                yield con
            finally:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")

    def _write(self, fn: Callable[[sqlite3.Connection], T], max_attempts: int = 50) -> T:
        """Run *fn* in one ``BEGIN IMMEDIATE`` transaction; retry on SQLITE_BUSY."""
        delay = 0.005
        with self._lock:
            for attempt in range(1, max_attempts + 1):
                con = self._connection()
                try:
                    con.execute("BEGIN IMMEDIATE")
                    result = fn(con)
                    con.execute("UPDATE gpkg_contents SET last_change = "
                                "strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name IN "
                                "('findings','walks','finding_updates','photos')")
                    con.execute("COMMIT")
                    return result
                except sqlite3.OperationalError as exc:
                    with contextlib.suppress(sqlite3.Error):
                        con.execute("ROLLBACK")
                    if not _is_busy(exc) or attempt == max_attempts:
                        raise
                    logger.debug("store busy (attempt %d): %s; retrying", attempt, exc)
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 0.5)
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        con.execute("ROLLBACK")
                    raise
        raise AssertionError("unreachable")

    # creation & checks ----------------------------------------------------------------
    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{random.randrange(1 << 30)}"
                                  ".tmp.gpkg")
        try:
            findings = gpd.GeoDataFrame(_empty_frame(_FINDINGS_SCHEMA),
                                        geometry=gpd.GeoSeries([], crs=self.crs), crs=self.crs)
            walks = gpd.GeoDataFrame(_empty_frame(_WALKS_SCHEMA),
                                     geometry=gpd.GeoSeries([], crs=self.crs), crs=self.crs)
            pyogrio.write_dataframe(findings, tmp, layer="findings", driver="GPKG",
                                    geometry_type="Point", use_arrow=True)
            pyogrio.write_dataframe(walks, tmp, layer="walks", driver="GPKG",
                                    geometry_type="LineString", use_arrow=True)
            for name, schema in (("finding_updates", _UPDATES_SCHEMA),
                                 ("photos", _PHOTOS_SCHEMA), ("trygga_meta", _META_SCHEMA)):
                pyogrio.write_dataframe(_empty_frame(schema), tmp, layer=name, driver="GPKG",
                                        use_arrow=True)
            con = sqlite3.connect(tmp, isolation_level=None)
            try:
                con.execute("PRAGMA journal_mode = WAL")
                con.execute("BEGIN")
                for ddl in _EXTRA_DDL:
                    con.execute(ddl)
                con.executemany('INSERT INTO "trygga_meta" ("key", "value") VALUES (?, ?)',
                                [("schema_version", str(SCHEMA_VERSION)), ("crs", self.crs)])
                con.execute("COMMIT")
            finally:
                con.close()
            try:
                os.link(tmp, self.path)  # atomic; fails if another process won the race
                logger.info("created findings store %s (%s)", self.path, self.crs)
            except FileExistsError:
                logger.debug("store %s was created by another process", self.path)
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)

    def _check_file(self) -> int:
        src = str(self.path)
        try:
            con = self._connection()
        except sqlite3.Error as exc:
            raise ValidationError([Problem(src, "", "", f"cannot open the store ({exc})",
                                           "check the path and permissions")]) from None
        try:
            tables = {r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
            need = {"findings", "walks", "finding_updates", "photos", "trygga_meta",
                    "gpkg_geometry_columns"}
            if not need <= tables:
                raise ValidationError([Problem(
                    src, "", "", f"not a findings store (missing tables: "
                    f"{', '.join(sorted(need - tables))})",
                    "point --store at a store created by trygga, or at a new file name")])
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                con.execute("PRAGMA journal_mode = WAL")
            row = con.execute(
                "SELECT g.srs_id, s.organization, s.organization_coordsys_id, s.definition "
                "FROM gpkg_geometry_columns g JOIN gpkg_spatial_ref_sys s "
                "ON g.srs_id = s.srs_id WHERE g.table_name = 'findings'").fetchone()
        except ValidationError:
            self.close()
            raise
        except sqlite3.DatabaseError as exc:
            self.close()
            raise ValidationError([Problem(src, "", "", f"not a GeoPackage ({exc})",
                                           "point --store at a .gpkg findings store")]) from None
        srs_id, org, org_id, definition = row
        try:
            file_crs = (CRS.from_authority(org, org_id) if org and org.upper() != "NONE"
                        else CRS.from_user_input(definition))
        except Exception:  # pyproj CRSError; we report below
            file_crs = None
        if file_crs is None or file_crs != CRS.from_user_input(self.crs):
            have = file_crs.to_string() if file_crs is not None else "an unknown CRS"
            raise ValidationError([Problem(
                src, "", "crs", f"the store is in {have}, not {self.crs}",
                "open it with the profile it was created with, or use a new store file")])
        return int(srs_id)

    # row conversion ---------------------------------------------------------------------
    def _finding_row(self, f: Finding) -> dict[str, Any]:
        return {
            "uuid": f.id, "walk_id": f.walk_id, "channel": f.channel, "created": _ts(f.created),
            "category": f.category, "raw_category": f.raw_category, "severity": f.severity,
            "description": f.description, "description_original": f.description_original,
            "internal_note": f.internal_note, "photos": json.dumps(list(f.photos)),
            "responsible": f.responsible, "measure": f.measure,
            "deadline": f.deadline.isoformat() if f.deadline else None,
            "state_label": f.state.label, "state_type": f.state.type,
            "closed_reason": f.closed_reason, "non_public": int(f.non_public),
            "version": f.version, "source_id": f.source_id, "content_hash": f.content_hash,
            "fixed_at": _ts(f.fixed_at), "updated": _ts(_now()),
            "geom": gpkg_blob(f.geometry, self.srs_id),
        }

    @staticmethod
    def _row_to_finding(r: sqlite3.Row) -> Finding:
        return Finding(
            id=r["uuid"], geometry=from_gpkg_blob(r["geom"]),
            created=_parse_ts(r["created"]) or _now(), category=r["category"],
            severity=int(r["severity"]), description=r["description"] or "",
            internal_note=r["internal_note"] or "", walk_id=r["walk_id"],
            channel=r["channel"], photos=tuple(json.loads(r["photos"] or "[]")),
            responsible=r["responsible"], measure=r["measure"] or "",
            deadline=date.fromisoformat(r["deadline"]) if r["deadline"] else None,
            state=finding_state(r["state_label"]), closed_reason=r["closed_reason"] or "",
            non_public=bool(r["non_public"]), version=int(r["version"]),
            source_id=r["source_id"], content_hash=r["content_hash"],
            raw_category=r["raw_category"] or "", fixed_at=_parse_ts(r["fixed_at"]),
            description_original=r["description_original"])

    def _insert_finding(self, con: sqlite3.Connection, f: Finding) -> None:
        row = self._finding_row(f)
        cols = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        con.execute(f'INSERT INTO "findings" ({cols}) VALUES ({marks})', list(row.values()))

    @staticmethod
    def _insert_update(con: sqlite3.Connection, u: FindingUpdate) -> None:
        con.execute(
            'INSERT INTO "finding_updates" ("finding_uuid", "time", "author_role", '
            '"state_before", "state_after", "note", "changes", "version_after") '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (u.finding_id, _ts(u.time), u.author_role, u.state_before, u.state_after, u.note,
             json.dumps(dict(u.changes), ensure_ascii=False), u.version_after))

    def _load_finding(self, con: sqlite3.Connection, finding_id: str) -> Finding:
        r = con.execute('SELECT * FROM "findings" WHERE "uuid" = ?', (finding_id,)).fetchone()
        if r is None:
            raise KeyError(f"no finding with id {finding_id!r} in {self.path}")
        return self._row_to_finding(r)

    def _check_photos_known(self, con: sqlite3.Connection, f: Finding) -> None:
        if not f.photos:
            return
        known = {r[0] for r in con.execute(
            f'SELECT "sha256" FROM "photos" WHERE "sha256" IN '
            f'({", ".join("?" for _ in f.photos)})', list(f.photos))}
        unknown = [p for p in f.photos if p not in known]
        if unknown:
            raise ValidationError([Problem(
                f"finding {f.id}", "", "photos", f"unknown photo hash(es): "
                f"{', '.join(u[:12] for u in unknown)}", "add photos with add_photo() first",
                column_label="field")])

    # walks ------------------------------------------------------------------------------
    def _walk_row(self, w: Walk) -> dict[str, Any]:
        return {
            "walk_id": w.id, "title": w.title, "start": _ts(w.start), "light": w.light,
            "area": w.area, "school": w.school, "organiser": w.organiser,
            "participants": json.dumps(dict(w.participants), ensure_ascii=False),
            "stops": json.dumps([{"x": s.point.x, "y": s.point.y, "label": s.label}
                                 for s in w.stops], ensure_ascii=False),
            "state_label": w.state.label, "state_type": w.state.type, "version": w.version,
            "updated": _ts(_now()), "geom": gpkg_blob(w.route, self.srs_id),
        }

    @staticmethod
    def _row_to_walk(r: sqlite3.Row) -> Walk:
        stops = tuple(Stop(Point(s["x"], s["y"]), s.get("label", ""))
                      for s in json.loads(r["stops"] or "[]"))
        route = from_gpkg_blob(r["geom"])
        return Walk(id=r["walk_id"], title=r["title"], start=_parse_ts(r["start"]) or _now(),
                    light=r["light"], area=r["area"] or "", school=r["school"],
                    route=route if isinstance(route, LineString) else None, stops=stops,
                    organiser=r["organiser"] or "",
                    participants=json.loads(r["participants"] or "{}"),
                    state=walk_state(r["state_label"]), version=int(r["version"]))

    def add_walk(self, walk: Walk, author_role: str = "staff") -> Walk:
        """Store a new walk (version 1).

        Raises
        ------
        ValidationError
            The walk id is already used (field ``id``).
        """
        def tx(con: sqlite3.Connection) -> Walk:
            if con.execute('SELECT 1 FROM "walks" WHERE "walk_id" = ?', (walk.id,)).fetchone():
                raise ValidationError([Problem(
                    f"walk {walk.id!r}", "", "id", "a walk with this id already exists",
                    "choose another id", column_label="field")])
            row = self._walk_row(dataclasses.replace(walk, version=1))
            row["created"] = _ts(_now())
            cols = ", ".join(f'"{c}"' for c in row)
            con.execute(f'INSERT INTO "walks" ({cols}) VALUES ({", ".join("?" for _ in row)})',
                        list(row.values()))
            return dataclasses.replace(walk, version=1)
        result = self._write(tx)
        logger.info("added walk %s by %s", walk.id, author_role)
        return result

    def get_walk(self, walk_id: str) -> Walk:
        """Load one walk. Raises KeyError if unknown."""
        with self._reading() as con:
            r = con.execute('SELECT * FROM "walks" WHERE "walk_id" = ?', (walk_id,)).fetchone()
        if r is None:
            raise KeyError(f"no walk with id {walk_id!r} in {self.path}")
        return self._row_to_walk(r)

    def set_walk_state(self, walk_id: str, expected_version: int,
                       new_state: WalkState | str) -> Walk:
        """Move a walk forward (planerad → genomförd → protokoll publicerat).

        Raises
        ------
        ConflictError
            The walk changed since *expected_version*.
        ValidationError
            A backward move (field ``state``).
        """
        target = walk_state(new_state)

        def tx(con: sqlite3.Connection) -> Walk:
            r = con.execute('SELECT * FROM "walks" WHERE "walk_id" = ?', (walk_id,)).fetchone()
            if r is None:
                raise KeyError(f"no walk with id {walk_id!r} in {self.path}")
            current = self._row_to_walk(r)
            if current.version != expected_version:
                raise ConflictError(walk_id, expected_version, current.version, None,
                                    _parse_ts(r["updated"]), kind="walk")
            if target.step < current.state.step:
                raise ValidationError([Problem(
                    f"walk {walk_id!r}", "", "state",
                    f"cannot go back from {current.state.label!r} to {target.label!r}",
                    "walk states only move forward", column_label="field")])
            new = dataclasses.replace(current, state=target, version=current.version + 1)
            con.execute('UPDATE "walks" SET "state_label" = ?, "state_type" = ?, "version" = ?, '
                        '"updated" = ? WHERE "walk_id" = ?',
                        (target.label, target.type, new.version, _ts(_now()), walk_id))
            return new
        return self._write(tx)

    def walks(self) -> gpd.GeoDataFrame:
        """All walks: index ``walk_id``; route LineStrings in the store CRS.

        Columns: title, start (UTC), light, area, school, organiser, participants (dict of
        counts), stops (list of dicts with x, y, label), state_label, state_type, version,
        created, updated, geometry.
        """
        with self._reading() as con:
            rows = con.execute('SELECT * FROM "walks" ORDER BY "start", "walk_id"').fetchall()
        cols = [c for c in _WALK_COLUMNS if c != "walk_id"]
        data: dict[str, list[Any]] = {c: [] for c in cols}
        geoms = []
        ids = []
        for r in rows:
            ids.append(r["walk_id"])
            for c in cols:
                v = r[c]
                if c in ("participants", "stops"):
                    v = json.loads(v or ("{}" if c == "participants" else "[]"))
                data[c].append(v)
            geoms.append(from_gpkg_blob(r["geom"]))
        df = pd.DataFrame(data, index=pd.Index(ids, name="walk_id", dtype=object))
        for c in ("start", "created", "updated"):
            df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601")
        df["version"] = df["version"].astype("int64")
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, index=df.index, crs=self.crs),
                                crs=self.crs)

    # findings ---------------------------------------------------------------------------
    def add_finding(self, finding: Finding, author_role: str = "staff",
                    note: str = "") -> Finding:
        """Store a new finding (as version 1) and its creation entry in the history.

        Raises
        ------
        ValidationError
            Invalid fields, unknown category or photo hashes, or the UUID already exists.
        """
        finding = dataclasses.replace(
            finding, version=1, created=_ms(finding.created),
            fixed_at=_ms(finding.fixed_at) if finding.fixed_at else None)
        finding.validate(self.categories)
        entry = FindingUpdate(finding.id, _now(), author_role, None, finding.state.label,
                              note or "skapad", {}, 1)

        def tx(con: sqlite3.Connection) -> Finding:
            if con.execute('SELECT 1 FROM "findings" WHERE "uuid" = ?',
                           (finding.id,)).fetchone():
                raise ValidationError([Problem(
                    f"finding {finding.id}", "", "id", "a finding with this id already exists",
                    "use walks.model.new_id() for new findings", column_label="field")])
            self._check_photos_known(con, finding)
            self._insert_finding(con, finding)
            self._insert_update(con, entry)
            return finding
        return self._write(tx)

    def get_finding(self, finding_id: str) -> Finding:
        """Load one finding. Raises KeyError if unknown."""
        with self._reading() as con:
            return self._load_finding(con, finding_id)

    def findings(self, include_hidden: bool = True) -> gpd.GeoDataFrame:
        """All findings, as a staff frame (internal fields included).

        Parameters
        ----------
        include_hidden : bool
            Include ``non_public`` findings (default True).

        Returns
        -------
        GeoDataFrame
            Index: UUID (named ``id``). Columns: walk_id, channel, created (UTC), category,
            raw_category, severity, description, description_original, internal_note,
            photos (list of hashes), public_photos (list of public-copy hashes, same order),
            responsible, measure, deadline (date), state_label, state_type, closed_reason,
            non_public, version, source_id, content_hash, fixed_at (UTC), updated (UTC),
            geometry (points in the store CRS).
        """
        where = "" if include_hidden else ' WHERE "non_public" = 0'
        with self._reading() as con:
            rows = con.execute(f'SELECT * FROM "findings"{where} ORDER BY "created", "uuid"'
                               ).fetchall()
            public_of = dict(con.execute('SELECT "sha256", "public_sha256" FROM "photos"'
                                         ).fetchall())
        cols = [c for c in _FINDING_COLUMNS if c != "uuid"]
        data: dict[str, list[Any]] = {c: [] for c in cols}
        data["public_photos"] = []
        ids, geoms = [], []
        for r in rows:
            ids.append(r["uuid"])
            for c in cols:
                data[c].append(r[c])
            photos = json.loads(r["photos"] or "[]")
            data["photos"][-1] = photos
            data["public_photos"].append([public_of[p] for p in photos if p in public_of])
            geoms.append(from_gpkg_blob(r["geom"]))
        df = pd.DataFrame(data, index=pd.Index(ids, name="id", dtype=object))
        for c in ("created", "fixed_at", "updated"):
            df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601")
        # With pandas 3 a missing text is NaN (truthy), so test for a string explicitly.
        df["deadline"] = [date.fromisoformat(d) if isinstance(d, str) and d else None
                          for d in df["deadline"]]
        df["severity"] = df["severity"].astype("int64")
        df["version"] = df["version"].astype("int64")
        df["non_public"] = df["non_public"].astype(bool)
        for c in ("description", "internal_note", "measure", "closed_reason", "raw_category"):
            df[c] = df[c].fillna("")
        order = [*cols[:cols.index("photos") + 1], "public_photos",
                 *cols[cols.index("photos") + 1:]]
        return gpd.GeoDataFrame(df[order],
                                geometry=gpd.GeoSeries(geoms, index=df.index, crs=self.crs),
                                crs=self.crs)

    def _conflict(self, con: sqlite3.Connection, finding_id: str, expected: int,
                  current: int) -> ConflictError:
        last = con.execute('SELECT "author_role", "time" FROM "finding_updates" WHERE '
                           '"finding_uuid" = ? ORDER BY "fid" DESC LIMIT 1',
                           (finding_id,)).fetchone()
        role, when = (last[0], _parse_ts(last[1])) if last else (None, None)
        return ConflictError(finding_id, expected, current, role, when)

    def _edit(self, finding_id: str, expected_version: int, author_role: str, note: str,
              change: Callable[[Finding], Finding]) -> Finding:
        """Load, check the version, apply *change*, validate, write, append history."""
        def tx(con: sqlite3.Connection) -> Finding:
            current = self._load_finding(con, finding_id)
            if current.version != expected_version:
                raise self._conflict(con, finding_id, expected_version, current.version)
            new = change(current)
            new = dataclasses.replace(new, version=current.version + 1)
            new.validate(self.categories)
            self._check_photos_known(con, new)
            diffs = {}
            for f in dataclasses.fields(Finding):
                if f.name in ("version", "state", "fixed_at", "closed_reason"):
                    continue
                before, after = getattr(current, f.name), getattr(new, f.name)
                if before != after:
                    diffs[f.name] = {"before": _jsonable(before), "after": _jsonable(after)}
            if current.closed_reason != new.closed_reason:
                diffs["closed_reason"] = {"before": current.closed_reason,
                                          "after": new.closed_reason}
            entry = FindingUpdate(finding_id, _now(), author_role, current.state.label,
                                  new.state.label, note, diffs, new.version)
            row = self._finding_row(new)
            del row["uuid"]
            sets = ", ".join(f'"{c}" = ?' for c in row)
            cur = con.execute(f'UPDATE "findings" SET {sets} WHERE "uuid" = ? AND "version" = ?',
                              [*row.values(), finding_id, expected_version])
            if cur.rowcount != 1:  # cannot happen under BEGIN IMMEDIATE; belt and braces
                raise self._conflict(con, finding_id, expected_version, -1)
            self._insert_update(con, entry)
            return new
        return self._write(tx)

    def update_finding(self, finding_id: str, expected_version: int, *,
                       author_role: str = "staff", note: str = "",
                       **changes: Any) -> Finding:
        """Change editable fields of a finding (one transaction, one history entry).

        Parameters
        ----------
        finding_id : str
            UUID.
        expected_version : int
            The version the caller loaded.
        author_role : str
            Role of the editor (never a name).
        note : str
            Note for the history.
        **changes
            Fields from :data:`walks.model.EDITABLE_FIELDS`; ``deadline`` may be an ISO
            date string, ``responsible`` an alias such as ``"skolan/fastighet"``. Changing
            ``description`` (moderation) keeps the original in ``description_original``
            and in the history.

        Raises
        ------
        ConflictError
            Someone changed the finding since *expected_version* (message says who/when).
        ValidationError
            Unknown or non-editable fields, or invalid values; each names the field.
        KeyError
            Unknown finding.
        """
        src = f"finding {finding_id}"
        problems = [Problem(src, "", k, "this field cannot be edited here",
                            "use set_state() for the state; ids, versions and import keys "
                            f"never change; editable: {', '.join(EDITABLE_FIELDS)}",
                            column_label="field")
                    for k in changes if k not in EDITABLE_FIELDS]
        if problems:
            raise ValidationError(problems)
        values = dict(changes)
        if "deadline" in values and isinstance(values["deadline"], str):
            try:
                values["deadline"] = date.fromisoformat(values["deadline"]) \
                    if values["deadline"] else None
            except ValueError:
                raise ValidationError([Problem(src, "", "deadline",
                                               f"{changes['deadline']!r} is not a date",
                                               "give a date as YYYY-MM-DD",
                                               column_label="field")]) from None
        if "responsible" in values:
            values["responsible"] = normalize_responsible(values["responsible"])
        if "photos" in values:
            values["photos"] = tuple(values["photos"])
        return self._edit(finding_id, expected_version, author_role, note,
                          lambda f: dataclasses.replace(f, **values))

    def set_state(self, finding_id: str, expected_version: int, new_state: State | str,
                  note: str, author_role: str, reason: str | None = None,
                  fixed_at: datetime | None = None) -> Finding:
        """Change a finding's state (one transaction, one history entry).

        Parameters
        ----------
        new_state : State or str
            The new state or its label.
        note : str
            Note for the history (e.g. what was done).
        author_role : str
            Role (never a name).
        reason : str, optional
            Required for states that require a reason (``avslutad utan åtgärd``).
        fixed_at : datetime, optional
            When the fix was done, for fixes recorded afterwards (timezone-aware; default
            now). The history entry still carries the time it was recorded.

        Raises
        ------
        ValidationError
            Unknown state, a missing reason (field ``closed_reason``) or a naive or future
            ``fixed_at``.
        ConflictError
            The finding changed since *expected_version*.
        """
        state = finding_state(new_state)
        if fixed_at is not None and (fixed_at.tzinfo is None or fixed_at > _now()):
            raise ValidationError([Problem(
                f"finding {finding_id}", "", "fixed_at",
                "the fix time must be timezone-aware and not in the future",
                "give the date and time the fix was done, e.g. 2024-11-03T10:00+01:00",
                column_label="field")])
        if state.requires_reason and not (reason and reason.strip()):
            raise ValidationError([Problem(
                f"finding {finding_id}", "", "closed_reason",
                f"state {state.label!r} requires a reason",
                "say why the finding is closed without action (reason=...)",
                column_label="field")])
        now = _now()

        def change(f: Finding) -> Finding:
            return dataclasses.replace(
                f, state=state,
                closed_reason=(reason or "").strip() if state.requires_reason else "",
                fixed_at=(_ms(fixed_at) if fixed_at is not None else now)
                if state.is_fixed() else None)
        return self._edit(finding_id, expected_version, author_role, note, change)

    def history(self, finding_id: str) -> list[FindingUpdate]:
        """The finding's history, oldest first (append-only)."""
        with self._reading() as con:
            rows = con.execute(
                'SELECT "finding_uuid", "time", "author_role", "state_before", "state_after", '
                '"note", "changes", "version_after" FROM "finding_updates" '
                'WHERE "finding_uuid" = ? ORDER BY "fid"', (finding_id,)).fetchall()
        return [FindingUpdate(r[0], _parse_ts(r[1]) or _now(), r[2], r[3], r[4], r[5] or "",
                              json.loads(r[6] or "{}"), int(r[7])) for r in rows]

    # import -----------------------------------------------------------------------------
    def import_findings(self, gdf: gpd.GeoDataFrame, source: str, dry_run: bool = False, *,
                        author_role: str = "import",
                        on_transaction: Callable[[], None] | None = None) -> ImportReport:
        """Import findings from an importer's frame, all-or-nothing.

        Parameters
        ----------
        gdf : GeoDataFrame
            One row per finding; the index labels name rows in problems (importers set
            them to the source's row numbers or feature ids). Columns
            (:data:`IMPORT_COLUMNS`):

            - ``source_id`` (str or NA): id in the source (for de-duplication);
            - ``category`` (str): a category label; other text is mapped with
              :func:`walks.categories.map_category` (unknown → ``övrigt``, with a note);
            - ``raw_category`` (str): the source's own category text;
            - ``severity`` (Int64 1–3, NA → 2 with a note);
            - ``description``, ``internal_note`` (str, NA → empty);
            - ``created`` (timezone-aware Timestamp; NaT → now with a note; naive is an
              error);
            - ``photo_paths`` (list of absolute paths, may be empty);
            - ``walk_id`` (str or NA), ``channel`` (str, e.g. ``"import:qfield"``); at
              least one must be given;
            - ``geometry``: Points, in the store CRS (other CRSs are reprojected).

            Only ``category`` and ``geometry`` are required; missing optional columns
            take the NA defaults.
        source : str
            Source label for messages and the history (e.g. the file name).
        dry_run : bool
            Validate and report; write nothing (no rows, no photo files).
        author_role : str
            Role written to the history.
        on_transaction : callable, optional
            Test hook: called inside the open write transaction after all rows are
            written and before COMMIT.

        Returns
        -------
        ImportReport
            Counts and per-row outcome. Rows whose ``(source_id, content hash)`` is already
            in the store (or earlier in the frame) are duplicates and skipped, so
            re-importing the same file creates nothing.

        Raises
        ------
        ImportRejectedError
            (a :class:`ValidationError`) when any row has a problem and *dry_run* is False;
            nothing is written. Its ``report`` lists every problem by row.
        """
        prep = prepare_import(gdf, self.crs, source, self.categories, self.max_photo_bytes)

        def plan(con: sqlite3.Connection) -> _Plan:
            """Classify rows as new/duplicate against the store (inside the transaction)."""
            existing: dict[tuple[str | None, str], str] = {}
            by_source: dict[str, str] = {}
            hashes = [f.content_hash for _p, _r, f in prep.findings if f.content_hash]
            for i in range(0, len(hashes), 500):
                chunk = hashes[i:i + 500]
                for uid, sid, ch in con.execute(
                        'SELECT "uuid", "source_id", "content_hash" FROM "findings" WHERE '
                        f'"content_hash" IN ({", ".join("?" for _ in chunk)})', chunk):
                    existing[(sid, ch)] = uid
            sids = sorted({f.source_id for _p, _r, f in prep.findings if f.source_id})
            for i in range(0, len(sids), 500):
                chunk = sids[i:i + 500]
                for uid, sid in con.execute(
                        'SELECT "uuid", "source_id" FROM "findings" WHERE '
                        f'"source_id" IN ({", ".join("?" for _ in chunk)})', chunk):
                    by_source[sid] = uid
            rows: list[tuple[int, ImportRow]] = []
            new: list[Finding] = []
            changed: list[Problem] = []
            for pos, row, f in prep.findings:
                key = (f.source_id, f.content_hash or "")
                if key in existing:
                    rows.append((pos, ImportRow(row, "duplicate", existing[key], f.category)))
                    continue
                if f.source_id and f.source_id in by_source:
                    changed.append(Problem(
                        source, row, "source_id",
                        f"source id {f.source_id!r} was imported before with other content "
                        f"(finding {by_source[f.source_id]}); imported as a new finding",
                        "if it is the same finding, edit the old one and close this one"))
                existing[key] = f.id
                if f.source_id:
                    by_source.setdefault(f.source_id, f.id)
                rows.append((pos, ImportRow(row, "new", f.id, f.category)))
                new.append(f)
            return rows, new, changed

        def report(planned: _Plan) -> ImportReport:
            rows, _new, changed = planned
            errors = [(p, ImportRow(r, "error", None, c)) for p, r, c in prep.error_rows]
            ordered = [r for _p, r in sorted(rows + errors, key=lambda pr: pr[0])]
            return ImportReport(
                source=source, dry_run=dry_run,
                new=sum(r.action == "new" for r in ordered),
                duplicates=sum(r.action == "duplicate" for r in ordered),
                changed=len(changed), problems=tuple(prep.problems),
                notes=(*prep.notes, *changed), rows=tuple(ordered))

        if dry_run or prep.problems:
            with self._reading() as con:
                rep = report(plan(con))
            if prep.problems and not dry_run:
                logger.warning("import of %s rejected: %d problem(s)", source,
                               len(prep.problems))
                raise ImportRejectedError(rep)
            return rep

        # Photos first (content-addressed files: an aborted import leaves only harmless,
        # unreferenced files; the rows that reference them are all-or-nothing).
        stored: dict[str, StoredPhoto] = {}
        for f in [f for _p, _r, f in prep.findings]:
            for p in prep.photo_paths.get(f.id, []):
                sp = store_photo(p, self.photos_dir, self.crs, max_bytes=self.max_photo_bytes)
                stored[sp.sha256] = sp

        def tx(con: sqlite3.Connection) -> _Plan:
            planned = plan(con)
            new = planned[1]
            needed = {h for f in new for h in f.photos}
            for h in needed:
                self._insert_photo(con, stored[h])
            now = _now()
            for f in new:
                self._insert_finding(con, f)
                self._insert_update(con, FindingUpdate(
                    f.id, now, author_role, None, NY.label, f"importerad från {source}", {}, 1))
            if on_transaction is not None:
                on_transaction()
            return planned
        rep = report(self._write(tx))
        logger.info("%s", rep.summary())
        return rep

    # photos -----------------------------------------------------------------------------
    def _insert_photo(self, con: sqlite3.Connection, sp: StoredPhoto) -> None:
        lonlat = sp.info.gps_lonlat
        con.execute(
            'INSERT OR IGNORE INTO "photos" ("sha256", "format", "ext", "size_bytes", "width", '
            '"height", "public_sha256", "gps_lon", "gps_lat", "created") '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sp.sha256, sp.info.format, sp.info.ext, sp.info.size_bytes, sp.info.width,
             sp.info.height, sp.public_sha256, lonlat[0] if lonlat else None,
             lonlat[1] if lonlat else None, _ts(_now())))

    def add_photo(self, data: bytes | str | Path, declared_name: str | None = None,
                  declared_type: str | None = None) -> StoredPhoto:
        """Check and store a photo under its content hash (see :mod:`walks.photos`).

        Attach it to a finding with ``update_finding(..., photos=[*old, photo.sha256])``
        or by passing the hash in a new :class:`Finding`. ``proposed_location`` is the
        EXIF GPS position in the store CRS, if any.

        Raises
        ------
        PhotoError
            Too large, wrong or unreadable type.
        """
        sp = store_photo(data, self.photos_dir, self.crs, declared_name, declared_type,
                         max_bytes=self.max_photo_bytes)
        self._write(lambda con: self._insert_photo(con, sp))
        return sp

    def photo_file(self, sha256: str, public: bool = False) -> Path:
        """Path of a stored photo: the original by its hash, or the public copy by its
        public hash (``public=True``).

        Raises
        ------
        KeyError
            Unknown hash.
        """
        column = "public_sha256" if public else "sha256"
        with self._reading() as con:
            r = con.execute(f'SELECT "sha256", "ext", "public_sha256" FROM "photos" '
                            f'WHERE "{column}" = ?', (sha256,)).fetchone()
        if r is None:
            raise KeyError(f"no photo {sha256!r} in {self.path}")
        return photo_path(self.photos_dir, r[2], ".jpg", public=True) if public else \
            photo_path(self.photos_dir, r[0], r[1])
