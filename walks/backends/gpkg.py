"""The GeoPackage backend: one ``.gpkg`` file that QGIS opens directly.

``findings`` is a point layer, ``walks`` a line layer, ``finding_updates``, ``photos`` and
``trygga_meta`` are attribute tables; photo bytes live in a folder next to the file.

How the file is written
-----------------------
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
* A unique index on ``(ifnull(source_id, ''), content_hash)`` makes re-import dedupe a
  constraint, not a check.

Times are stored as UTC ISO 8601 text (``2025-10-15T16:02:00.000Z``, the GeoPackage
DATETIME form). Coordinates are in the store CRS, metres.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import sqlite3
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from layers._common import Problem, ValidationError
from walks.backends.base import (
    SCHEMA_VERSION,
    PhotoBlobs,
    ProcessConnection,
    StoreError,
    iter_chunks,
)
from walks.photos import photo_path

logger = logging.getLogger(__name__)

T = TypeVar("T")

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


def ts_text(value: datetime | None) -> str | None:
    """A UTC time as GeoPackage DATETIME text (``2025-10-15T16:02:00.000Z``)."""
    if value is None:
        return None
    v = value.astimezone(UTC)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"


def parse_ts(text: str | None) -> datetime | None:
    """GeoPackage DATETIME text → timezone-aware UTC datetime (None for empty)."""
    if text is None or text == "":
        return None
    dt = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


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
    "state_label": _s, "state_type": _s, "closed_reason": _s, "public_note": _s,
    "non_public": _b, "moderation": _s, "version": _i, "source_id": _s, "content_hash": _s,
    "fixed_at": _dt, "created_by": _s, "updated": _dt, "luminaire_id": _s,
    "not_fixed_reports": _i, "state_changed": _dt,
}
_WALKS_SCHEMA: dict[str, Callable[[], pd.Series]] = {
    "walk_id": _s, "title": _s, "start": _dt, "light": _s, "area": _s, "school": _s,
    "organiser": _s, "participants": _s, "stops": _s, "state_label": _s, "state_type": _s,
    "version": _i, "created": _dt, "updated": _dt, "created_by": _s, "updated_by": _s,
    "invited": _s, "focus": _s, "premeeting_at": _dt, "feedback_at": _dt,
    "protocol_published_at": _dt, "follows": _s,
}
_UPDATES_SCHEMA: dict[str, Callable[[], pd.Series]] = {
    "finding_uuid": _s, "time": _dt, "author_role": _s, "author_id": _s, "state_before": _s,
    "state_after": _s, "note": _s, "changes": _s, "version_after": _i,
}
_PHOTOS_SCHEMA: dict[str, Callable[[], pd.Series]] = {
    "sha256": _s, "format": _s, "ext": _s, "size_bytes": _i, "width": _i, "height": _i,
    "public_sha256": _s, "gps_lon": _f, "gps_lat": _f, "created": _dt,
}
_META_SCHEMA: dict[str, Callable[[], pd.Series]] = {"key": _s, "value": _s}

_IMPORT_KEY_INDEX = (
    'CREATE UNIQUE INDEX IF NOT EXISTS "findings_import_key_idx" ON "findings" '
    '(ifnull("source_id", \'\'), "content_hash") WHERE "content_hash" IS NOT NULL')

_EXTRA_DDL = (
    'CREATE UNIQUE INDEX IF NOT EXISTS "findings_uuid_idx" ON "findings" ("uuid")',
    'CREATE INDEX IF NOT EXISTS "findings_source_idx" ON "findings" ("source_id", '
    '"content_hash")',
    'CREATE INDEX IF NOT EXISTS "findings_hash_idx" ON "findings" ("content_hash")',
    _IMPORT_KEY_INDEX,
    'CREATE UNIQUE INDEX IF NOT EXISTS "walks_walk_id_idx" ON "walks" ("walk_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "photos_sha256_idx" ON "photos" ("sha256")',
    'CREATE INDEX IF NOT EXISTS "photos_public_idx" ON "photos" ("public_sha256")',
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

#: Schema 3: documents (the promise logs as CSV text), a GeoPackage attributes table.
_DOCUMENTS_DDL = (
    'CREATE TABLE IF NOT EXISTS "documents" ("fid" INTEGER PRIMARY KEY AUTOINCREMENT, '
    '"name" TEXT NOT NULL UNIQUE, "content" TEXT NOT NULL, "updated" DATETIME, '
    '"updated_by" TEXT)',
    'INSERT OR IGNORE INTO "gpkg_contents" ("table_name", "data_type", "identifier", '
    '"last_change") VALUES (\'documents\', \'attributes\', \'documents\', '
    "strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
)

#: Columns added by each schema version (table, column, SQL type) for ``upgrade``.
_ADDED: dict[int, tuple[tuple[str, str, str], ...]] = {
    2: (("findings", "public_note", "TEXT"), ("findings", "moderation", "TEXT"),
        ("findings", "created_by", "TEXT"), ("findings", "luminaire_id", "TEXT"),
        ("findings", "not_fixed_reports", "INTEGER"), ("findings", "state_changed", "DATETIME"),
        ("finding_updates", "author_id", "TEXT"),
        ("walks", "created_by", "TEXT"), ("walks", "updated_by", "TEXT"),
        ("walks", "invited", "TEXT"), ("walks", "focus", "TEXT"),
        ("walks", "premeeting_at", "DATETIME"), ("walks", "feedback_at", "DATETIME"),
        ("walks", "protocol_published_at", "DATETIME"), ("walks", "follows", "TEXT")),
}


def _empty_frame(schema: dict[str, Callable[[], pd.Series]]) -> pd.DataFrame:
    return pd.DataFrame({k: f() for k, f in schema.items()})


# --------------------------------------------------------------------------------------
# Photo bytes in a folder
# --------------------------------------------------------------------------------------

class FolderBlobs:
    """Photo bytes in a folder: originals ``<dir>/<sha256><ext>``, public copies
    ``<dir>/public/<sha256>.jpg`` (see :func:`walks.photos.photo_path`).

    Also used with PostGIS when the profile names a shared photos folder.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def put(self, sha256: str, ext: str, data: bytes, public: bool = False) -> None:
        from layers.io import write_atomic

        path = photo_path(self.folder, sha256, ext, public=public)
        if not path.exists():
            write_atomic(path, data, mode=0o600)

    def get(self, sha256: str, ext: str, public: bool = False) -> bytes:
        path = photo_path(self.folder, sha256, ext, public=public)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise KeyError(f"photo file {path} is missing") from None

    def local_path(self, sha256: str, ext: str, public: bool = False) -> Path:
        return photo_path(self.folder, sha256, ext, public=public)


# --------------------------------------------------------------------------------------
# Row conversion
# --------------------------------------------------------------------------------------

_FINDING_TIMES = ("created", "fixed_at", "updated", "state_changed")


def _finding_to_row(r: dict[str, Any], srs_id: int) -> dict[str, Any]:
    row = {k: r.get(k) for k in _FINDINGS_SCHEMA}
    for k in _FINDING_TIMES:
        row[k] = ts_text(r.get(k))
    row["photos"] = json.dumps(list(r.get("photos") or []))
    d = r.get("deadline")
    row["deadline"] = d.isoformat() if d else None
    row["non_public"] = int(bool(r.get("non_public")))
    row["geom"] = gpkg_blob(r.get("geometry"), srs_id)
    return row


def _row_to_finding(r: sqlite3.Row) -> dict[str, Any]:
    out = {k: r[k] for k in _FINDINGS_SCHEMA}
    for k in _FINDING_TIMES:
        out[k] = parse_ts(r[k])
    out["photos"] = json.loads(r["photos"] or "[]")
    out["deadline"] = date.fromisoformat(r["deadline"]) if r["deadline"] else None
    out["non_public"] = bool(r["non_public"])
    out["not_fixed_reports"] = int(r["not_fixed_reports"] or 0)
    out["severity"] = int(r["severity"])
    out["version"] = int(r["version"])
    out["geometry"] = from_gpkg_blob(r["geom"])
    return out


_WALK_TIMES = ("start", "created", "updated", "premeeting_at", "feedback_at",
               "protocol_published_at")


def _walk_to_row(r: dict[str, Any], srs_id: int) -> dict[str, Any]:
    row = {k: r.get(k) for k in _WALKS_SCHEMA}
    for k in _WALK_TIMES:
        row[k] = ts_text(r.get(k))
    row["participants"] = json.dumps(dict(r.get("participants") or {}), ensure_ascii=False)
    row["invited"] = json.dumps(list(r.get("invited") or []), ensure_ascii=False)
    row["stops"] = json.dumps(list(r.get("stops") or []), ensure_ascii=False)
    row["geom"] = gpkg_blob(r.get("geometry"), srs_id)
    return row


def _row_to_walk(r: sqlite3.Row) -> dict[str, Any]:
    out = {k: r[k] for k in _WALKS_SCHEMA}
    for k in _WALK_TIMES:
        out[k] = parse_ts(r[k])
    out["participants"] = json.loads(r["participants"] or "{}")
    out["invited"] = json.loads(r["invited"] or "[]")
    out["stops"] = json.loads(r["stops"] or "[]")
    out["version"] = int(r["version"])
    out["geometry"] = from_gpkg_blob(r["geom"])
    return out


def _insert(con: sqlite3.Connection, table: str, row: dict[str, Any], verb: str = "INSERT"
            ) -> int:
    cols = ", ".join(f'"{c}"' for c in row)
    cur = con.execute(f'{verb} INTO "{table}" ({cols}) VALUES '
                      f'({", ".join("?" for _ in row)})', list(row.values()))
    return cur.rowcount


class _GpkgTx:
    def __init__(self, con: sqlite3.Connection, srs_id: int):
        self.con = con
        self.srs_id = srs_id

    # findings
    def finding(self, uuid: str) -> dict[str, Any] | None:
        r = self.con.execute('SELECT * FROM "findings" WHERE "uuid" = ?', (uuid,)).fetchone()
        return None if r is None else _row_to_finding(r)

    def finding_records(self, include_hidden: bool = True) -> list[dict[str, Any]]:
        where = "" if include_hidden else ' WHERE "non_public" = 0'
        rows = self.con.execute(f'SELECT * FROM "findings"{where} ORDER BY "created", "uuid"')
        return [_row_to_finding(r) for r in rows]

    def insert_findings(self, records: Sequence[dict[str, Any]]) -> set[str]:
        done: set[str] = set()
        for r in records:
            if self.con.execute('SELECT 1 FROM "findings" WHERE "uuid" = ?',
                                (r["uuid"],)).fetchone():
                continue
            if _insert(self.con, "findings", _finding_to_row(r, self.srs_id),
                       "INSERT OR IGNORE") == 1:
                done.add(r["uuid"])
        return done

    def update_finding(self, record: dict[str, Any], expected_version: int) -> bool:
        row = _finding_to_row(record, self.srs_id)
        uuid = row.pop("uuid")
        sets = ", ".join(f'"{c}" = ?' for c in row)
        cur = self.con.execute(f'UPDATE "findings" SET {sets} WHERE "uuid" = ? AND '
                               '"version" = ?', [*row.values(), uuid, expected_version])
        return cur.rowcount == 1

    def import_keys(self, hashes: Sequence[str]) -> dict[tuple[str | None, str], str]:
        out: dict[tuple[str | None, str], str] = {}
        for chunk in iter_chunks(list(hashes)):
            for uid, sid, ch in self.con.execute(
                    'SELECT "uuid", "source_id", "content_hash" FROM "findings" WHERE '
                    f'"content_hash" IN ({", ".join("?" for _ in chunk)})', list(chunk)):
                out[(sid, ch)] = uid
        return out

    def source_ids(self, source_ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in iter_chunks(list(source_ids)):
            for uid, sid in self.con.execute(
                    'SELECT "uuid", "source_id" FROM "findings" WHERE '
                    f'"source_id" IN ({", ".join("?" for _ in chunk)})', list(chunk)):
                out[sid] = uid
        return out

    # history
    def append_updates(self, records: Sequence[dict[str, Any]]) -> None:
        self.con.executemany(
            'INSERT INTO "finding_updates" ("finding_uuid", "time", "author_role", '
            '"author_id", "state_before", "state_after", "note", "changes", '
            '"version_after") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [(u["finding_uuid"], ts_text(u["time"]), u["author_role"], u.get("author_id"),
              u["state_before"], u["state_after"], u["note"],
              json.dumps(dict(u["changes"]), ensure_ascii=False), u["version_after"])
             for u in records])

    def updates(self, uuid: str | None = None) -> list[dict[str, Any]]:
        where, args = ('WHERE "finding_uuid" = ? ', (uuid,)) if uuid is not None else ("", ())
        rows = self.con.execute(
            'SELECT "finding_uuid", "time", "author_role", "author_id", "state_before", '
            f'"state_after", "note", "changes", "version_after" FROM "finding_updates" {where}'
            'ORDER BY "fid"', args).fetchall()
        return [{"finding_uuid": r[0], "time": parse_ts(r[1]), "author_role": r[2],
                 "author_id": r[3], "state_before": r[4], "state_after": r[5],
                 "note": r[6] or "", "changes": json.loads(r[7] or "{}"),
                 "version_after": int(r[8])} for r in rows]

    # walks
    def walk(self, walk_id: str) -> dict[str, Any] | None:
        r = self.con.execute('SELECT * FROM "walks" WHERE "walk_id" = ?', (walk_id,)
                             ).fetchone()
        return None if r is None else _row_to_walk(r)

    def walk_records(self) -> list[dict[str, Any]]:
        return [_row_to_walk(r) for r in self.con.execute(
            'SELECT * FROM "walks" ORDER BY "start", "walk_id"')]

    def insert_walk(self, record: dict[str, Any]) -> bool:
        if self.con.execute('SELECT 1 FROM "walks" WHERE "walk_id" = ?',
                            (record["walk_id"],)).fetchone():
            return False
        return _insert(self.con, "walks", _walk_to_row(record, self.srs_id)) == 1

    def update_walk(self, record: dict[str, Any], expected_version: int) -> bool:
        row = _walk_to_row(record, self.srs_id)
        wid = row.pop("walk_id")
        sets = ", ".join(f'"{c}" = ?' for c in row)
        cur = self.con.execute(f'UPDATE "walks" SET {sets} WHERE "walk_id" = ? AND '
                               '"version" = ?', [*row.values(), wid, expected_version])
        return cur.rowcount == 1

    # photos
    def insert_photos(self, records: Sequence[dict[str, Any]]) -> None:
        for r in records:
            row = {k: r.get(k) for k in _PHOTOS_SCHEMA}
            row["created"] = ts_text(r.get("created"))
            _insert(self.con, "photos", row, "INSERT OR IGNORE")

    def photo(self, sha256: str, public: bool = False) -> dict[str, Any] | None:
        column = "public_sha256" if public else "sha256"
        r = self.con.execute(f'SELECT * FROM "photos" WHERE "{column}" = ? LIMIT 1',
                             (sha256,)).fetchone()
        if r is None:
            return None
        out = {k: r[k] for k in _PHOTOS_SCHEMA}
        out["created"] = parse_ts(r["created"])
        return out

    def photo_records(self) -> list[dict[str, Any]]:
        rows = self.con.execute('SELECT * FROM "photos" ORDER BY "sha256"').fetchall()
        return [{**{k: r[k] for k in _PHOTOS_SCHEMA}, "created": parse_ts(r["created"])}
                for r in rows]

    # documents
    def document(self, name: str, lock: bool = False) -> dict[str, Any] | None:
        # A write is BEGIN IMMEDIATE: one writer at a time already, nothing to lock.
        r = self.con.execute('SELECT "name", "content", "updated", "updated_by" FROM '
                             '"documents" WHERE "name" = ?', (name,)).fetchone()
        if r is None:
            return None
        return {"name": r["name"], "content": r["content"], "updated": parse_ts(r["updated"]),
                "updated_by": r["updated_by"]}

    def put_document(self, record: dict[str, Any]) -> None:
        self.con.execute('INSERT INTO "documents" ("name", "content", "updated", "updated_by") '
                         'VALUES (?, ?, ?, ?) ON CONFLICT ("name") DO UPDATE SET '
                         '"content" = excluded."content", "updated" = excluded."updated", '
                         '"updated_by" = excluded."updated_by"',
                         (record["name"], record["content"], ts_text(record.get("updated")),
                          record.get("updated_by")))

    def document_records(self) -> list[dict[str, Any]]:
        rows = self.con.execute('SELECT "name" FROM "documents" ORDER BY "name"').fetchall()
        return [d for r in rows if (d := self.document(r["name"])) is not None]

    def known_photos(self, hashes: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for chunk in iter_chunks(list(hashes)):
            out.update(r[0] for r in self.con.execute(
                f'SELECT "sha256" FROM "photos" WHERE "sha256" IN '
                f'({", ".join("?" for _ in chunk)})', list(chunk)))
        return out


class GeoPackageBackend(ProcessConnection[sqlite3.Connection]):
    """Findings in one GeoPackage file, photos in a folder next to it.

    Parameters
    ----------
    path : path
        The ``.gpkg`` file; created with all tables if missing (unless *create* is False).
    crs : str
        The store CRS, the profile's metric CRS (e.g. ``"EPSG:3007"``). An existing store
        in another CRS is an error.
    photos_dir : path, optional
        Photos folder; default ``photos`` next to the store file.
    busy_timeout_s : float
        How long a write waits for another writer's lock before retrying.
    create : bool
        Create a missing file (default True).

    Notes
    -----
    One SQLite connection per process (opened on first use, guarded by a lock so threads
    can share the object). It can be pickled or forked: another process opens its own.
    """

    def __init__(self, path: str | Path, crs: str, *, photos_dir: str | Path | None = None,
                 busy_timeout_s: float = 30.0, create: bool = True):
        self.path = Path(path)
        self.crs = CRS.from_user_input(crs).to_string()
        self.label = str(self.path)
        self.photos_dir = Path(photos_dir) if photos_dir else self.path.parent / "photos"
        self.photos: PhotoBlobs = FolderBlobs(self.photos_dir)
        self.busy_timeout_s = float(busy_timeout_s)
        self._init_connection()
        if not self.path.exists():
            if not create:
                raise StoreError(str(self.path), "the findings store file does not exist",
                                 "check the path, or run `trygga store init` to create it")
            self._create()
        self.srs_id = self._check_file()

    def __repr__(self) -> str:
        return f"GeoPackageBackend({str(self.path)!r}, {self.crs!r})"

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

    @contextlib.contextmanager
    def reading(self) -> Iterator[_GpkgTx]:
        with self._lock:
            con = self._connection()
            con.execute("BEGIN")  # one consistent snapshot for multi-statement reads
            try:
                yield _GpkgTx(con, self.srs_id)
            finally:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")

    def write(self, fn: Callable[[_GpkgTx], T], max_attempts: int = 50) -> T:
        """Run *fn* in one ``BEGIN IMMEDIATE`` transaction; retry on SQLITE_BUSY."""
        delay = 0.005
        with self._lock:
            for attempt in range(1, max_attempts + 1):
                con = self._connection()
                try:
                    con.execute("BEGIN IMMEDIATE")
                    result = fn(_GpkgTx(con, self.srs_id))
                    con.execute("UPDATE gpkg_contents SET last_change = "
                                "strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name IN "
                                "('findings','walks','finding_updates','photos','documents')")
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

    # schema ---------------------------------------------------------------------------
    def schema_version(self) -> int | None:
        with self.reading() as tx:
            r = tx.con.execute('SELECT "value" FROM "trygga_meta" WHERE "key" = '
                               "'schema_version'").fetchone()
        return int(r[0]) if r else None

    def init(self) -> None:
        """Nothing to do: the file was created with every table when it was opened."""

    def upgrade(self) -> int:
        """Add the columns and indexes of newer schema versions; returns the old version."""
        before = self.schema_version() or 1

        def tx(t: _GpkgTx) -> None:
            for version in range(before + 1, SCHEMA_VERSION + 1):
                for table, column, sqltype in _ADDED.get(version, ()):
                    have = {r[1] for r in t.con.execute(f'PRAGMA table_info("{table}")')}
                    if column not in have:
                        t.con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {sqltype}')
            # Everything stored before moderation existed was already public.
            t.con.execute('UPDATE "findings" SET "moderation" = \'approved\' WHERE '
                          '"moderation" IS NULL')
            t.con.execute('UPDATE "findings" SET "not_fixed_reports" = 0 WHERE '
                          '"not_fixed_reports" IS NULL')
            t.con.execute('UPDATE "findings" SET "state_changed" = coalesce("fixed_at", '
                          '"created") WHERE "state_changed" IS NULL')
            for ddl in (*_EXTRA_DDL, *_DOCUMENTS_DDL):
                t.con.execute(ddl)
            t.con.execute('UPDATE "trygga_meta" SET "value" = ? WHERE "key" = '
                          "'schema_version'", (str(SCHEMA_VERSION),))
        if before < SCHEMA_VERSION:
            self.write(tx)
            logger.info("upgraded %s from schema %d to %d", self.path, before, SCHEMA_VERSION)
        return before

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
                for ddl in (*_EXTRA_DDL, *_DOCUMENTS_DDL):
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
            raise ValidationError([Problem(
                src, "", "", f"not a valid GeoPackage: {str(exc)[:120]}",
                "point the store at a .gpkg findings store made by trygga, or restore the "
                "file from a backup")]) from None
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
