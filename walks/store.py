"""The findings store: every rule in one class, over a backend that only keeps records.

:class:`FindingStore` owns the rules: version checks (optimistic concurrency), field diffs,
state transitions and their required fields, moderation, import dedupe, photo checks and
who did what. Below it a backend (:mod:`walks.backends`) runs transactions:

* :class:`~walks.backends.gpkg.GeoPackageBackend`, the default: one GeoPackage file that
  QGIS opens directly (``findings`` point layer, ``walks`` line layer, attribute tables
  ``finding_updates``, ``photos``, ``trygga_meta``); photos in a folder beside it;
* :class:`~walks.backends.postgis.PostGISBackend`: a shared PostgreSQL + PostGIS database
  for several staff, app instances and the CLI at once; photos in the database;
* :class:`~walks.backends.memory.MemoryBackend`: for fast tests.

:func:`open_store` picks the backend from the profile (``store = "walks.gpkg"`` or
``store = "postgresql://host/db"``). :class:`GeoPackageStore` is the GeoPackage store in one
call, as before.

Times are UTC and returned timezone-aware; coordinates are in the store CRS (the profile's
metric CRS), metres.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from layers._common import Problem, ValidationError
from walks.backends.base import (
    DOCUMENT_FIELDS,
    FINDING_FIELDS,
    PHOTO_FIELDS,
    SCHEMA_VERSION,
    UPDATE_FIELDS,
    WALK_FIELDS,
    Backend,
    SchemaTooOldError,
    StoreError,
    now_utc,
    record_digest,
    utc,
)
from walks.backends.gpkg import GeoPackageBackend, from_gpkg_blob, gpkg_blob
from walks.categories import CATEGORIES, Category, map_category
from walks.model import (
    APPROVED,
    EDITABLE_FIELDS,
    NY,
    PENDING,
    REJECTED,
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
    prepare_photo,
)

if TYPE_CHECKING:
    from layers.profile import Profile

logger = logging.getLogger(__name__)

__all__ = [
    "SCHEMA_VERSION", "ConflictError", "FindingStore", "GeoPackageStore", "ImportRejectedError",
    "ImportReport", "ImportRow", "ModerationPolicy", "SchemaTooOldError", "StoreError",
    "from_gpkg_blob", "gpkg_blob", "open_store",
]


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
# Helpers
# --------------------------------------------------------------------------------------

def _ms(value: datetime) -> datetime:
    """*value* truncated to milliseconds (the store's time resolution)."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _now() -> datetime:
    return now_utc()


def _ts(value: datetime | None) -> str | None:
    """UTC ISO text with milliseconds (for hashes and history diffs)."""
    from walks.backends.gpkg import ts_text
    return ts_text(value)


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


_TEXT_FIELDS = ("description", "description_original", "internal_note", "measure",
                "closed_reason", "public_note", "raw_category")
_ID_FIELDS = ("walk_id", "channel", "source_id", "luminaire_id")
_WALK_TEXT_FIELDS = ("title", "area", "organiser", "focus", "school")


def _cleaned(obj: Any, texts: Sequence[str], ids: Sequence[str] = ()) -> Any:
    """*obj* (a Finding or Walk) with control, bidi-override and invisible characters
    removed from its text fields (:func:`walks.text.clean_text`), on every way in."""
    from walks.text import clean_text

    changes: dict[str, Any] = {}
    for name in texts:
        value = getattr(obj, name)
        if isinstance(value, str):
            clean = clean_text(value)
            if clean != value:
                changes[name] = clean
    for name in ids:
        value = getattr(obj, name)
        if isinstance(value, str):
            clean_id = clean_text(value, single_line=True) or None
            if clean_id != value:
                changes[name] = clean_id
    return dataclasses.replace(obj, **changes) if changes else obj


def default_actor_id() -> str:
    """The author id of command-line writes: ``TRYGGA_USER``, else ``cli:<login name>``."""
    env = os.environ.get("TRYGGA_USER", "").strip()
    if env:
        return env
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (containers)
        return "cli:unknown"


@dataclass(frozen=True)
class ModerationPolicy:
    """Which new findings wait for a moderator before they can be public.

    Attributes
    ----------
    review_channels : tuple of str
        Channels whose findings come from residents (public forms): they start as
        ``pending``. A channel matches exactly, or as a prefix ending in ``:``
        (``"import:survey123"`` matches ``"import:survey123"``).
    staff_public : bool
        Findings entered by staff in other channels are approved at once (True) or also
        wait for moderation (False).
    """

    review_channels: tuple[str, ...] = ("import:survey123", "import:epicollect5",
                                        "import:open311", "public", "open311")
    staff_public: bool = True

    def initial(self, channel: str | None, author_role: str) -> str:
        """The moderation state a new finding starts in."""
        if author_role == "public":
            return PENDING
        ch = channel or ""
        if any(ch == c or ch.startswith(c.rstrip(":") + ":") for c in self.review_channels):
            return PENDING
        return APPROVED if self.staff_public else PENDING

    @classmethod
    def from_profile(cls, profile: Profile) -> ModerationPolicy:
        """The policy of ``[moderation]`` in the profile (defaults when absent)."""
        m = getattr(profile, "moderation", None)
        if m is None:
            return cls()
        return cls(review_channels=tuple(m.review_channels), staff_public=bool(m.staff_public))


# --------------------------------------------------------------------------------------
# Records <-> model objects
# --------------------------------------------------------------------------------------

def _finding_record(f: Finding, *, updated: datetime, created_by: str | None,
                    state_changed: datetime | None = None) -> dict[str, Any]:
    return {
        "uuid": f.id, "walk_id": f.walk_id, "channel": f.channel, "created": utc(f.created),
        "category": f.category, "raw_category": f.raw_category, "severity": f.severity,
        "description": f.description, "description_original": f.description_original,
        "internal_note": f.internal_note, "photos": list(f.photos),
        "responsible": f.responsible, "measure": f.measure, "deadline": f.deadline,
        "state_label": f.state.label, "state_type": f.state.type,
        "closed_reason": f.closed_reason, "public_note": f.public_note,
        "non_public": bool(f.non_public), "moderation": f.moderation, "version": f.version,
        "source_id": f.source_id, "content_hash": f.content_hash, "fixed_at": utc(f.fixed_at),
        "created_by": created_by, "updated": updated, "luminaire_id": f.luminaire_id,
        "not_fixed_reports": int(f.not_fixed_reports),
        "state_changed": state_changed or updated, "geometry": f.geometry,
    }


def _record_finding(r: dict[str, Any]) -> Finding:
    return Finding(
        id=r["uuid"], geometry=r["geometry"], created=r["created"] or _now(),
        category=r["category"], severity=int(r["severity"]),
        description=r["description"] or "", internal_note=r["internal_note"] or "",
        walk_id=r["walk_id"], channel=r["channel"], photos=tuple(r["photos"] or ()),
        responsible=r["responsible"], measure=r["measure"] or "", deadline=r["deadline"],
        state=finding_state(r["state_label"]), closed_reason=r["closed_reason"] or "",
        public_note=r.get("public_note") or "", non_public=bool(r["non_public"]),
        moderation=r.get("moderation") or APPROVED, version=int(r["version"]),
        source_id=r["source_id"], content_hash=r["content_hash"],
        raw_category=r["raw_category"] or "", fixed_at=r["fixed_at"],
        description_original=r["description_original"], luminaire_id=r.get("luminaire_id"),
        not_fixed_reports=int(r.get("not_fixed_reports") or 0))


def _update_record(u: FindingUpdate) -> dict[str, Any]:
    return {"finding_uuid": u.finding_id, "time": utc(u.time), "author_role": u.author_role,
            "author_id": u.author_id, "state_before": u.state_before,
            "state_after": u.state_after, "note": u.note, "changes": dict(u.changes),
            "version_after": u.version_after}


def _record_update(r: dict[str, Any]) -> FindingUpdate:
    return FindingUpdate(r["finding_uuid"], r["time"] or _now(), r["author_role"],
                         r["state_before"], r["state_after"], r["note"] or "",
                         r["changes"] or {}, int(r["version_after"]),
                         author_id=r.get("author_id"))


def _walk_record(w: Walk, *, created: datetime | None, updated: datetime,
                 created_by: str | None, updated_by: str | None) -> dict[str, Any]:
    return {
        "walk_id": w.id, "title": w.title, "start": utc(w.start), "light": w.light,
        "area": w.area, "school": w.school, "organiser": w.organiser,
        "participants": dict(w.participants),
        "stops": [{"x": s.point.x, "y": s.point.y, "label": s.label} for s in w.stops],
        "state_label": w.state.label, "state_type": w.state.type, "version": w.version,
        "created": created, "updated": updated, "created_by": created_by,
        "updated_by": updated_by, "invited": list(w.invited), "focus": w.focus,
        "premeeting_at": utc(w.premeeting_at), "feedback_at": utc(w.feedback_at),
        "protocol_published_at": utc(w.protocol_published_at), "follows": w.follows,
        "geometry": w.route,
    }


def _record_walk(r: dict[str, Any]) -> Walk:
    stops = tuple(Stop(Point(s["x"], s["y"]), s.get("label", "")) for s in r["stops"] or [])
    route = r["geometry"]
    return Walk(id=r["walk_id"], title=r["title"], start=r["start"] or _now(),
                light=r["light"], area=r["area"] or "", school=r["school"],
                route=route if isinstance(route, LineString) else None, stops=stops,
                organiser=r["organiser"] or "", participants=r["participants"] or {},
                state=walk_state(r["state_label"]), version=int(r["version"]),
                invited=tuple(r.get("invited") or ()), focus=r.get("focus") or "",
                premeeting_at=r.get("premeeting_at"), feedback_at=r.get("feedback_at"),
                protocol_published_at=r.get("protocol_published_at"),
                follows=r.get("follows"))


def _photo_record(sp: StoredPhoto) -> dict[str, Any]:
    lonlat = sp.info.gps_lonlat
    return {"sha256": sp.sha256, "format": sp.info.format, "ext": sp.info.ext,
            "size_bytes": sp.info.size_bytes, "width": sp.info.width,
            "height": sp.info.height, "public_sha256": sp.public_sha256,
            "gps_lon": lonlat[0] if lonlat else None, "gps_lat": lonlat[1] if lonlat else None,
            "created": _now()}


# --------------------------------------------------------------------------------------
# Import preparation (backend independent)
# --------------------------------------------------------------------------------------

#: Columns of the frame :meth:`FindingStore.import_findings` takes (the importers' output).
IMPORT_COLUMNS: tuple[str, ...] = (
    "source_id", "category", "raw_category", "severity", "description", "internal_note",
    "created", "photo_paths", "walk_id", "channel", "geometry", "luminaire_id", "non_public",
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
    from walks.text import clean_text

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
        category = clean_text(rec.get("category"), single_line=True)
        raw_category = clean_text(rec.get("raw_category"), single_line=True)
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
        walk_id = clean_text(rec.get("walk_id"), single_line=True) or None
        channel = clean_text(rec.get("channel"), single_line=True) or None
        source_id = clean_text(rec.get("source_id"), single_line=True) or None
        description = clean_text(rec.get("description"))
        internal_note = clean_text(rec.get("internal_note"))
        luminaire_id = clean_text(rec.get("luminaire_id"), single_line=True) or None
        np_raw = rec.get("non_public")
        non_public = False if _is_missing(np_raw) else bool(np_raw)
        if row_problems:
            prep.problems.extend(row_problems)
            prep.error_rows.append((pos, row, category))
            continue
        assert isinstance(geom, Point)
        # The time is not part of the content: the same waypoint exported with and
        # without its timestamp (or with its time zone fixed) is the same finding.
        chash = _content_hash({
            "raw_category": raw_category, "category": _text(rec.get("category")),
            "severity": None if _is_missing(sev_raw) else severity,
            "description": description, "internal_note": internal_note,
            "x": round(geom.x, 2), "y": round(geom.y, 2), "walk_id": walk_id,
            "photos": sorted(photo_hashes),
            **({"luminaire_id": luminaire_id} if luminaire_id else {}),
            **({"non_public": True} if non_public else {}),
        })
        try:
            finding = Finding(
                id=new_id(), geometry=Point(geom.x, geom.y), created=created,
                category=category, severity=severity, description=description,
                internal_note=internal_note, walk_id=walk_id, channel=channel,
                photos=tuple(photo_hashes), source_id=source_id, content_hash=chash,
                raw_category=raw_category, luminaire_id=luminaire_id,
                non_public=non_public)
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
# The store: every rule, over a backend
# --------------------------------------------------------------------------------------

#: Columns of :meth:`FindingStore.findings`, in order (after the ``id`` index).
FINDING_COLUMNS: tuple[str, ...] = (
    "walk_id", "channel", "created", "category", "raw_category", "severity", "description",
    "description_original", "internal_note", "photos", "public_photos", "responsible",
    "measure", "deadline", "state_label", "state_type", "closed_reason", "non_public",
    "version", "source_id", "content_hash", "fixed_at", "updated", "public_note",
    "moderation", "created_by", "luminaire_id", "not_fixed_reports", "state_changed",
)

#: Moderation decisions :meth:`FindingStore.moderate` takes, and the state each gives.
MODERATION_DECISIONS: dict[str, str] = {"approve": APPROVED, "reject": REJECTED}


class FindingStore:
    """The findings store: walks, findings, history and photos, with every rule.

    Parameters
    ----------
    backend : Backend
        Where records are kept (:mod:`walks.backends`).
    categories : sequence of Category
        Allowed categories (default :data:`walks.categories.CATEGORIES`).
    max_photo_bytes : int
        Photo size limit in bytes.
    moderation : ModerationPolicy
        Which new findings wait for a moderator.
    actor_id : str, optional
        Pseudonymous id of the person writing (OIDC subject, local account name, or
        ``cli:<login>``); recorded with every write. Default :func:`default_actor_id`.
    check_schema : bool
        Refuse a store whose schema is older or newer than this trygga (default True;
        ``trygga store upgrade`` opens with False).

    Notes
    -----
    All writes are single transactions; all edits of existing findings take the version
    the caller loaded and raise :class:`ConflictError` if it moved. History is append-only.
    Public outputs must use :func:`walks.public.public_view` of :meth:`findings`: only
    approved, not hidden findings in public categories, and only allow-listed fields.
    """

    def __init__(self, backend: Backend, *, categories: Sequence[Category] = CATEGORIES,
                 max_photo_bytes: int = DEFAULT_MAX_BYTES,
                 moderation: ModerationPolicy | None = None, actor_id: str | None = None,
                 check_schema: bool = True):
        self.backend = backend
        self.crs = backend.crs
        self.categories = tuple(categories)
        self.max_photo_bytes = int(max_photo_bytes)
        self.moderation = moderation or ModerationPolicy()
        self.actor_id = actor_id or default_actor_id()
        if check_schema:
            self._check_schema()

    def _check_schema(self) -> None:
        have = self.backend.schema_version()
        where = self.backend.label
        if have is None:
            raise StoreError(where, "the store has no trygga tables yet",
                             "run `trygga store init` (with the same profile) to create them")
        if have < SCHEMA_VERSION:
            raise SchemaTooOldError(
                where, f"the store has schema version {have}; this trygga needs "
                f"{SCHEMA_VERSION}", "run `trygga store upgrade` (back up the store first)")
        if have > SCHEMA_VERSION:
            raise StoreError(where, f"the store has schema version {have}, newer than this "
                             f"trygga ({SCHEMA_VERSION})", "upgrade trygga on this machine")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.backend!r})"

    @property
    def label(self) -> str:
        """Where the store is, for messages (never a password)."""
        return self.backend.label

    def acting_as(self, actor_id: str | None) -> FindingStore:
        """The same store (same backend and connections), writing as *actor_id*."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.actor_id = actor_id or self.actor_id
        return other

    def close(self) -> None:
        """Release the backend's connections (reopened on the next call)."""
        self.backend.close()

    def __enter__(self) -> FindingStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _who(self, author_id: str | None) -> str:
        return author_id or self.actor_id

    # walks ------------------------------------------------------------------------------
    def add_walk(self, walk: Walk, author_role: str = "staff",
                 author_id: str | None = None) -> Walk:
        """Store a new walk (version 1).

        Raises
        ------
        ValidationError
            The walk id is already used (field ``id``).
        """
        new = dataclasses.replace(_cleaned(walk, _WALK_TEXT_FIELDS, ("follows",)), version=1)
        now = _now()
        rec = _walk_record(new, created=now, updated=now, created_by=self._who(author_id),
                           updated_by=self._who(author_id))
        def tx(t: Any) -> bool:
            if walk.follows and t.walk(walk.follows) is None:
                raise ValidationError([Problem(
                    f"walk {walk.id!r}", "", "follows", f"no walk with id {walk.follows!r}",
                    "give the id of the earlier walk", column_label="field")])
            return bool(t.insert_walk(rec))
        if not self.backend.write(tx):
            raise ValidationError([Problem(
                f"walk {walk.id!r}", "", "id", "a walk with this id already exists",
                "choose another id", column_label="field")])
        logger.info("added walk %s by %s", walk.id, author_role)
        return new

    def get_walk(self, walk_id: str) -> Walk:
        """Load one walk. Raises KeyError if unknown."""
        with self.backend.reading() as tx:
            r = tx.walk(walk_id)
        if r is None:
            raise KeyError(f"no walk with id {walk_id!r} in {self.label}")
        return _record_walk(r)

    def set_walk_state(self, walk_id: str, expected_version: int,
                       new_state: WalkState | str, author_id: str | None = None) -> Walk:
        """Move a walk forward (planerad → genomförd → protokoll publicerat).

        Raises
        ------
        ConflictError
            The walk changed since *expected_version*.
        ValidationError
            A backward move (field ``state``).
        """
        target = walk_state(new_state)

        def tx(t: Any) -> Walk:
            r, current = self._walk_at(t, walk_id, expected_version)
            if target.step < current.state.step:
                raise ValidationError([Problem(
                    f"walk {walk_id!r}", "", "state",
                    f"cannot go back from {current.state.label!r} to {target.label!r}",
                    "walk states only move forward", column_label="field")])
            new = dataclasses.replace(current, state=target, version=current.version + 1)
            if target.is_published() and new.protocol_published_at is None:
                new = dataclasses.replace(new, protocol_published_at=_now())
            rec = _walk_record(new, created=r.get("created"), updated=_now(),
                               created_by=r.get("created_by"), updated_by=self._who(author_id))
            if not t.update_walk(rec, expected_version):
                raise ConflictError(walk_id, expected_version, -1, None, None, kind="walk")
            return new
        return self.backend.write(tx)

    def update_walk(self, walk_id: str, expected_version: int, *,
                    author_id: str | None = None, **changes: Any) -> Walk:
        """Change a walk's plan or its walk-cycle record (one transaction).

        Parameters
        ----------
        walk_id : str
        expected_version : int
            The version the caller loaded.
        **changes
            Fields from :data:`walks.model.WALK_EDITABLE_FIELDS`: the plan (title, start,
            route, stops …), the groups invited and the focus decided at the förmöte, when
            the förmöte and the återkopplingsmöte were held, and ``follows`` (the earlier
            walk this one follows up; it must exist).

        Raises
        ------
        ConflictError
            The walk changed since *expected_version*.
        ValidationError
            Unknown or non-editable fields, invalid values, an unknown ``follows`` walk.
        """
        from walks.model import WALK_EDITABLE_FIELDS

        src = f"walk {walk_id!r}"
        bad = [Problem(src, "", k, "this field cannot be edited here",
                       "use set_walk_state() for the state; editable: "
                       f"{', '.join(WALK_EDITABLE_FIELDS)}", column_label="field")
               for k in changes if k not in WALK_EDITABLE_FIELDS]
        if bad:
            raise ValidationError(bad)

        def tx(t: Any) -> Walk:
            r, current = self._walk_at(t, walk_id, expected_version)
            follows = changes.get("follows")
            if follows and t.walk(str(follows)) is None:
                raise ValidationError([Problem(src, "", "follows",
                                               f"no walk with id {follows!r}",
                                               "give the id of the earlier walk",
                                               column_label="field")])
            new = _cleaned(dataclasses.replace(current, **changes, version=current.version + 1),
                           _WALK_TEXT_FIELDS, ("follows",))
            rec = _walk_record(new, created=r.get("created"), updated=_now(),
                               created_by=r.get("created_by"), updated_by=self._who(author_id))
            if not t.update_walk(rec, expected_version):
                raise ConflictError(walk_id, expected_version, -1, None, None, kind="walk")
            return new
        return self.backend.write(tx)

    def _walk_at(self, t: Any, walk_id: str, expected_version: int
                 ) -> tuple[dict[str, Any], Walk]:
        """The walk's record and object inside a write, checked against the version the
        caller loaded (:class:`ConflictError` when it moved, KeyError when unknown)."""
        r = t.walk(walk_id)
        if r is None:
            raise KeyError(f"no walk with id {walk_id!r} in {self.label}")
        current = _record_walk(r)
        if current.version != expected_version:
            raise ConflictError(walk_id, expected_version, current.version,
                                r.get("updated_by"), r.get("updated"), kind="walk")
        return r, current

    def walks(self) -> gpd.GeoDataFrame:
        """All walks: index ``walk_id``; route LineStrings in the store CRS.

        Columns: title, start (UTC), light, area, school, organiser, participants (dict of
        counts), stops (list of dicts with x, y, label), state_label, state_type, version,
        created, updated, created_by, updated_by (author ids), invited (groups), focus,
        premeeting_at, feedback_at, protocol_published_at (UTC), follows (walk id),
        geometry.
        """
        with self.backend.reading() as tx:
            rows = tx.walk_records()
        cols = [c for c in WALK_FIELDS if c not in ("walk_id", "geometry")]
        df = pd.DataFrame({c: [r.get(c) for r in rows] for c in cols},
                          index=pd.Index([r["walk_id"] for r in rows], name="walk_id",
                                         dtype=object))
        for c in ("start", "created", "updated", "premeeting_at", "feedback_at",
                  "protocol_published_at"):
            df[c] = pd.to_datetime(df[c], utc=True)
        df["version"] = df["version"].astype("int64")
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([r["geometry"] for r in rows],
                                                           index=df.index, crs=self.crs),
                                crs=self.crs)

    # findings ---------------------------------------------------------------------------
    def add_finding(self, finding: Finding, author_role: str = "staff",
                    note: str = "", author_id: str | None = None) -> Finding:
        """Store a new finding (as version 1) and its creation entry in the history.

        The moderation state is set by the store's :class:`ModerationPolicy` (residents'
        findings wait for approval), whatever *finding* says.

        Raises
        ------
        ValidationError
            Invalid fields, unknown category or photo hashes, or the UUID already exists.
        """
        finding = dataclasses.replace(
            _cleaned(finding, _TEXT_FIELDS, _ID_FIELDS), version=1, created=_ms(finding.created),
            fixed_at=_ms(finding.fixed_at) if finding.fixed_at else None,
            moderation=self.moderation.initial(finding.channel, author_role))
        finding.validate(self.categories)
        who = self._who(author_id)
        entry = FindingUpdate(finding.id, _now(), author_role, None, finding.state.label,
                              note or "skapad", {}, 1, author_id=who)
        rec = _finding_record(finding, updated=_now(), created_by=who)

        def tx(t: Any) -> Finding:
            if t.finding(finding.id) is not None:
                raise ValidationError([Problem(
                    f"finding {finding.id}", "", "id", "a finding with this id already exists",
                    "use walks.model.new_id() for new findings", column_label="field")])
            self._check_photos_known(t, finding)
            if finding.id not in t.insert_findings([rec]):
                raise ValidationError([Problem(
                    f"finding {finding.id}", "", "content_hash",
                    "a finding with the same import key is already stored",
                    "this finding was imported before; edit the stored one",
                    column_label="field")])
            t.append_updates([_update_record(entry)])
            return finding
        return self.backend.write(tx)

    def get_finding(self, finding_id: str) -> Finding:
        """Load one finding. Raises KeyError if unknown."""
        with self.backend.reading() as tx:
            r = tx.finding(finding_id)
        if r is None:
            raise KeyError(f"no finding with id {finding_id!r} in {self.label}")
        return _record_finding(r)

    def findings(self, include_hidden: bool = True) -> gpd.GeoDataFrame:
        """All findings, as a staff frame (internal fields included).

        Parameters
        ----------
        include_hidden : bool
            Include ``non_public`` findings (default True).

        Returns
        -------
        GeoDataFrame
            Index: UUID (named ``id``). Columns :data:`FINDING_COLUMNS`: walk_id, channel,
            created (UTC), category, raw_category, severity, description,
            description_original, internal_note, photos (list of hashes), public_photos
            (public-copy hashes, same order), responsible, measure, deadline (date),
            state_label, state_type, closed_reason (internal), non_public, version,
            source_id, content_hash, fixed_at (UTC), updated (UTC), public_note (public
            explanation), moderation (pending/approved/rejected), created_by (author id),
            luminaire_id, not_fixed_reports, state_changed (UTC: the last state change),
            geometry (points in the store CRS).
        """
        with self.backend.reading() as tx:
            rows = tx.finding_records(include_hidden)
            public_of = {p["sha256"]: p["public_sha256"] for p in tx.photo_records()}
        data: dict[str, list[Any]] = {c: [r.get(c) for r in rows] for c in FINDING_COLUMNS
                                      if c != "public_photos"}
        data["photos"] = [list(r.get("photos") or []) for r in rows]
        data["public_photos"] = [[public_of[p] for p in ph if p in public_of]
                                 for ph in data["photos"]]
        df = pd.DataFrame(data, index=pd.Index([r["uuid"] for r in rows], name="id",
                                               dtype=object))
        for c in ("created", "fixed_at", "updated", "state_changed"):
            df[c] = pd.to_datetime(df[c], utc=True)
        df["severity"] = df["severity"].astype("int64")
        df["version"] = df["version"].astype("int64")
        df["non_public"] = df["non_public"].astype(bool)
        for c in ("description", "internal_note", "measure", "closed_reason", "raw_category",
                  "public_note"):
            df[c] = df[c].fillna("").astype(object)
        df["moderation"] = df["moderation"].fillna(APPROVED).astype(object)
        df["not_fixed_reports"] = df["not_fixed_reports"].fillna(0).astype("int64")
        return gpd.GeoDataFrame(df[list(FINDING_COLUMNS)],
                                geometry=gpd.GeoSeries([r["geometry"] for r in rows],
                                                       index=df.index, crs=self.crs),
                                crs=self.crs)

    def _check_photos_known(self, t: Any, f: Finding) -> None:
        if not f.photos:
            return
        known = t.known_photos(list(f.photos))
        unknown = [p for p in f.photos if p not in known]
        if unknown:
            raise ValidationError([Problem(
                f"finding {f.id}", "", "photos", f"unknown photo hash(es): "
                f"{', '.join(u[:12] for u in unknown)}", "add photos with add_photo() first",
                column_label="field")])

    def _conflict(self, t: Any, finding_id: str, expected: int, current: int) -> ConflictError:
        hist = t.updates(finding_id)
        last = hist[-1] if hist else None
        return ConflictError(finding_id, expected, current,
                             last["author_role"] if last else None,
                             last["time"] if last else None)

    def _edit(self, finding_id: str, expected_version: int, author_role: str, note: str,
              change: Callable[[Finding], Finding], author_id: str | None = None,
              allow: tuple[str, ...] = ()) -> Finding:
        """Load, check the version, apply *change*, validate, write, append history."""
        who = self._who(author_id)

        def tx(t: Any) -> Finding:
            r = t.finding(finding_id)
            if r is None:
                raise KeyError(f"no finding with id {finding_id!r} in {self.label}")
            current = _record_finding(r)
            if current.version != expected_version:
                raise self._conflict(t, finding_id, expected_version, current.version)
            new = change(current)
            for guarded in ("moderation", "not_fixed_reports"):
                if getattr(new, guarded) != getattr(current, guarded) and guarded not in allow:
                    new = dataclasses.replace(new, **{guarded: getattr(current, guarded)})
            new = dataclasses.replace(_cleaned(new, _TEXT_FIELDS, _ID_FIELDS),
                                      version=current.version + 1)
            new.validate(self.categories)
            self._check_photos_known(t, new)
            diffs = {}
            for f in dataclasses.fields(Finding):
                if f.name in ("version", "state", "fixed_at"):
                    continue
                before, after = getattr(current, f.name), getattr(new, f.name)
                if before != after:
                    diffs[f.name] = {"before": _jsonable(before), "after": _jsonable(after)}
            entry = FindingUpdate(finding_id, _now(), author_role, current.state.label,
                                  new.state.label, note, diffs, new.version, author_id=who)
            now = _now()
            rec = _finding_record(new, updated=now, created_by=r.get("created_by"),
                                  state_changed=now if new.state != current.state
                                  else r.get("state_changed") or r.get("created"))
            if not t.update_finding(rec, expected_version):
                raise self._conflict(t, finding_id, expected_version, -1)
            t.append_updates([_update_record(entry)])
            return new
        return self.backend.write(tx)

    def update_finding(self, finding_id: str, expected_version: int, *,
                       author_role: str = "staff", note: str = "",
                       author_id: str | None = None, **changes: Any) -> Finding:
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
        author_id : str, optional
            Pseudonymous id of the editor (default: the store's ``actor_id``).
        **changes
            Fields from :data:`walks.model.EDITABLE_FIELDS`; ``deadline`` may be an ISO
            date string, ``responsible`` an alias such as ``"skolan/fastighet"``. Changing
            ``description`` keeps the original in ``description_original`` and in the
            history. Moderation goes through :meth:`moderate`.

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
                            "use set_state() for the state and moderate() for moderation; "
                            "ids, versions and import keys never change; editable: "
                            f"{', '.join(EDITABLE_FIELDS)}", column_label="field")
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
                          lambda f: dataclasses.replace(f, **values), author_id)

    def set_state(self, finding_id: str, expected_version: int, new_state: State | str,
                  note: str, author_role: str, reason: str | None = None,
                  fixed_at: datetime | None = None, public_note: str | None = None,
                  author_id: str | None = None) -> Finding:
        """Change a finding's state (one transaction, one history entry).

        Parameters
        ----------
        new_state : State or str
            The new state or its label.
        note : str
            Internal note for the history (e.g. what was done).
        author_role : str
            Role (never a name).
        reason : str, optional
            Internal reason, required for states that require one (``avslutad utan
            åtgärd``). Never public.
        fixed_at : datetime, optional
            When the fix was done, for fixes recorded afterwards (timezone-aware; default
            now). The history entry still carries the time it was recorded.
        public_note : str, optional
            The public explanation (what was done, or why nothing will be done); the only
            closing text the report, Uppföljning and the public map show. None keeps the
            current one.
        author_id : str, optional
            Pseudonymous id of the editor (default: the store's ``actor_id``).

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
                public_note=f.public_note if public_note is None else public_note.strip(),
                fixed_at=(_ms(fixed_at) if fixed_at is not None else now)
                if state.is_fixed() else None)
        return self._edit(finding_id, expected_version, author_role, note, change, author_id)

    def moderate(self, finding_id: str, expected_version: int, decision: str, *,
                 public_text: str | None = None, note: str = "",
                 author_role: str = "moderator", author_id: str | None = None) -> Finding:
        """Approve or reject a finding for publication (one history entry).

        Parameters
        ----------
        decision : {'approve', 'reject'}
            ``approve`` makes the finding public (unless hidden); ``reject`` keeps it
            internal for good (it stays in the store and in the staff views).
        public_text : str, optional
            With ``approve``: the edited public description. The original text is kept in
            ``description_original`` and in the history, visible to staff.
        note : str
            Note for the history (e.g. why rejected).

        Raises
        ------
        ValidationError
            An unknown decision, or public text with a rejection.
        ConflictError
            The finding changed since *expected_version*.
        """
        src = f"finding {finding_id}"
        if decision not in MODERATION_DECISIONS:
            raise ValidationError([Problem(src, "", "decision", f"unknown decision "
                                           f"{decision!r}", "use 'approve' or 'reject'",
                                           column_label="field")])
        if public_text is not None and decision != "approve":
            raise ValidationError([Problem(src, "", "public_text",
                                           "a public text only goes with 'approve'",
                                           "leave it out when rejecting",
                                           column_label="field")])
        target = MODERATION_DECISIONS[decision]

        def change(f: Finding) -> Finding:
            desc = f.description if public_text is None else public_text.strip()
            return dataclasses.replace(f, moderation=target, description=desc)
        label = {"approve": "godkänd för publicering", "reject": "inte publicerad"}[decision]
        return self._edit(finding_id, expected_version, author_role,
                          f"moderering: {label}" + (f" — {note}" if note else ""), change,
                          author_id, allow=("moderation",))

    def report_not_fixed(self, finding_id: str, comment: str = "") -> Finding:
        """A resident says a finding marked fixed is not fixed ("Är det åtgärdat?").

        The finding is flagged for staff review (``not_fixed_reports`` + 1) and the report
        goes into the history as role ``public``; the optional *comment* is internal
        (never public; it may hold personal data) and cut to 500 characters. The state does
        not change: staff decide with :meth:`review_not_fixed`.

        Raises
        ------
        ValidationError
            The finding is not public, or not marked fixed.
        KeyError
            Unknown finding.
        """
        f = self.get_finding(finding_id)
        if not f.state.is_fixed() or f.non_public or f.moderation != APPROVED:
            raise ValidationError([Problem(
                f"finding {finding_id}", "", "state", "only public findings marked fixed "
                "can be reported as not fixed", "report it as a new finding instead",
                column_label="field")])
        note = "invånare: inte åtgärdat" + (f" — {comment.strip()[:500]}"
                                              if comment.strip() else "")
        return self._edit(finding_id, f.version, "public", note,
                          lambda x: dataclasses.replace(
                              x, not_fixed_reports=x.not_fixed_reports + 1),
                          author_id="public", allow=("not_fixed_reports",))

    def review_not_fixed(self, finding_id: str, expected_version: int, *, reopen: bool,
                         note: str, author_role: str = "staff",
                         author_id: str | None = None) -> Finding:
        """Staff answer residents' "not fixed" reports: reopen the finding (state
        ``bedömd``) or keep it fixed; either way the reports are cleared, and the decision
        is in the history."""
        from walks.model import BEDOMD

        def change(f: Finding) -> Finding:
            if reopen:
                return dataclasses.replace(f, not_fixed_reports=0, state=BEDOMD, fixed_at=None)
            return dataclasses.replace(f, not_fixed_reports=0)
        label = "återöppnad efter invånares rapport" if reopen else \
            "kontrollerad: åtgärdad"
        return self._edit(finding_id, expected_version, author_role,
                          f"{label}" + (f" — {note}" if note else ""), change, author_id,
                          allow=("not_fixed_reports",))

    def moderation_queue(self) -> gpd.GeoDataFrame:
        """Findings waiting for moderation (``moderation == 'pending'``), oldest first."""
        f = self.findings()
        return f.loc[f["moderation"].eq(PENDING)]

    def history(self, finding_id: str) -> list[FindingUpdate]:
        """The finding's history, oldest first (append-only)."""
        with self.backend.reading() as tx:
            return [_record_update(r) for r in tx.updates(finding_id)]

    # import -----------------------------------------------------------------------------
    def import_findings(self, gdf: gpd.GeoDataFrame, source: str, dry_run: bool = False, *,
                        author_role: str = "import", author_id: str | None = None,
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
            - ``luminaire_id`` (str or NA, optional): the lamp a fault is about;
            - ``non_public`` (bool, optional): never publish (a field form's
              "Visa inte offentligt" box);
            - ``geometry``: Points, in the store CRS (other CRSs are reprojected).

            Only ``category`` and ``geometry`` are required; missing optional columns
            take the NA defaults.
        source : str
            Source label for messages and the history (e.g. the file name).
        dry_run : bool
            Validate and report; write nothing (no rows, no photos).
        author_role : str
            Role written to the history.
        author_id : str, optional
            Pseudonymous id of the importer (default: the store's ``actor_id``).
        on_transaction : callable, optional
            Test hook: called inside the open write transaction after all rows are
            written and before COMMIT.

        Returns
        -------
        ImportReport
            Counts and per-row outcome. Rows whose ``(source_id, content hash)`` is already
            in the store (or earlier in the frame) are duplicates and skipped, so
            re-importing the same file creates nothing. The backend enforces this with a
            unique constraint, so concurrent imports of one file cannot both insert a row.

        Raises
        ------
        ImportRejectedError
            (a :class:`ValidationError`) when any row has a problem and *dry_run* is False;
            nothing is written. Its ``report`` lists every problem by row.
        """
        prep = prepare_import(gdf, self.crs, source, self.categories, self.max_photo_bytes)
        who = self._who(author_id)
        findings = [(pos, row, dataclasses.replace(
            f, moderation=self.moderation.initial(f.channel, author_role)))
            for pos, row, f in prep.findings]
        dup_notes: list[Problem] = []  # likely duplicates of stored findings (50 m rule)

        def plan(t: Any) -> _Plan:
            """Classify rows as new/duplicate against the store (inside the transaction)."""
            hashes = [f.content_hash for _p, _r, f in findings if f.content_hash]
            existing = t.import_keys(hashes)
            existing = {(sid or None, ch): uid for (sid, ch), uid in existing.items()}
            sids = sorted({f.source_id for _p, _r, f in findings if f.source_id})
            by_source = t.source_ids(sids)
            rows: list[tuple[int, ImportRow]] = []
            new: list[Finding] = []
            changed: list[Problem] = []
            for pos, row, f in findings:
                key = (f.source_id or None, f.content_hash or "")
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
            dup_notes[:] = self._likely_duplicates(t, source, rows, new)
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
                notes=(*prep.notes, *changed, *dup_notes), rows=tuple(ordered))

        if dry_run or prep.problems:
            with self.backend.reading() as t:
                rep = report(plan(t))
            if prep.problems and not dry_run:
                logger.warning("import of %s rejected: %d problem(s)", source,
                               len(prep.problems))
                raise ImportRejectedError(rep)
            return rep

        # Photo bytes first (content-addressed: an aborted import leaves only harmless,
        # unreferenced blobs; the rows that reference them are all-or-nothing).
        stored: dict[str, StoredPhoto] = {}
        for _p, row, f in findings:
            for p in prep.photo_paths.get(f.id, []):
                sp = self._put_photo(p)
                if sp.sha256 not in f.photos:
                    # The file changed between the check and now: its hash is part of the
                    # finding's content key, so the rows would reference a photo not stored.
                    raise ValidationError([Problem(
                        source, row, "photo_paths",
                        f"the photo {Path(p).name} changed while it was being imported",
                        "import the file again once the photos are complete")])
                stored[sp.sha256] = sp

        def tx(t: Any) -> _Plan:
            rows, new, changed = plan(t)
            needed = {h for f in new for h in f.photos}
            t.insert_photos([_photo_record(stored[h]) for h in sorted(needed)])
            now = _now()
            inserted = t.insert_findings(
                [_finding_record(f, updated=now, created_by=who) for f in new])
            if len(inserted) < len(new):
                # Another import committed the same rows since we planned: they are
                # duplicates now (the unique import key said so).
                lost = [f for f in new if f.id not in inserted]
                again = t.import_keys([f.content_hash for f in lost if f.content_hash])
                again = {(sid or None, ch): uid for (sid, ch), uid in again.items()}
                lost_ids = {f.id: f for f in lost}
                rows = [(pos, ImportRow(r.row, "duplicate",
                                        again.get((lost_ids[r.finding_id].source_id or None,
                                                   lost_ids[r.finding_id].content_hash or ""),
                                                  r.finding_id), r.category))
                        if r.finding_id in lost_ids else (pos, r) for pos, r in rows]
                new = [f for f in new if f.id in inserted]
            t.append_updates([_update_record(FindingUpdate(
                f.id, now, author_role, None, NY.label, f"importerad från {source}", {}, 1,
                author_id=who)) for f in new])
            if on_transaction is not None:
                on_transaction()
            return rows, new, changed
        rep = report(self.backend.write(tx))
        logger.info("%s", rep.summary())
        return rep

    def _likely_duplicates(self, t: Any, source: str, rows: list[tuple[int, ImportRow]],
                           new: list[Finding]) -> list[Problem]:
        """Notes for new rows near an open stored finding of the same category (the 50 m
        rule of :mod:`walks.duplicates`, as the app applies it when recording)."""
        from walks.duplicates import DUPLICATE_RADIUS_M, nearest_duplicates

        if not new:
            return []
        stored = t.finding_records(True)
        if not stored:
            return []
        existing = gpd.GeoDataFrame(
            {"category": [r["category"] for r in stored],
             "state_label": [r["state_label"] for r in stored]},
            index=pd.Index([r["uuid"] for r in stored]),
            geometry=[r["geometry"] for r in stored], crs=self.crs)
        pts = np.array([f.geometry for f in new], dtype=object)
        cats = np.array([f.category for f in new], dtype=object)
        near = nearest_duplicates(pts, cats, existing, DUPLICATE_RADIUS_M)
        row_of = {r.finding_id: r.row for _p, r in rows if r.action == "new"}
        return [Problem(
            source, row_of.get(new[int(p)].id, ""), "geometry",
            f"likely duplicate: open finding {fid} of the same category is {d:.0f} m away",
            "check both; if it is the same thing, close one of them and note the other")
            for p, fid, d in near.itertuples(index=False)]

    # photos -----------------------------------------------------------------------------
    def _put_photo(self, data: bytes | str | Path, declared_name: str | None = None,
                   declared_type: str | None = None) -> StoredPhoto:
        """Check a photo, put its original and public copy into the backend's blobs."""
        sp, raw, pub = prepare_photo(data, self.crs, declared_name, declared_type,
                                     max_bytes=self.max_photo_bytes)
        blobs = self.backend.photos
        blobs.put(sp.sha256, sp.info.ext, raw)
        blobs.put(sp.public_sha256, ".jpg", pub, public=True)
        return dataclasses.replace(
            sp, path=blobs.local_path(sp.sha256, sp.info.ext),
            public_path=blobs.local_path(sp.public_sha256, ".jpg", public=True))

    def add_photo(self, data: bytes | str | Path, declared_name: str | None = None,
                  declared_type: str | None = None) -> StoredPhoto:
        """Check and store a photo under its content hash (see :mod:`walks.photos`).

        Attach it to a finding with ``update_finding(..., photos=[*old, photo.sha256])``
        or by passing the hash in a new :class:`Finding`. ``proposed_location`` is the
        EXIF GPS position in the store CRS, if any. The public copy has no EXIF.

        Raises
        ------
        PhotoError
            Too large, wrong or unreadable type.
        """
        sp = self._put_photo(data, declared_name, declared_type)
        rec = _photo_record(sp)
        self.backend.write(lambda t: t.insert_photos([rec]))
        return sp

    def photo_bytes(self, sha256: str, public: bool = False) -> bytes:
        """The bytes of a stored photo: the original by its hash, or the public copy
        (no EXIF) by its public hash (``public=True``).

        Raises
        ------
        KeyError
            Unknown hash, or the bytes are missing.
        """
        with self.backend.reading() as t:
            r = t.photo(sha256, public=public)
        if r is None:
            raise KeyError(f"no photo {sha256!r} in {self.label}")
        if public:
            return self.backend.photos.get(r["public_sha256"], ".jpg", public=True)
        return self.backend.photos.get(r["sha256"], r["ext"])

    def photo_file(self, sha256: str, public: bool = False) -> Path:
        """Path of a stored photo when photos live in a folder (GeoPackage default).

        Raises
        ------
        KeyError
            Unknown hash.
        StoreError
            The photos live in the database: use :meth:`photo_bytes`.
        """
        with self.backend.reading() as t:
            r = t.photo(sha256, public=public)
        if r is None:
            raise KeyError(f"no photo {sha256!r} in {self.label}")
        path = (self.backend.photos.local_path(r["public_sha256"], ".jpg", public=True)
                if public else self.backend.photos.local_path(r["sha256"], r["ext"]))
        if path is None:
            raise StoreError(self.label, "photos are kept in the database",
                             "use photo_bytes() instead of photo_file()")
        return Path(path)

    # documents (the promise logs) -------------------------------------------------------
    def document(self, name: str) -> str | None:
        """The text of the document *name* (e.g. ``aktiviteter.csv``), or None."""
        with self.backend.reading() as t:
            rec = t.document(name)
        return None if rec is None else str(rec["content"])

    def update_document(self, name: str, change: Callable[[str | None], str | None]) -> bool:
        """Read, change and write the document *name* in one write transaction.

        *change* gets the current text (None when there is none) and returns the new text,
        or None to leave it as it is. Concurrent updates of the same document (other app
        instances, the command line) wait for each other, so none is lost. Returns whether
        the document was written.
        """
        who = self.actor_id

        def tx(t: Any) -> bool:
            rec = t.document(name, lock=True)
            new = change(None if rec is None else str(rec["content"]))
            if new is None or (rec is not None and new == rec["content"]):
                return False
            t.put_document({"name": name, "content": new,
                            "updated": _now(), "updated_by": who})
            return True
        return bool(self.backend.write(tx))

    # whole-store copy -------------------------------------------------------------------
    def digest(self) -> dict[str, tuple[int, str]]:
        """Counts and content hashes of every table, to check a copy: ``{table: (n, sha)}``."""
        with self.backend.reading() as t:
            tables = {"findings": (t.finding_records(True), FINDING_FIELDS),
                      "walks": (t.walk_records(), WALK_FIELDS),
                      "finding_updates": (t.updates(None), UPDATE_FIELDS),
                      "photos": (t.photo_records(), PHOTO_FIELDS),
                      "documents": (t.document_records(), DOCUMENT_FIELDS)}
        out = {name: (len(rows), record_digest(rows, keys))
               for name, (rows, keys) in tables.items()}
        photos = tables["photos"][0]  # the same snapshot as the tables above
        h = hashlib.sha256()
        for p in sorted(photos, key=lambda p: p["sha256"]):
            h.update(hashlib.sha256(self.backend.photos.get(p["sha256"], p["ext"])).digest())
            h.update(hashlib.sha256(self.backend.photos.get(p["public_sha256"], ".jpg",
                                                            public=True)).digest())
        out["photo_bytes"] = (len(photos), h.hexdigest())
        return out

    def copy_to(self, dst: FindingStore) -> dict[str, tuple[int, str]]:
        """Copy everything (findings, walks, history, photos, the promise logs) into the
        empty store *dst*.

        All or nothing: the records go in one transaction of *dst*; afterwards counts and
        hashes of both stores are compared. Times, versions, ids and author ids are kept.

        Returns
        -------
        dict
            The digest of both stores (:meth:`digest`).

        Raises
        ------
        StoreError
            *dst* is not empty, is in another CRS, or the copy does not match.
        """
        if CRS.from_user_input(dst.crs) != CRS.from_user_input(self.crs):
            raise StoreError(dst.label, f"the target store is in {dst.crs}, the source in "
                             f"{self.crs}", "copy between stores of the same profile CRS")
        with dst.backend.reading() as t:
            if (t.finding_records(True) or t.walk_records() or t.photo_records()
                    or t.document_records()):
                raise StoreError(dst.label, "the target store is not empty",
                                 "copy into a new, empty store (trygga store init first)")
        with self.backend.reading() as t:
            findings = t.finding_records(True)
            walks = t.walk_records()
            updates = t.updates(None)
            photos = t.photo_records()
            documents = t.document_records()
        for p in photos:
            dst.backend.photos.put(p["sha256"], p["ext"],
                                   self.backend.photos.get(p["sha256"], p["ext"]))
            dst.backend.photos.put(p["public_sha256"], ".jpg",
                                   self.backend.photos.get(p["public_sha256"], ".jpg",
                                                           public=True), public=True)

        def tx(t: Any) -> None:
            t.insert_photos(photos)
            for w in walks:
                t.insert_walk(w)
            done = t.insert_findings(findings)
            if len(done) != len(findings):
                raise StoreError(dst.label, "some findings could not be copied",
                                 "copy into a new, empty store")
            t.append_updates(updates)
            for d in documents:
                t.put_document(d)
        dst.backend.write(tx)
        have, want = dst.digest(), self.digest()
        if have != want:
            bad = [k for k in want if have.get(k) != want[k]]
            raise StoreError(dst.label, f"the copy differs from the source in: {', '.join(bad)}",
                             "report this as a bug; the source store is unchanged")
        logger.info("copied %s to %s: %s", self.label, dst.label,
                    {k: n for k, (n, _h) in want.items()})
        return want

    def change_token(self) -> tuple[Any, ...]:
        """Something that changes whenever the store's content changes (for caches)."""
        token = getattr(self.backend, "change_token", None)
        if callable(token):
            return tuple(token())
        with self.backend.reading() as t:
            rows = t.updates(None)
        return (len(rows), str(rows[-1]["time"]) if rows else "")


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
    categories, max_photo_bytes, moderation, actor_id, check_schema
        See :class:`FindingStore`.
    busy_timeout_s : float
        How long a write waits for another writer's lock before retrying.
    create : bool
        Create a missing file (default True).

    Examples
    --------
    >>> store = GeoPackageStore("data/stromstad/walks.gpkg", "EPSG:3007")  # doctest: +SKIP
    >>> store.findings().query("state_type == 'open'")  # doctest: +SKIP
    """

    backend: GeoPackageBackend

    def __init__(self, path: str | Path, crs: str, *, photos_dir: str | Path | None = None,
                 categories: Sequence[Category] = CATEGORIES, busy_timeout_s: float = 30.0,
                 max_photo_bytes: int = DEFAULT_MAX_BYTES,
                 moderation: ModerationPolicy | None = None, actor_id: str | None = None,
                 check_schema: bool = True, create: bool = True):
        backend = GeoPackageBackend(path, crs, photos_dir=photos_dir,
                                    busy_timeout_s=busy_timeout_s, create=create)
        super().__init__(backend, categories=categories, max_photo_bytes=max_photo_bytes,
                         moderation=moderation, actor_id=actor_id, check_schema=check_schema)

    @property
    def path(self) -> Path:
        """The GeoPackage file."""
        return self.backend.path

    @property
    def photos_dir(self) -> Path:
        """The photos folder."""
        return self.backend.photos_dir

    @classmethod
    def from_profile(cls, profile: Profile, **kwargs: Any) -> GeoPackageStore:
        """The GeoPackage store named by ``profile.store`` (default ``walks.gpkg`` in the
        profile folder), in the profile CRS."""
        target = store_target(profile)
        if is_postgres_target(target):
            raise StoreError(str(profile.path), "the profile's store is a PostgreSQL database",
                             "use walks.store.open_store(profile)")
        kwargs.setdefault("moderation", ModerationPolicy.from_profile(profile))
        return cls(target, profile.crs, **kwargs)

    def __repr__(self) -> str:
        return f"GeoPackageStore({str(self.path)!r}, {self.crs!r})"


# --------------------------------------------------------------------------------------
# Choosing the backend
# --------------------------------------------------------------------------------------

_PG_PREFIXES = ("postgresql://", "postgres://", "postgresql:", "service=", "pg:")


def is_postgres_target(target: str) -> bool:
    """True when a store setting names a PostgreSQL database (URL, ``service=…``,
    ``pg:`` for the PG* environment variables)."""
    return str(target).strip().lower().startswith(_PG_PREFIXES)


def store_target(profile: Profile) -> str:
    """The store the profile names: ``TRYGGA_STORE`` if set, else ``profile.store``
    (relative file paths start at the profile folder), else ``walks.gpkg`` beside it."""
    env = os.environ.get("TRYGGA_STORE", "").strip()
    raw = env or (str(profile.store) if profile.store else "")
    if not raw:
        return str(profile.folder / "walks.gpkg")
    if is_postgres_target(raw):
        return raw
    if "://" in raw:
        raise StoreError(str(profile.path), f"store {raw!r} is neither a file path nor a "
                         "PostgreSQL address",
                         "use a .gpkg file path, or postgresql://host/database (no password: "
                         "use PGPASSWORD, ~/.pgpass or a service file)")
    p = Path(raw)
    return str(p if p.is_absolute() else (profile.folder / p))


def override_store(profile: Profile, target: str | Path | None) -> Profile:
    """*profile* with its store replaced by *target* (a command line's ``--store``).

    File paths are taken relative to the current folder (not the profile folder); a
    PostgreSQL address is kept as it is. None returns *profile* unchanged.
    """
    if target is None or str(target).strip() == "":
        return profile
    text = str(target).strip()
    if not is_postgres_target(text):
        text = str(Path(text).resolve())
    return dataclasses.replace(profile, store=text)


def open_store(profile: Profile, *, actor_id: str | None = None, create: bool = True,
               check_schema: bool = True, **kwargs: Any) -> FindingStore:
    """The profile's findings store on the right backend.

    Parameters
    ----------
    profile : Profile
        ``store`` (or the ``TRYGGA_STORE`` environment variable) says where: a file path
        → GeoPackage; ``postgresql://host:port/db`` (no password), ``service=NAME`` (a
        libpq service) or ``pg:`` (libpq's PG* environment variables) → PostGIS, in the
        schema ``store_schema``. ``[moderation]`` gives the moderation policy.
    actor_id : str, optional
        Who writes (see :class:`FindingStore`).
    create : bool
        Create a missing GeoPackage file (False: a missing file is an error).
    check_schema : bool
        See :class:`FindingStore`.

    Raises
    ------
    StoreError
        Unreachable server, wrong password, no PostGIS, no tables yet or an old schema;
        the message says what to do.
    """
    target = store_target(profile)
    policy = ModerationPolicy.from_profile(profile)
    if is_postgres_target(target):
        from walks.backends.postgis import PostGISBackend

        photos_dir = getattr(profile, "store_photos", None)
        backend: Backend = PostGISBackend(
            target, profile.crs, schema=getattr(profile, "store_schema", "trygga"),
            photos_dir=photos_dir)
        return FindingStore(backend, moderation=policy, actor_id=actor_id,
                            check_schema=check_schema, **kwargs)
    return GeoPackageStore(target, profile.crs, moderation=policy, actor_id=actor_id,
                           check_schema=check_schema, create=create, **kwargs)
