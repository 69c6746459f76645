"""An in-memory backend: the same rules and contract as the real stores, for fast tests.

Transactions are all-or-nothing: a write works on a copy of the data and swaps it in only
when the function returns. Nothing survives the process.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pyproj import CRS

from walks.backends.base import SCHEMA_VERSION, PhotoBlobs

T = TypeVar("T")


@dataclass
class _Data:
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    walks: dict[str, dict[str, Any]] = field(default_factory=dict)
    photos: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    blobs: dict[tuple[str, bool], bytes] = field(default_factory=dict)


class MemoryBlobs:
    """Photo bytes in a dict (see :class:`walks.backends.base.PhotoBlobs`)."""

    def __init__(self, backend: MemoryBackend):
        self._backend = backend

    def put(self, sha256: str, ext: str, data: bytes, public: bool = False) -> None:
        with self._backend._lock:
            self._backend._data.blobs.setdefault((sha256, public), bytes(data))

    def get(self, sha256: str, ext: str, public: bool = False) -> bytes:
        with self._backend._lock:
            return self._backend._data.blobs[(sha256, public)]

    def local_path(self, sha256: str, ext: str, public: bool = False) -> None:
        return None


class _MemoryTx:
    def __init__(self, data: _Data):
        self.d = data

    # findings
    def finding(self, uuid: str) -> dict[str, Any] | None:
        r = self.d.findings.get(uuid)
        return dict(r) if r is not None else None

    def finding_records(self, include_hidden: bool = True) -> list[dict[str, Any]]:
        rows = [dict(r) for r in self.d.findings.values()
                if include_hidden or not r["non_public"]]
        return sorted(rows, key=lambda r: (r["created"], r["uuid"]))

    def _key_taken(self, r: dict[str, Any]) -> bool:
        if r.get("content_hash") is None:
            return False
        key = (r.get("source_id") or "", r["content_hash"])
        return any((o.get("source_id") or "", o.get("content_hash")) == key
                   for o in self.d.findings.values())

    def insert_findings(self, records: Sequence[dict[str, Any]]) -> set[str]:
        done: set[str] = set()
        for r in records:
            if r["uuid"] in self.d.findings or self._key_taken(r):
                continue
            self.d.findings[r["uuid"]] = dict(r)
            done.add(r["uuid"])
        return done

    def update_finding(self, record: dict[str, Any], expected_version: int) -> bool:
        cur = self.d.findings.get(record["uuid"])
        if cur is None or cur["version"] != expected_version:
            return False
        self.d.findings[record["uuid"]] = dict(record)
        return True

    def import_keys(self, hashes: Sequence[str]) -> dict[tuple[str | None, str], str]:
        want = set(hashes)
        return {(r["source_id"], r["content_hash"]): u for u, r in self.d.findings.items()
                if r.get("content_hash") in want}

    def source_ids(self, source_ids: Sequence[str]) -> dict[str, str]:
        want = set(source_ids)
        return {r["source_id"]: u for u, r in self.d.findings.items()
                if r.get("source_id") in want}

    # history
    def append_updates(self, records: Sequence[dict[str, Any]]) -> None:
        self.d.updates.extend(dict(r) for r in records)

    def updates(self, uuid: str | None = None) -> list[dict[str, Any]]:
        return [dict(r) for r in self.d.updates if uuid is None or r["finding_uuid"] == uuid]

    # walks
    def walk(self, walk_id: str) -> dict[str, Any] | None:
        r = self.d.walks.get(walk_id)
        return dict(r) if r is not None else None

    def walk_records(self) -> list[dict[str, Any]]:
        return sorted((dict(r) for r in self.d.walks.values()),
                      key=lambda r: (r["start"], r["walk_id"]))

    def insert_walk(self, record: dict[str, Any]) -> bool:
        if record["walk_id"] in self.d.walks:
            return False
        self.d.walks[record["walk_id"]] = dict(record)
        return True

    def update_walk(self, record: dict[str, Any], expected_version: int) -> bool:
        cur = self.d.walks.get(record["walk_id"])
        if cur is None or cur["version"] != expected_version:
            return False
        self.d.walks[record["walk_id"]] = dict(record)
        return True

    # photos
    def insert_photos(self, records: Sequence[dict[str, Any]]) -> None:
        for r in records:
            self.d.photos.setdefault(r["sha256"], dict(r))

    def photo(self, sha256: str, public: bool = False) -> dict[str, Any] | None:
        if not public:
            r = self.d.photos.get(sha256)
            return dict(r) if r else None
        for r in self.d.photos.values():
            if r["public_sha256"] == sha256:
                return dict(r)
        return None

    def photo_records(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.d.photos.values()]

    def known_photos(self, hashes: Sequence[str]) -> set[str]:
        return {h for h in hashes if h in self.d.photos}

    # documents
    def document(self, name: str, lock: bool = False) -> dict[str, Any] | None:
        r = self.d.documents.get(name)  # writes hold the backend lock: nothing to add
        return dict(r) if r is not None else None

    def put_document(self, record: dict[str, Any]) -> None:
        self.d.documents[record["name"]] = dict(record)

    def document_records(self) -> list[dict[str, Any]]:
        return [dict(self.d.documents[k]) for k in sorted(self.d.documents)]


class MemoryBackend:
    """Findings kept in this process's memory (for tests and dry runs).

    Parameters
    ----------
    crs : str
        The store CRS (the profile's metric CRS).
    """

    def __init__(self, crs: str):
        self.crs = CRS.from_user_input(crs).to_string()
        self.label = "memory"
        self._lock = threading.RLock()
        self._data = _Data()
        self.photos: PhotoBlobs = MemoryBlobs(self)

    @contextlib.contextmanager
    def reading(self) -> Iterator[_MemoryTx]:
        with self._lock:
            yield _MemoryTx(self._data)

    def write(self, fn: Callable[[_MemoryTx], T]) -> T:
        with self._lock:
            work = copy.deepcopy(self._data)
            work.blobs = self._data.blobs  # bytes are immutable and content-addressed
            result = fn(_MemoryTx(work))
            self._data = work
            return result

    def schema_version(self) -> int:
        return SCHEMA_VERSION

    def init(self) -> None:
        return None

    def upgrade(self) -> int:
        return SCHEMA_VERSION

    def close(self) -> None:
        return None
