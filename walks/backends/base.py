"""The backend protocol of the findings store, and the record form backends exchange.

The rules (versions, state transitions, diffs, import dedupe, moderation, photo checks)
live in :class:`walks.store.FindingStore`; a backend only stores and loads *records* in
transactions. Records are plain dicts with Python values:

* finding record: the keys of :data:`FINDING_FIELDS`; times timezone-aware UTC
  :class:`datetime.datetime`, ``deadline`` a :class:`datetime.date`, ``photos`` a list of
  sha256 hashes, ``geometry`` a shapely Point in the store CRS (metres);
* update record (history): the keys of :data:`UPDATE_FIELDS`, ``changes`` a dict;
* walk record: the keys of :data:`WALK_FIELDS`, ``participants`` a dict, ``stops`` a list of
  ``{"x", "y", "label"}`` dicts, ``invited`` a list of group names, ``geometry`` a
  LineString or None;
* photo record: the keys of :data:`PHOTO_FIELDS` (metadata; the bytes are kept by the
  backend's :class:`PhotoBlobs`).

Backends: :mod:`walks.backends.gpkg` (GeoPackage, the default), :mod:`walks.backends.postgis`
(PostgreSQL + PostGIS, shared by many processes) and :mod:`walks.backends.memory` (tests).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from typing import Any, Generic, Protocol, TypeVar

from layers._common import Problem, ValidationError

T = TypeVar("T")
C = TypeVar("C")

#: Schema version of the store tables (both backends). Version 2 added moderation,
#: author ids, the public explanation, the import-key constraint, luminaire ids and
#: residents' "not fixed" reports on findings, and the walk cycle (förmöte, feedback
#: meeting, protocol publication, follow-up walks).
SCHEMA_VERSION = 3

#: Keys of a finding record, in table column order.
FINDING_FIELDS: tuple[str, ...] = (
    "uuid", "walk_id", "channel", "created", "category", "raw_category", "severity",
    "description", "description_original", "internal_note", "photos", "responsible",
    "measure", "deadline", "state_label", "state_type", "closed_reason", "public_note",
    "non_public", "moderation", "version", "source_id", "content_hash", "fixed_at",
    "created_by", "updated", "luminaire_id", "not_fixed_reports", "state_changed",
    "geometry",
)
#: Keys of a history (update) record.
UPDATE_FIELDS: tuple[str, ...] = (
    "finding_uuid", "time", "author_role", "author_id", "state_before", "state_after", "note",
    "changes", "version_after",
)
#: Keys of a walk record.
WALK_FIELDS: tuple[str, ...] = (
    "walk_id", "title", "start", "light", "area", "school", "organiser", "participants",
    "stops", "state_label", "state_type", "version", "created", "updated", "created_by",
    "updated_by", "invited", "focus", "premeeting_at", "feedback_at", "protocol_published_at",
    "follows", "geometry",
)
#: Keys of a photo metadata record.
PHOTO_FIELDS: tuple[str, ...] = (
    "sha256", "format", "ext", "size_bytes", "width", "height", "public_sha256", "gps_lon",
    "gps_lat", "created",
)
#: A document kept in the store (schema 3): the promise logs (activities, milestones) as
#: their CSV text, so every app instance and command line sees the same log.
DOCUMENT_FIELDS: tuple[str, ...] = ("name", "content", "updated", "updated_by")


class ProcessConnection(Generic[C]):
    """One lazily opened database connection per process, shared by a backend's threads
    under its lock.

    A forked child (a worker, a forked writer) never uses or closes the connection it
    inherited: it opens its own on first use. Pickling drops the connection and the lock
    (a backend sent to another process reconnects there). Subclasses implement
    :meth:`_connect` and may override :meth:`_is_closed`.
    """

    _lock: threading.RLock
    _con: C | None
    _con_pid: int | None

    def _init_connection(self) -> None:
        self._lock = threading.RLock()
        self._con = None
        self._con_pid = None

    def _connect(self) -> C:
        raise NotImplementedError

    def _is_closed(self, con: C) -> bool:
        return False

    def _connection(self) -> C:
        """This process's connection (opened lazily; a forked child opens its own)."""
        con = self._con
        if con is None or self._con_pid != os.getpid() or self._is_closed(con):
            # An inherited connection from the parent is abandoned, never used or closed.
            con = self._con = self._connect()
            self._con_pid = os.getpid()
        return con

    def close(self) -> None:
        """Close this process's connection (reopened on the next call)."""
        with self._lock:
            if self._con is not None and self._con_pid == os.getpid():
                with contextlib.suppress(Exception):
                    self._con.close()  # type: ignore[attr-defined]
            self._con = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_con=None, _con_pid=None, _lock=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()


class StoreError(ValidationError):
    """The store cannot be used as configured (unreachable, not initialised, too old …).

    A :class:`~layers._common.ValidationError`, so every caller that already shows
    validation errors shows these too; the message says what to do.
    """

    def __init__(self, where: str, message: str, fix: str):
        super().__init__([Problem(where, "", "", message, fix)])


class SchemaTooOldError(StoreError):
    """The store's schema is older than this version of trygga: run ``trygga store upgrade``."""


def utc(value: datetime | None) -> datetime | None:
    """*value* in UTC, truncated to milliseconds (the stores' precision)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def now_utc() -> datetime:
    """The current time in UTC, to the millisecond."""
    out = utc(datetime.now(UTC))
    assert out is not None
    return out


def record_digest(records: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> str:
    """A sha256 over *records* (sorted), for checking that a copy is complete and equal.

    Geometries enter as WKB hex rounded to the millimetre; times as ISO text in UTC.
    """
    def norm(v: Any) -> Any:
        if isinstance(v, datetime):
            return utc(v).isoformat()  # type: ignore[union-attr]
        if isinstance(v, date):
            return v.isoformat()
        if hasattr(v, "wkb_hex"):
            import shapely
            return shapely.set_precision(v, 0.001).wkb_hex
        return v
    rows = sorted(json.dumps([norm(r.get(k)) for k in keys], sort_keys=True, default=str,
                             ensure_ascii=False) for r in records)
    h = hashlib.sha256()
    for row in rows:
        h.update(row.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


class PhotoBlobs(Protocol):
    """Where a backend keeps the photo bytes (originals and public copies).

    Content-addressed: a photo is stored under its sha256; storing it twice is a no-op.
    """

    def put(self, sha256: str, ext: str, data: bytes, public: bool = False) -> None:
        """Store *data* under its hash (original, or public copy with ``public=True``)."""

    def get(self, sha256: str, ext: str, public: bool = False) -> bytes:
        """The bytes of a stored photo. Raises KeyError when missing."""

    def local_path(self, sha256: str, ext: str, public: bool = False) -> Any:
        """A local file path of the photo when the blobs live in a folder, else None."""


class Tx(Protocol):
    """The operations of one backend transaction (reading or writing)."""

    # findings
    def finding(self, uuid: str) -> dict[str, Any] | None:
        """The finding record, or None."""

    def finding_records(self, include_hidden: bool = True) -> list[dict[str, Any]]:
        """All finding records, ordered by ``created`` then ``uuid``."""

    def insert_findings(self, records: Sequence[dict[str, Any]]) -> set[str]:
        """Insert finding records; returns the uuids actually inserted.

        A record whose import key ``(source_id, content_hash)`` (with a content hash) is
        already stored is skipped by a database constraint, so concurrent imports of the
        same file cannot both insert it.
        """

    def update_finding(self, record: dict[str, Any], expected_version: int) -> bool:
        """Overwrite the finding if its stored version is *expected_version*."""

    def import_keys(self, hashes: Sequence[str]) -> dict[tuple[str | None, str], str]:
        """``(source_id, content_hash) -> uuid`` of stored findings with these hashes."""

    def source_ids(self, source_ids: Sequence[str]) -> dict[str, str]:
        """``source_id -> uuid`` (one of them) of stored findings with these source ids."""

    # history
    def append_updates(self, records: Sequence[dict[str, Any]]) -> None:
        """Append history records (the history is append-only)."""

    def updates(self, uuid: str | None = None) -> list[dict[str, Any]]:
        """History records of one finding (or all), in the order they were written."""

    # walks
    def walk(self, walk_id: str) -> dict[str, Any] | None:
        """The walk record, or None."""

    def walk_records(self) -> list[dict[str, Any]]:
        """All walk records, ordered by ``start`` then ``walk_id``."""

    def insert_walk(self, record: dict[str, Any]) -> bool:
        """Insert a walk; False when the walk id exists."""

    def update_walk(self, record: dict[str, Any], expected_version: int) -> bool:
        """Overwrite the walk if its stored version is *expected_version*."""

    # photos (metadata)
    def insert_photos(self, records: Sequence[dict[str, Any]]) -> None:
        """Insert photo metadata records (existing hashes are left as they are)."""

    def photo(self, sha256: str, public: bool = False) -> dict[str, Any] | None:
        """The photo record by its hash (or by its public copy's hash)."""

    def photo_records(self) -> list[dict[str, Any]]:
        """All photo records."""

    def known_photos(self, hashes: Sequence[str]) -> set[str]:
        """Which of *hashes* are stored photos."""

    # documents (schema 3)
    def document(self, name: str, lock: bool = False) -> dict[str, Any] | None:
        """The document record (:data:`DOCUMENT_FIELDS`), or None. With *lock* (inside a
        write), concurrent writers of the same name wait until this transaction ends, so
        a read-modify-write loses nothing (also when the document does not exist yet)."""

    def put_document(self, record: dict[str, Any]) -> None:
        """Insert or replace the document *record*."""

    def document_records(self) -> list[dict[str, Any]]:
        """All document records, by name."""


class Backend(Protocol):
    """A place to keep findings: transactions, schema management and photo bytes.

    Attributes
    ----------
    crs : str
        The store CRS (the profile's metric CRS).
    label : str
        Where the store is, for messages (a file path, or host/database/schema; never a
        password).
    photos : PhotoBlobs
        Where photo bytes live (a folder, or the database).
    """

    crs: str
    label: str
    photos: PhotoBlobs

    def reading(self) -> AbstractContextManager[Tx]:
        """One consistent read snapshot."""

    def write(self, fn: Callable[[Tx], T]) -> T:
        """Run *fn* in one write transaction (retried on transient lock errors); all or
        nothing."""

    def schema_version(self) -> int | None:
        """The stored schema version, or None when the store is not initialised."""

    def init(self) -> None:
        """Create the tables (idempotent)."""

    def upgrade(self) -> int:
        """Upgrade the schema to :data:`SCHEMA_VERSION`; returns the version before."""

    def close(self) -> None:
        """Release connections (reopened on next use)."""


def iter_chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """*items* in slices of at most *size* (SQL parameter limits)."""
    for i in range(0, len(items), size):
        yield items[i:i + size]
