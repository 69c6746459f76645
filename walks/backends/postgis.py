"""The PostGIS backend: one PostgreSQL + PostGIS database shared by every app instance,
staff member and command line of a kommun.

Tables (in the schema ``trygga`` by default; QGIS lists ``findings`` and ``walks`` as layers):

* ``findings``: ``fid`` bigserial primary key, ``uuid`` unique, ``geom geometry(Point,
  SRID)`` with a GiST index, times as ``timestamptz`` (UTC), a unique index on
  ``(coalesce(source_id, ''), content_hash)`` so concurrent imports of one file cannot
  both insert a row;
* ``walks``: ``geom geometry(LineString, SRID)``, GiST index;
* ``finding_updates``: the history; triggers refuse UPDATE, DELETE and TRUNCATE
  (append-only);
* ``photos`` (metadata) and ``photo_blobs`` (the bytes, unless the profile names a shared
  photos folder): every server process sees the same photos;
* ``trygga_meta``: schema version and CRS.

``trygga store init`` creates them (and the PostGIS extension if allowed); ``trygga store
upgrade`` upgrades an older schema. Writes are single transactions at READ COMMITTED: an
edit is ``UPDATE … WHERE uuid = … AND version = …``, so of two writers with the same
version the second finds no row and gets a conflict, never an overwrite.

Connection settings never hold a password: use ``PGPASSWORD``, ``~/.pgpass`` or a libpq
service file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import shapely
from pyproj import CRS

from walks.backends.base import (
    DOCUMENT_FIELDS,
    FINDING_FIELDS,
    PHOTO_FIELDS,
    SCHEMA_VERSION,
    WALK_FIELDS,
    PhotoBlobs,
    ProcessConnection,
    StoreError,
)

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

T = TypeVar("T")

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_FINDING_COLS = [c for c in FINDING_FIELDS if c != "geometry"]
_WALK_COLS = [c for c in WALK_FIELDS if c != "geometry"]
_JSON_FINDING = {"photos"}
_JSON_WALK = {"participants", "stops", "invited"}


def _ddl(s: str, srid: int) -> list[str]:
    """The statements that create the current schema in schema *s*."""
    return [
        f'CREATE SCHEMA IF NOT EXISTS "{s}"',
        f'CREATE TABLE IF NOT EXISTS "{s}".trygga_meta (key text PRIMARY KEY, '
        "value text NOT NULL)",
        f'''CREATE TABLE IF NOT EXISTS "{s}".findings (
            fid bigserial PRIMARY KEY,
            uuid text NOT NULL UNIQUE,
            walk_id text, channel text,
            created timestamptz NOT NULL,
            category text NOT NULL, raw_category text, severity integer NOT NULL,
            description text, description_original text, internal_note text,
            photos jsonb NOT NULL DEFAULT '[]'::jsonb,
            responsible text, measure text, deadline date,
            state_label text NOT NULL, state_type text NOT NULL,
            closed_reason text, public_note text,
            non_public boolean NOT NULL DEFAULT false,
            moderation text NOT NULL DEFAULT 'pending'
                CHECK (moderation IN ('pending', 'approved', 'rejected')),
            version integer NOT NULL CHECK (version >= 1),
            source_id text, content_hash text,
            fixed_at timestamptz, created_by text,
            updated timestamptz NOT NULL,
            luminaire_id text,
            not_fixed_reports integer NOT NULL DEFAULT 0,
            state_changed timestamptz,
            geom geometry(Point, {srid}) NOT NULL)''',
        f'CREATE INDEX IF NOT EXISTS findings_geom_idx ON "{s}".findings USING gist (geom)',
        f'CREATE UNIQUE INDEX IF NOT EXISTS findings_import_key_idx ON "{s}".findings '
        "((coalesce(source_id, '')), content_hash) WHERE content_hash IS NOT NULL",
        f'CREATE INDEX IF NOT EXISTS findings_source_idx ON "{s}".findings (source_id)',
        f'CREATE INDEX IF NOT EXISTS findings_hash_idx ON "{s}".findings (content_hash)',
        f'CREATE INDEX IF NOT EXISTS findings_created_idx ON "{s}".findings (created, uuid)',
        f'CREATE INDEX IF NOT EXISTS findings_luminaire_idx ON "{s}".findings (luminaire_id)',
        f'''CREATE TABLE IF NOT EXISTS "{s}".finding_updates (
            fid bigserial PRIMARY KEY,
            finding_uuid text NOT NULL REFERENCES "{s}".findings (uuid),
            time timestamptz NOT NULL,
            author_role text NOT NULL, author_id text,
            state_before text, state_after text NOT NULL,
            note text, changes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            version_after integer NOT NULL)''',
        f'CREATE INDEX IF NOT EXISTS finding_updates_uuid_idx ON "{s}".finding_updates '
        "(finding_uuid)",
        f'''CREATE OR REPLACE FUNCTION "{s}".finding_updates_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'finding_updates is append-only: history is never changed '
                'or deleted';
            END $$''',
        f'DROP TRIGGER IF EXISTS finding_updates_append_only ON "{s}".finding_updates',
        f'CREATE TRIGGER finding_updates_append_only BEFORE UPDATE OR DELETE ON '
        f'"{s}".finding_updates FOR EACH ROW EXECUTE FUNCTION '
        f'"{s}".finding_updates_append_only()',
        f'DROP TRIGGER IF EXISTS finding_updates_no_truncate ON "{s}".finding_updates',
        f'CREATE TRIGGER finding_updates_no_truncate BEFORE TRUNCATE ON '
        f'"{s}".finding_updates FOR EACH STATEMENT EXECUTE FUNCTION '
        f'"{s}".finding_updates_append_only()',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON "{s}".finding_updates FROM PUBLIC',
        f'''CREATE TABLE IF NOT EXISTS "{s}".walks (
            fid bigserial PRIMARY KEY,
            walk_id text NOT NULL UNIQUE,
            title text, start timestamptz NOT NULL, light text, area text, school text,
            organiser text, participants jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            stops jsonb NOT NULL DEFAULT '[]'::jsonb,
            state_label text NOT NULL, state_type text NOT NULL,
            version integer NOT NULL CHECK (version >= 1),
            created timestamptz, updated timestamptz, created_by text, updated_by text,
            invited jsonb NOT NULL DEFAULT '[]'::jsonb, focus text,
            premeeting_at timestamptz, feedback_at timestamptz,
            protocol_published_at timestamptz, follows text,
            geom geometry(LineString, {srid}))''',
        f'CREATE INDEX IF NOT EXISTS walks_geom_idx ON "{s}".walks USING gist (geom)',
        f'''CREATE TABLE IF NOT EXISTS "{s}".photos (
            fid bigserial PRIMARY KEY,
            sha256 text NOT NULL UNIQUE, format text, ext text, size_bytes bigint,
            width integer, height integer, public_sha256 text,
            gps_lon double precision, gps_lat double precision, created timestamptz)''',
        f'CREATE INDEX IF NOT EXISTS photos_public_idx ON "{s}".photos (public_sha256)',
        f'''CREATE TABLE IF NOT EXISTS "{s}".photo_blobs (
            sha256 text NOT NULL, public boolean NOT NULL, data bytea NOT NULL,
            PRIMARY KEY (sha256, public))''',
        _documents_ddl(s),
    ]


def _documents_ddl(s: str) -> str:
    """Schema 3: documents (the promise logs as CSV text), shared by every app instance."""
    return (f'CREATE TABLE IF NOT EXISTS "{s}".documents (name text PRIMARY KEY, '
            "content text NOT NULL, updated timestamptz, updated_by text)")


#: Statements that upgrade schema version N-1 to N, for schema *s* (2 is the first
#: PostGIS one).
_UPGRADES: dict[int, Callable[[str], list[str]]] = {3: lambda s: [_documents_ddl(s)]}


def _safe_dsn(target: str) -> tuple[str, str]:
    """The libpq conninfo for *target* and a label without secrets.

    Raises
    ------
    StoreError
        A password is part of the setting.
    """
    text = target.strip()
    if text.lower().startswith("pg:"):
        rest = text[3:]
        return rest, "PostgreSQL (PG* environment variables)" + (f" {rest}" if rest else "")
    if text.lower().startswith(("postgresql://", "postgres://")):
        parts = urlsplit(text)
        if parts.password or "password=" in parts.query.lower():
            raise StoreError(
                "store", "the store address holds a password",
                "remove it from the profile or TRYGGA_STORE; give the password with "
                "PGPASSWORD, ~/.pgpass or a libpq service file")
        host = parts.hostname or os.environ.get("PGHOST", "localhost")
        port = parts.port or os.environ.get("PGPORT", "5432")
        user = f"{parts.username}@" if parts.username else ""
        db = parts.path.lstrip("/") or os.environ.get("PGDATABASE", "")
        return text, f"postgresql://{user}{host}:{port}/{db}"
    if re.search(r"(^|\s)password\s*=", text, re.IGNORECASE):
        raise StoreError("store", "the store setting holds a password",
                         "give the password with PGPASSWORD, ~/.pgpass or a service file")
    return text, f"PostgreSQL ({text})"


class DatabaseBlobs:
    """Photo bytes in the ``photo_blobs`` table (shared by every server process)."""

    def __init__(self, backend: PostGISBackend):
        self._b = backend

    def put(self, sha256: str, ext: str, data: bytes, public: bool = False) -> None:
        def tx(t: _PgTx) -> None:
            t.cur.execute(f'INSERT INTO "{t.s}".photo_blobs (sha256, public, data) VALUES '
                          "(%s, %s, %s) ON CONFLICT DO NOTHING", (sha256, public, data))
        self._b.write(tx)

    def get(self, sha256: str, ext: str, public: bool = False) -> bytes:
        with self._b.reading() as t:
            t.cur.execute(f'SELECT data FROM "{t.s}".photo_blobs WHERE sha256 = %s AND '
                          "public = %s", (sha256, public))
            row = t.cur.fetchone()
        if row is None:
            raise KeyError(f"photo {sha256} is not in the database")
        return bytes(row["data"])

    def local_path(self, sha256: str, ext: str, public: bool = False) -> None:
        return None


class _PgTx:
    def __init__(self, cur: psycopg.Cursor[Any], schema: str, srid: int):
        self.cur = cur
        self.s = schema
        self.srid = srid

    # conversion ----------------------------------------------------------------------
    def _finding_params(self, r: dict[str, Any]) -> list[Any]:
        from psycopg.types.json import Jsonb

        vals = [Jsonb(list(r.get(c) or [])) if c in _JSON_FINDING else r.get(c)
                for c in _FINDING_COLS]
        return [*vals, shapely.to_wkb(r["geometry"], output_dimension=2)]

    @staticmethod
    def _finding(row: dict[str, Any]) -> dict[str, Any]:
        out = {c: row[c] for c in _FINDING_COLS}
        out["photos"] = list(row["photos"] or [])
        out["geometry"] = shapely.from_wkb(bytes(row["wkb"]))
        return out

    def _walk_params(self, r: dict[str, Any]) -> list[Any]:
        from psycopg.types.json import Jsonb

        vals = [Jsonb(r.get(c) if r.get(c) is not None else ({} if c == "participants"
                                                            else []))
                if c in _JSON_WALK else r.get(c) for c in _WALK_COLS]
        vals[_WALK_COLS.index("invited")] = Jsonb(list(r.get("invited") or []))
        g = r.get("geometry")
        return [*vals, None if g is None else shapely.to_wkb(g, output_dimension=2)]

    @staticmethod
    def _walk(row: dict[str, Any]) -> dict[str, Any]:
        out = {c: row[c] for c in _WALK_COLS}
        out["participants"] = dict(row["participants"] or {})
        out["stops"] = list(row["stops"] or [])
        out["invited"] = list(row["invited"] or [])
        out["geometry"] = None if row["wkb"] is None else shapely.from_wkb(bytes(row["wkb"]))
        return out

    def _select_findings(self, where: str = "", args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cols = ", ".join(_FINDING_COLS)
        self.cur.execute(f'SELECT {cols}, ST_AsBinary(geom) AS wkb FROM "{self.s}".findings '
                         f"{where}", args)
        return [self._finding(r) for r in self.cur.fetchall()]

    # findings --------------------------------------------------------------------------
    def finding(self, uuid: str) -> dict[str, Any] | None:
        rows = self._select_findings("WHERE uuid = %s", (uuid,))
        return rows[0] if rows else None

    def finding_records(self, include_hidden: bool = True) -> list[dict[str, Any]]:
        where = "" if include_hidden else "WHERE NOT non_public "
        return self._select_findings(where + "ORDER BY created, uuid")

    def insert_findings(self, records: Sequence[dict[str, Any]]) -> set[str]:
        if not records:
            return set()
        cols = ", ".join([*_FINDING_COLS, "geom"])
        marks = ", ".join(["%s"] * len(_FINDING_COLS))
        sql = (f'INSERT INTO "{self.s}".findings ({cols}) VALUES ({marks}, '
               f"ST_GeomFromWKB(%s, {self.srid})) ON CONFLICT DO NOTHING RETURNING uuid")
        self.cur.executemany(sql, [self._finding_params(r) for r in records], returning=True)
        done: set[str] = set()
        while True:
            row = self.cur.fetchone()
            if row is not None:
                done.add(row["uuid"])
            if not self.cur.nextset():
                break
        return done

    def update_finding(self, record: dict[str, Any], expected_version: int) -> bool:
        cols = [c for c in _FINDING_COLS if c != "uuid"]
        params = self._finding_params(record)
        values = dict(zip(_FINDING_COLS, params[:-1], strict=True))
        sets = ", ".join(f"{c} = %s" for c in cols)
        self.cur.execute(
            f'UPDATE "{self.s}".findings SET {sets}, geom = ST_GeomFromWKB(%s, {self.srid}) '
            "WHERE uuid = %s AND version = %s",
            [*(values[c] for c in cols), params[-1], record["uuid"], expected_version])
        return self.cur.rowcount == 1

    def import_keys(self, hashes: Sequence[str]) -> dict[tuple[str | None, str], str]:
        if not hashes:
            return {}
        self.cur.execute(f'SELECT uuid, source_id, content_hash FROM "{self.s}".findings '
                         "WHERE content_hash = ANY(%s)", (list(hashes),))
        return {(r["source_id"], r["content_hash"]): r["uuid"] for r in self.cur.fetchall()}

    def source_ids(self, source_ids: Sequence[str]) -> dict[str, str]:
        if not source_ids:
            return {}
        self.cur.execute(f'SELECT uuid, source_id FROM "{self.s}".findings '
                         "WHERE source_id = ANY(%s) ORDER BY fid", (list(source_ids),))
        out: dict[str, str] = {}
        for r in self.cur.fetchall():
            out.setdefault(r["source_id"], r["uuid"])
        return out

    # history ---------------------------------------------------------------------------
    def append_updates(self, records: Sequence[dict[str, Any]]) -> None:
        from psycopg.types.json import Jsonb

        if not records:
            return
        self.cur.executemany(
            f'INSERT INTO "{self.s}".finding_updates (finding_uuid, time, author_role, '
            "author_id, state_before, state_after, note, changes, version_after) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(u["finding_uuid"], u["time"], u["author_role"], u.get("author_id"),
              u["state_before"], u["state_after"], u["note"], Jsonb(dict(u["changes"])),
              u["version_after"]) for u in records])

    def updates(self, uuid: str | None = None) -> list[dict[str, Any]]:
        where, args = ("WHERE finding_uuid = %s ", (uuid,)) if uuid is not None else ("", ())
        self.cur.execute(
            "SELECT finding_uuid, time, author_role, author_id, state_before, state_after, "
            f'note, changes, version_after FROM "{self.s}".finding_updates {where}'
            "ORDER BY fid", args)
        return [{**r, "note": r["note"] or "", "changes": dict(r["changes"] or {})}
                for r in self.cur.fetchall()]

    # walks -----------------------------------------------------------------------------
    def _select_walks(self, where: str = "", args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cols = ", ".join(_WALK_COLS)
        self.cur.execute(f'SELECT {cols}, ST_AsBinary(geom) AS wkb FROM "{self.s}".walks '
                         f"{where}", args)
        return [self._walk(r) for r in self.cur.fetchall()]

    def walk(self, walk_id: str) -> dict[str, Any] | None:
        rows = self._select_walks("WHERE walk_id = %s", (walk_id,))
        return rows[0] if rows else None

    def walk_records(self) -> list[dict[str, Any]]:
        return self._select_walks("ORDER BY start, walk_id")

    def insert_walk(self, record: dict[str, Any]) -> bool:
        cols = ", ".join([*_WALK_COLS, "geom"])
        marks = ", ".join(["%s"] * len(_WALK_COLS))
        self.cur.execute(f'INSERT INTO "{self.s}".walks ({cols}) VALUES ({marks}, '
                         f"ST_GeomFromWKB(%s, {self.srid})) ON CONFLICT DO NOTHING",
                         self._walk_params(record))
        return self.cur.rowcount == 1

    def update_walk(self, record: dict[str, Any], expected_version: int) -> bool:
        cols = [c for c in _WALK_COLS if c != "walk_id"]
        params = self._walk_params(record)
        values = dict(zip(_WALK_COLS, params[:-1], strict=True))
        sets = ", ".join(f"{c} = %s" for c in cols)
        self.cur.execute(
            f'UPDATE "{self.s}".walks SET {sets}, geom = ST_GeomFromWKB(%s, {self.srid}) '
            "WHERE walk_id = %s AND version = %s",
            [*(values[c] for c in cols), params[-1], record["walk_id"], expected_version])
        return self.cur.rowcount == 1

    # photos ----------------------------------------------------------------------------
    def insert_photos(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        cols = ", ".join(PHOTO_FIELDS)
        self.cur.executemany(
            f'INSERT INTO "{self.s}".photos ({cols}) VALUES '
            f'({", ".join(["%s"] * len(PHOTO_FIELDS))}) ON CONFLICT DO NOTHING',
            [[r.get(c) for c in PHOTO_FIELDS] for r in records])

    def photo(self, sha256: str, public: bool = False) -> dict[str, Any] | None:
        column = "public_sha256" if public else "sha256"
        self.cur.execute(f'SELECT {", ".join(PHOTO_FIELDS)} FROM "{self.s}".photos '
                         f"WHERE {column} = %s LIMIT 1", (sha256,))
        row = self.cur.fetchone()
        return dict(row) if row else None

    def photo_records(self) -> list[dict[str, Any]]:
        self.cur.execute(f'SELECT {", ".join(PHOTO_FIELDS)} FROM "{self.s}".photos '
                         "ORDER BY sha256")
        return [dict(r) for r in self.cur.fetchall()]

    def known_photos(self, hashes: Sequence[str]) -> set[str]:
        self.cur.execute(f'SELECT sha256 FROM "{self.s}".photos WHERE sha256 = ANY(%s)',
                         (list(hashes),))
        return {r["sha256"] for r in self.cur.fetchall()}

    # documents -------------------------------------------------------------------------
    def document(self, name: str, lock: bool = False) -> dict[str, Any] | None:
        if lock:
            # An advisory lock also covers a document that does not exist yet (a row lock
            # would not); it is released when the transaction ends.
            self.cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                             (f"trygga document {self.s}.{name}",))
        self.cur.execute(f'SELECT {", ".join(DOCUMENT_FIELDS)} FROM "{self.s}".documents '
                         "WHERE name = %s", (name,))
        row = self.cur.fetchone()
        return dict(row) if row else None

    def put_document(self, record: dict[str, Any]) -> None:
        self.cur.execute(
            f'INSERT INTO "{self.s}".documents ({", ".join(DOCUMENT_FIELDS)}) '
            "VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET "
            "content = EXCLUDED.content, updated = EXCLUDED.updated, "
            "updated_by = EXCLUDED.updated_by",
            [record.get(c) for c in DOCUMENT_FIELDS])

    def document_records(self) -> list[dict[str, Any]]:
        self.cur.execute(f'SELECT {", ".join(DOCUMENT_FIELDS)} FROM "{self.s}".documents '
                         "ORDER BY name")
        return [dict(r) for r in self.cur.fetchall()]


def _connect_error(label: str, exc: Exception) -> StoreError:
    """One clear message for a failed connection."""
    text = str(exc).strip()
    low = text.lower()
    first = text.splitlines()[0] if text else type(exc).__name__
    if "password authentication failed" in low or "no password supplied" in low \
            or "authentication failed" in low:
        return StoreError(label, f"the server refused the login ({first})",
                          "check the user name, and give the right password with PGPASSWORD, "
                          "~/.pgpass or a libpq service file")
    if "does not exist" in low and "database" in low:
        return StoreError(label, f"the database does not exist ({first})",
                          "create it (createdb NAME) or fix the database name in the store "
                          "setting, then run `trygga store init`")
    if any(w in low for w in ("connection refused", "could not connect", "timeout expired",
                              "could not translate host name", "no route to host",
                              "connection timed out", "is the server running")):
        return StoreError(label, f"cannot reach the PostgreSQL server ({first})",
                          "check that the server runs and that the host and port in the "
                          "store setting (profile `store` or TRYGGA_STORE) are right")
    return StoreError(label, f"cannot connect to the PostgreSQL store ({first})",
                      "check the store setting (profile `store` or TRYGGA_STORE)")


class PostGISBackend(ProcessConnection["psycopg.Connection[Any]"]):
    """Findings in a PostgreSQL + PostGIS database, shared by many processes.

    Parameters
    ----------
    target : str
        ``postgresql://user@host:port/dbname``, ``service=NAME`` or ``pg:`` (libpq's PG*
        environment variables). Never a password.
    crs : str
        The store CRS (the profile's metric CRS); must have an EPSG code (the SRID).
    schema : str
        The PostgreSQL schema of the tables (default ``trygga``).
    photos_dir : path, optional
        A folder shared by every server for photo bytes; default: in the database.
    connect_timeout_s : int
        How long a connection attempt may take.

    Raises
    ------
    StoreError
        A password in *target*, a CRS without EPSG code, a bad schema name.
    """

    def __init__(self, target: str, crs: str, *, schema: str = "trygga",
                 photos_dir: str | Path | None = None, connect_timeout_s: int = 5):
        self.dsn, base_label = _safe_dsn(target)
        if not _SCHEMA_NAME.match(schema):
            raise StoreError(base_label, f"{schema!r} is not a usable schema name",
                             "use lower-case letters, digits and _ (store_schema in the profile)")
        self.schema = schema
        self.label = f"{base_label} (schema {schema})"
        c = CRS.from_user_input(crs)
        self.crs = c.to_string()
        srid = c.to_epsg()
        if srid is None:
            raise StoreError(self.label, f"the CRS {crs} has no EPSG code",
                             "use an EPSG CRS such as EPSG:3007 in the profile")
        self.srid = int(srid)
        self.connect_timeout_s = int(connect_timeout_s)
        if photos_dir:
            from walks.backends.gpkg import FolderBlobs
            self.photos: PhotoBlobs = FolderBlobs(photos_dir)
        else:
            self.photos = DatabaseBlobs(self)
        self._init_connection()

    def __repr__(self) -> str:
        return f"PostGISBackend({self.label!r}, {self.crs!r})"

    # connections -----------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg
        from psycopg.rows import dict_row

        try:
            con = psycopg.connect(self.dsn, connect_timeout=self.connect_timeout_s,
                                  row_factory=dict_row, autocommit=False,
                                  application_name="trygga")
        except psycopg.Error as exc:
            raise _connect_error(self.label, exc) from None
        con.execute("SET TIME ZONE 'UTC'")
        con.commit()
        return con

    def _is_closed(self, con: psycopg.Connection[Any]) -> bool:
        return bool(con.closed)

    @contextlib.contextmanager
    def reading(self) -> Iterator[_PgTx]:
        with self._lock:
            con = self._connection()
            try:
                with con.transaction(), con.cursor() as cur:
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    yield _PgTx(cur, self.schema, self.srid)
            finally:
                if con.info.transaction_status != 0:  # not IDLE: end the implicit transaction
                    with contextlib.suppress(Exception):
                        con.rollback()

    def write(self, fn: Callable[[_PgTx], T], max_attempts: int = 20) -> T:
        """Run *fn* in one transaction; retried on serialization failures and deadlocks."""
        import psycopg
        from psycopg import errors

        delay = 0.01
        with self._lock:
            for attempt in range(1, max_attempts + 1):
                con = self._connection()
                try:
                    with con.transaction(), con.cursor() as cur:
                        result = fn(_PgTx(cur, self.schema, self.srid))
                    return result
                except (errors.SerializationFailure, errors.DeadlockDetected) as exc:
                    if attempt == max_attempts:
                        raise
                    logger.debug("postgis write retry %d: %s", attempt, exc)
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 0.5)
                except psycopg.OperationalError as exc:
                    if con.closed and attempt < 2:
                        self._con = None  # the server closed the connection: reconnect once
                        continue
                    raise _connect_error(self.label, exc) from None
                except errors.UndefinedTable:
                    raise StoreError(self.label, "the store's tables are missing",
                                     "run `trygga store init` with the same profile") from None
        raise AssertionError("unreachable")

    # schema ----------------------------------------------------------------------------
    def _has_postgis(self, cur: psycopg.Cursor[Any]) -> bool:
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
        return cur.fetchone() is not None

    def schema_version(self) -> int | None:
        with self.reading() as t:
            if not self._has_postgis(t.cur):
                raise StoreError(
                    self.label, "the database has no PostGIS extension",
                    "install PostGIS on the server (Debian: apt-get install "
                    "postgresql-15-postgis-3) and run `trygga store init`, or CREATE "
                    "EXTENSION postgis as a superuser")
            t.cur.execute("SELECT to_regclass(%s) AS t",
                          (f'"{self.schema}".trygga_meta',))
            row = t.cur.fetchone()
            if row is None or row["t"] is None:
                return None
            t.cur.execute(f'SELECT key, value FROM "{self.schema}".trygga_meta')
            meta = {r["key"]: r["value"] for r in t.cur.fetchall()}
        stored_crs = meta.get("crs")
        if stored_crs and CRS.from_user_input(stored_crs) != CRS.from_user_input(self.crs):
            raise StoreError(self.label, f"the store is in {stored_crs}, not {self.crs}",
                             "open it with the profile it was created with, or use another "
                             "schema (store_schema)")
        v = meta.get("schema_version")
        return int(v) if v is not None else None

    def init(self) -> None:
        """Create PostGIS (if allowed), the schema and every table (idempotent)."""
        import psycopg

        def tx(t: _PgTx) -> None:
            t.cur.execute("SELECT pg_advisory_xact_lock(hashtext('trygga store init'))")
            if not self._has_postgis(t.cur):
                try:
                    with t.cur.connection.transaction():
                        t.cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                except psycopg.Error as exc:
                    raise StoreError(
                        self.label, f"PostGIS could not be enabled ({str(exc).strip()})",
                        "install PostGIS on the server (Debian: apt-get install "
                        "postgresql-15-postgis-3) and run CREATE EXTENSION postgis as a "
                        "superuser, then `trygga store init` again") from None
            for stmt in _ddl(self.schema, self.srid):
                t.cur.execute(stmt)
            t.cur.execute(f'INSERT INTO "{self.schema}".trygga_meta (key, value) VALUES '
                          "('schema_version', %s), ('crs', %s) ON CONFLICT (key) DO NOTHING",
                          (str(SCHEMA_VERSION), self.crs))
        self.write(tx)
        logger.info("initialised PostGIS store %s", self.label)

    def upgrade(self) -> int:
        """Upgrade an older schema to :data:`SCHEMA_VERSION`; returns the old version."""
        before = self.schema_version()
        if before is None:
            raise StoreError(self.label, "the store has no trygga tables yet",
                             "run `trygga store init` first")

        def tx(t: _PgTx) -> None:
            for version in range(before + 1, SCHEMA_VERSION + 1):
                for stmt in _UPGRADES[version](self.schema) if version in _UPGRADES else []:
                    t.cur.execute(stmt)
            t.cur.execute(f'UPDATE "{self.schema}".trygga_meta SET value = %s '
                          "WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
        if before < SCHEMA_VERSION:
            self.write(tx)
        return before

    def change_token(self) -> tuple[Any, ...]:
        """Counts and last change times of findings, walks and history (cache keys)."""
        with self.reading() as t:
            t.cur.execute(
                f'SELECT (SELECT count(*) FROM "{self.schema}".findings) AS nf, '
                f'(SELECT max(updated) FROM "{self.schema}".findings) AS uf, '
                f'(SELECT count(*) FROM "{self.schema}".walks) AS nw, '
                f'(SELECT max(updated) FROM "{self.schema}".walks) AS uw, '
                f'(SELECT max(fid) FROM "{self.schema}".finding_updates) AS nh, '
                f'(SELECT max(updated) FROM "{self.schema}".documents) AS ud')
            row = t.cur.fetchone()
        assert row is not None
        return tuple(str(row[k]) for k in ("nf", "uf", "nw", "uw", "nh", "ud"))
