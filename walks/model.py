"""The safety-walk data model: walks, findings, their states and their history.

Everything here is a frozen dataclass that validates itself on construction and reports
every problem at once in one :class:`~layers._common.ValidationError` naming the field
(STYLE rule 4).

States are data with a type (STYLE rule 7): a :class:`State` has a Swedish label and a
type ``open`` / ``fixed`` / ``closed``; code asks :meth:`State.is_open` and never
compares labels. Visibility (``non_public``) is separate from state. History
(:class:`FindingUpdate`) is appended, never overwritten.

Privacy: no person names are stored anywhere. Walk participants are counts per group
(:data:`PARTICIPANT_GROUPS`), updates carry an author *role* (:data:`AUTHOR_ROLES`).

Coordinates are in the store's (the profile's) metric CRS, in metres. Times are
timezone-aware :class:`datetime.datetime`.
"""

from __future__ import annotations

import logging
import math
import uuid as uuid_module
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from shapely.geometry import LineString, Point

from layers._common import Problem, ValidationError
from walks.categories import Category, normalize_text

logger = logging.getLogger(__name__)

StateType = Literal["open", "fixed", "closed"]
WalkStateType = Literal["planned", "held", "published"]


def _problem(source: str, fieldname: str, message: str, fix: str) -> Problem:
    return Problem(source, "", fieldname, message, fix, column_label="field")


# --------------------------------------------------------------------------------------
# States
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class State:
    """A finding's state: a label shown to people and a type code can reason about.

    Attributes
    ----------
    label : str
        Swedish label, e.g. ``"bedömd"``.
    type : {'open', 'fixed', 'closed'}
        ``open`` needs work, ``fixed`` was fixed, ``closed`` was closed without a fix.
    requires_reason : bool
        True when entering this state needs a written reason (closed without action).
    """

    label: str
    type: StateType
    requires_reason: bool = False

    def is_open(self) -> bool:
        """True for states that still need work (ny, bedömd, planerad)."""
        return self.type == "open"

    def is_fixed(self) -> bool:
        """True when the finding was fixed (åtgärdad)."""
        return self.type == "fixed"

    def is_closed(self) -> bool:
        """True when the finding was closed without a fix (avslutad utan åtgärd)."""
        return self.type == "closed"


NY = State("ny", "open")
BEDOMD = State("bedömd", "open")
PLANERAD = State("planerad", "open")
ATGARDAD = State("åtgärdad", "fixed")
AVSLUTAD_UTAN_ATGARD = State("avslutad utan åtgärd", "closed", requires_reason=True)

#: All finding states, in workflow order.
FINDING_STATES: tuple[State, ...] = (NY, BEDOMD, PLANERAD, ATGARDAD, AVSLUTAD_UTAN_ATGARD)
_STATE_ALIASES = {"avslutad": AVSLUTAD_UTAN_ATGARD, "new": NY, "assessed": BEDOMD,
                  "planned": PLANERAD, "fixed": ATGARDAD, "closed": AVSLUTAD_UTAN_ATGARD}


def finding_state(label: str | State) -> State:
    """The :class:`State` for *label* (case-insensitive; ``"avslutad"`` is accepted).

    Raises
    ------
    ValidationError
        Unknown label; the message lists the states.
    """
    if isinstance(label, State):
        return label
    key = str(label).strip().casefold()
    for s in FINDING_STATES:
        if s.label == key:
            return s
    if key in _STATE_ALIASES:
        return _STATE_ALIASES[key]
    raise ValidationError([_problem(
        "finding", "state", f"unknown state {label!r}",
        f"use one of: {', '.join(s.label for s in FINDING_STATES)}")])


@dataclass(frozen=True)
class WalkState:
    """A walk's state: ``planerad`` → ``genomförd`` → ``protokoll publicerat``.

    Attributes
    ----------
    label : str
        Swedish label.
    type : {'planned', 'held', 'published'}
        What code reasons about.
    """

    label: str
    type: WalkStateType

    def is_planned(self) -> bool:
        """True before the walk has taken place."""
        return self.type == "planned"

    def is_held(self) -> bool:
        """True once the walk has taken place (protocol not yet published)."""
        return self.type == "held"

    def is_published(self) -> bool:
        """True once the protocol has been published."""
        return self.type == "published"

    @property
    def step(self) -> int:
        """Position in the walk workflow (0, 1, 2); states only move forward."""
        return WALK_STATES.index(self)


WALK_PLANERAD = WalkState("planerad", "planned")
WALK_GENOMFORD = WalkState("genomförd", "held")
WALK_PUBLICERAD = WalkState("protokoll publicerat", "published")
WALK_STATES: tuple[WalkState, ...] = (WALK_PLANERAD, WALK_GENOMFORD, WALK_PUBLICERAD)


def walk_state(label: str | WalkState) -> WalkState:
    """The :class:`WalkState` for *label* (case-insensitive)."""
    if isinstance(label, WalkState):
        return label
    key = str(label).strip().casefold()
    for s in WALK_STATES:
        if s.label == key:
            return s
    raise ValidationError([_problem(
        "walk", "state", f"unknown walk state {label!r}",
        f"use one of: {', '.join(s.label for s in WALK_STATES)}")])


# --------------------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------------------

#: Light conditions of a walk.
LIGHT_CONDITIONS: tuple[str, ...] = ("dagsljus", "skymning", "mörker")

#: Responsible parties for a finding's measure.
RESPONSIBLE_PARTIES: tuple[str, ...] = (
    "kommun gata/park", "kommun fastighet", "Trafikverket", "bostadsbolag",
    "privat fastighetsägare",
)
_RESPONSIBLE_ALIASES = {
    "gata/park": "kommun gata/park", "gatuenheten": "kommun gata/park",
    "parkenheten": "kommun gata/park", "skolan/fastighet": "kommun fastighet",
    "fastighet": "kommun fastighet", "trafikverket": "Trafikverket",
    "bostadsbolaget": "bostadsbolag", "fastighetsägare": "privat fastighetsägare",
}

#: Participant groups a walk counts (no names are ever stored). English keys are accepted
#: as aliases by :func:`normalize_participants`.
PARTICIPANT_GROUPS: tuple[str, ...] = (
    "boende", "kvinnor", "män", "unga", "barn", "äldre", "personer med funktionsnedsättning",
    "personal", "polis", "förtroendevalda", "fastighetsägare", "föreningar", "övriga",
)
_GROUP_ALIASES = {
    "residents": "boende", "women": "kvinnor", "men": "män", "young people": "unga",
    "youth": "unga", "ungdomar": "unga", "children": "barn", "elderly": "äldre",
    "staff": "personal", "tjänstepersoner": "personal", "police": "polis",
    "politicians": "förtroendevalda", "politiker": "förtroendevalda",
    "property owners": "fastighetsägare", "associations": "föreningar", "other": "övriga",
}

#: Roles that may author an update. Roles, never names.
AUTHOR_ROLES: tuple[str, ...] = ("staff", "moderator", "admin", "import", "system", "public")

#: Moderation states of a finding (visibility, separate from its state): residents'
#: findings wait as ``pending`` until a moderator approves (public) or rejects them.
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
MODERATION_STATES: tuple[str, ...] = (PENDING, APPROVED, REJECTED)

#: Allowed severities: 1 (low) to 3 (high).
SEVERITIES: tuple[int, ...] = (1, 2, 3)


def normalize_responsible(text: str | None) -> str | None:
    """Canonical responsible party for *text*, or None for empty text.

    Raises
    ------
    ValidationError
        Unknown party; the message lists the parties.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        return None
    s = str(text).strip()
    for p in RESPONSIBLE_PARTIES:
        if p.casefold() == s.casefold():
            return p
    alias = _RESPONSIBLE_ALIASES.get(s.casefold())
    if alias:
        return alias
    raise ValidationError([_problem(
        "finding", "responsible", f"unknown responsible party {s!r}",
        f"use one of: {', '.join(RESPONSIBLE_PARTIES)}")])


def normalize_participants(counts: Mapping[str, Any]) -> dict[str, int]:
    """Participant counts per known group; English group names are mapped to Swedish.

    Raises
    ------
    ValidationError
        Unknown groups (which could be names) or counts that are not whole numbers >= 0.
    """
    problems = []
    out: dict[str, int] = {}
    by_norm = {normalize_text(g): g for g in PARTICIPANT_GROUPS}
    by_norm.update({normalize_text(k): v for k, v in _GROUP_ALIASES.items()})
    for key, value in dict(counts).items():
        group = by_norm.get(normalize_text(key))
        if group is None:
            problems.append(_problem(
                "walk", "participants", f"unknown participant group {key!r}",
                "count participants per group, never by name; groups: "
                + ", ".join(PARTICIPANT_GROUPS)))
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(_problem(
                "walk", "participants", f"count for {group!r} is {value!r}",
                "give a whole number of 0 or more"))
            continue
        out[group] = out.get(group, 0) + value
    if problems:
        raise ValidationError(problems)
    return out


def _aware(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None \
        and value.tzinfo.utcoffset(value) is not None


def _point_ok(geom: Any) -> bool:
    return (isinstance(geom, Point) and not geom.is_empty
            and math.isfinite(geom.x) and math.isfinite(geom.y))


def new_id() -> str:
    """A new random UUID as a string."""
    return str(uuid_module.uuid4())


# --------------------------------------------------------------------------------------
# Walk
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stop:
    """One stop on a walk route.

    Attributes
    ----------
    point : Point
        Position in the store CRS, metres.
    label : str
        What the stop is about, e.g. ``"Cykelstället vid skolan"`` (never a person's name).
    """

    point: Point
    label: str = ""


@dataclass(frozen=True)
class Walk:
    """A safety walk (trygghetsvandring).

    Attributes
    ----------
    id : str
        Stable id, e.g. ``"stromstiernaskolan-2025-höst"``.
    title : str
        Title shown in the protocol.
    start : datetime
        Date and time the walk starts, timezone-aware.
    light : str
        Light condition, one of :data:`LIGHT_CONDITIONS`.
    area : str
        Area walked, e.g. ``"Strömsdalen"``.
    school : str or None
        Designated school the walk is for, if any.
    route : LineString or None
        Planned or walked route in the store CRS.
    stops : tuple of Stop
        Ordered stops.
    organiser : str
        Organising unit (a unit, not a person), e.g. ``"Samhällsbyggnad"``.
    participants : dict
        Count per group (:data:`PARTICIPANT_GROUPS`). No names.
    state : WalkState
        ``planerad`` → ``genomförd`` → ``protokoll publicerat``.
    version : int
        Edit version, starts at 1 (optimistic concurrency).
    invited : tuple of str
        Groups invited at the förmöte (:data:`PARTICIPANT_GROUPS`; the Brå/Boverket walk
        cycle). No names.
    focus : str
        What the walk looks at, decided at the förmöte (e.g. ``"belysning, skolvägar"``).
    premeeting_at : datetime or None
        When the förmöte (planning meeting) was held, timezone-aware.
    feedback_at : datetime or None
        When the återkopplingsmöte (feedback meeting: measure, who and when for each
        finding, or why not) was held.
    protocol_published_at : datetime or None
        When the public protocol was published (set when the walk reaches
        ``protokoll publicerat``).
    follows : str or None
        Id of the earlier walk on the same route that this one follows up.
    """

    id: str
    title: str
    start: datetime
    light: str = "mörker"
    area: str = ""
    school: str | None = None
    route: LineString | None = None
    stops: tuple[Stop, ...] = ()
    organiser: str = ""
    participants: Mapping[str, int] = field(default_factory=dict)
    state: WalkState = WALK_PLANERAD
    version: int = 1
    invited: tuple[str, ...] = ()
    focus: str = ""
    premeeting_at: datetime | None = None
    feedback_at: datetime | None = None
    protocol_published_at: datetime | None = None
    follows: str | None = None

    def __post_init__(self) -> None:
        src = f"walk {self.id!r}"
        problems = []
        object.__setattr__(self, "invited", tuple(self.invited))
        unknown = [g for g in self.invited if g not in PARTICIPANT_GROUPS]
        if unknown:
            problems.append(_problem(src, "invited", f"unknown group(s) {', '.join(unknown)}",
                                     "invite groups, never named people; groups: "
                                     f"{', '.join(PARTICIPANT_GROUPS)}"))
        for name in ("premeeting_at", "feedback_at", "protocol_published_at"):
            value = getattr(self, name)
            if value is not None and not _aware(value):
                problems.append(_problem(src, name, "not a timezone-aware time",
                                         "give the time with a time zone"))
        if self.follows is not None and self.follows == self.id:
            problems.append(_problem(src, "follows", "a walk cannot follow up itself",
                                     "give the id of the earlier walk"))
        if not isinstance(self.id, str) or not self.id.strip():
            problems.append(_problem(src, "id", "missing walk id", "give the walk an id"))
        if not isinstance(self.title, str) or not self.title.strip():
            problems.append(_problem(src, "title", "missing title", "give the walk a title"))
        if not _aware(self.start):
            problems.append(_problem(src, "start", f"{self.start!r} is not a timezone-aware "
                                     "date and time", "give the time with a time zone, e.g. "
                                     "2025-10-15T18:00+02:00"))
        if self.light not in LIGHT_CONDITIONS:
            problems.append(_problem(src, "light", f"unknown light condition {self.light!r}",
                                     f"use one of: {', '.join(LIGHT_CONDITIONS)}"))
        if self.route is not None and not (isinstance(self.route, LineString)
                                           and not self.route.is_empty):
            problems.append(_problem(src, "route", "route is not a non-empty LineString",
                                     "draw the route as one line"))
        for i, s in enumerate(self.stops):
            if not isinstance(s, Stop) or not _point_ok(s.point):
                problems.append(_problem(src, "stops", f"stop {i + 1} is not a Stop with a "
                                         "point", "give each stop a point"))
        if not isinstance(self.state, WalkState):
            problems.append(_problem(src, "state", f"{self.state!r} is not a WalkState",
                                     "use walks.model.walk_state(label)"))
        if isinstance(self.version, bool) or not isinstance(self.version, int) \
                or self.version < 1:
            problems.append(_problem(src, "version", f"bad version {self.version!r}",
                                     "versions are whole numbers from 1"))
        try:
            object.__setattr__(self, "participants", normalize_participants(self.participants))
        except ValidationError as exc:
            problems.extend(Problem(src, p.row, p.column, p.message, p.fix, p.column_label)
                            for p in exc.problems)
        object.__setattr__(self, "stops", tuple(self.stops))
        if problems:
            raise ValidationError(problems)


# --------------------------------------------------------------------------------------
# Finding
# --------------------------------------------------------------------------------------

#: Fields of :class:`Finding` that :meth:`walks.store.FindingStore.update_finding` may
#: change. State changes go through ``set_state``; ids, versions and import keys never
#: change.
EDITABLE_FIELDS: tuple[str, ...] = (
    "geometry", "category", "severity", "description", "internal_note", "photos",
    "responsible", "measure", "deadline", "non_public", "walk_id", "channel", "public_note",
    "luminaire_id",
)

#: Fields of :class:`Walk` that :meth:`walks.store.FindingStore.update_walk` may change
#: (the state goes through ``set_walk_state``; the id never changes).
WALK_EDITABLE_FIELDS: tuple[str, ...] = (
    "title", "start", "light", "area", "school", "route", "stops", "organiser",
    "participants", "invited", "focus", "premeeting_at", "feedback_at", "follows",
)


@dataclass(frozen=True)
class Finding:
    """One finding (fynd) from a walk or another channel.

    Attributes
    ----------
    id : str
        UUID string.
    geometry : Point
        Position in the store CRS, metres.
    created : datetime
        When the finding was made, timezone-aware.
    category : str
        A category label (:mod:`walks.categories`).
    severity : int
        1 (low) to 3 (high).
    description : str
        Public description (may be moderated; the original is kept, see
        ``description_original``).
    internal_note : str
        Staff-only note; never public.
    walk_id : str or None
        The walk the finding came from.
    channel : str or None
        Where it came from when not from a walk (or how it was imported), e.g.
        ``"import:qfield"``, ``"felanmälan"``. At least one of walk_id and channel is set.
    photos : tuple of str
        Content hashes (sha256) of the original photos.
    responsible : str or None
        One of :data:`RESPONSIBLE_PARTIES`.
    measure : str
        Planned or taken measure (åtgärd).
    deadline : date or None
        Deadline for the measure.
    state : State
        Current state (:data:`FINDING_STATES`).
    closed_reason : str
        Internal reason, required when the state requires one (avslutad utan åtgärd).
        Never public.
    public_note : str
        Public explanation of what was done or why nothing will be done; the only
        closing text public outputs show.
    non_public : bool
        Never publish this finding (visibility is separate from state).
    version : int
        Edit version, starts at 1 and grows by one per write.
    source_id : str or None
        Id in the source file of an import (for de-duplication).
    content_hash : str or None
        Hash of the imported content (for de-duplication).
    raw_category : str
        Category text as the source wrote it (imports).
    fixed_at : datetime or None
        When the finding was marked fixed.
    description_original : str or None
        The text as first submitted; kept when the public description is moderated.
    luminaire_id : str or None
        The luminaire (inventory id) a lamp fault is about; an open fault makes it dark
        in the lighting model until the finding is fixed.
    not_fixed_reports : int
        How many times residents said "not fixed" on the public page since staff last
        looked (:meth:`walks.store.FindingStore.report_not_fixed`).
    moderation : str
        ``pending``, ``approved`` or ``rejected`` (:data:`MODERATION_STATES`); only
        approved findings are public. The store sets it on creation from its moderation
        policy, whatever is passed.
    """

    id: str
    geometry: Point
    created: datetime
    category: str
    severity: int = 2
    description: str = ""
    internal_note: str = ""
    walk_id: str | None = None
    channel: str | None = None
    photos: tuple[str, ...] = ()
    responsible: str | None = None
    measure: str = ""
    deadline: date | None = None
    state: State = NY
    closed_reason: str = ""
    non_public: bool = False
    version: int = 1
    source_id: str | None = None
    content_hash: str | None = None
    raw_category: str = ""
    fixed_at: datetime | None = None
    description_original: str | None = None
    public_note: str = ""
    moderation: str = APPROVED
    luminaire_id: str | None = None
    not_fixed_reports: int = 0

    def validate(self, categories: Sequence[Category] | None = None) -> None:
        """Check every field; raise one :class:`ValidationError` naming each bad field.

        Parameters
        ----------
        categories : sequence of Category, optional
            When given, the category must be one of these labels (the store passes its
            categories); construction only checks that a category label is given.
        """
        src = f"finding {self.id}"
        problems: list[Problem] = []
        try:
            uuid_module.UUID(str(self.id))
        except ValueError:
            problems.append(_problem(src, "id", f"{self.id!r} is not a UUID",
                                     "use walks.model.new_id()"))
        if not _point_ok(self.geometry):
            problems.append(_problem(src, "geometry", "missing or empty point",
                                     "give the finding a position (a point)"))
        if not _aware(self.created):
            problems.append(_problem(src, "created", f"{self.created!r} is not a "
                                     "timezone-aware date and time",
                                     "give the time with a time zone"))
        labels = None if categories is None else {c.label for c in categories}
        if not isinstance(self.category, str) or not self.category.strip() or (
                labels is not None and self.category not in labels):
            problems.append(_problem(src, "category", f"unknown category {self.category!r}",
                                     "use a category label, e.g. via "
                                     "walks.categories.map_category()"))
        if isinstance(self.severity, bool) or self.severity not in SEVERITIES:
            problems.append(_problem(src, "severity", f"severity {self.severity!r} is not "
                                     "1, 2 or 3", "use 1 (low), 2 or 3 (high)"))
        for name in ("description", "internal_note", "measure", "closed_reason",
                     "raw_category", "public_note"):
            if not isinstance(getattr(self, name), str):
                problems.append(_problem(src, name, "not text", "give a text (may be empty)"))
        if not (self.walk_id or self.channel):
            problems.append(_problem(src, "walk_id", "neither walk_id nor channel is set",
                                     "give the walk id, or the channel (e.g. 'felanmälan') "
                                     "for findings not made on a walk"))
        if not all(isinstance(p, str) and len(p) == 64 for p in self.photos):
            problems.append(_problem(src, "photos", "photos must be sha256 content hashes",
                                     "add photos with the store's add_photo()"))
        if self.responsible is not None and self.responsible not in RESPONSIBLE_PARTIES:
            problems.append(_problem(src, "responsible",
                                     f"unknown responsible party {self.responsible!r}",
                                     f"use one of: {', '.join(RESPONSIBLE_PARTIES)}"))
        if self.deadline is not None and (not isinstance(self.deadline, date)
                                          or isinstance(self.deadline, datetime)):
            problems.append(_problem(src, "deadline", f"{self.deadline!r} is not a date",
                                     "give a date, e.g. 2025-12-31"))
        if not isinstance(self.state, State) or self.state not in FINDING_STATES:
            problems.append(_problem(src, "state", f"{self.state!r} is not a finding state",
                                     "use walks.model.finding_state(label)"))
        elif self.state.requires_reason and not str(self.closed_reason).strip():
            problems.append(_problem(src, "closed_reason",
                                     f"state {self.state.label!r} requires a reason",
                                     "say why the finding is closed without action"))
        if self.moderation not in MODERATION_STATES:
            problems.append(_problem(src, "moderation", f"unknown moderation state "
                                     f"{self.moderation!r}",
                                     f"use one of: {', '.join(MODERATION_STATES)}"))
        if not isinstance(self.non_public, bool):
            problems.append(_problem(src, "non_public", f"{self.non_public!r} is not "
                                     "True/False", "use True or False"))
        if isinstance(self.version, bool) or not isinstance(self.version, int) \
                or self.version < 1:
            problems.append(_problem(src, "version", f"bad version {self.version!r}",
                                     "versions are whole numbers from 1"))
        if self.fixed_at is not None and not _aware(self.fixed_at):
            problems.append(_problem(src, "fixed_at", "not a timezone-aware time",
                                     "give the time with a time zone"))
        if problems:
            raise ValidationError(problems)

    def __post_init__(self) -> None:
        object.__setattr__(self, "photos", tuple(self.photos))
        if self.description_original is None:
            object.__setattr__(self, "description_original", self.description)
        self.validate()


# --------------------------------------------------------------------------------------
# FindingUpdate (history)
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FindingUpdate:
    """One entry of a finding's append-only history.

    Attributes
    ----------
    finding_id : str
        UUID of the finding.
    time : datetime
        When the change was made, timezone-aware (UTC in the store).
    author_role : str
        Role of the author (:data:`AUTHOR_ROLES`); never a name.
    state_before : str or None
        State label before (None for the creation entry).
    state_after : str
        State label after.
    note : str
        Free-text note for the history.
    changes : dict
        Field -> ``{"before": ..., "after": ...}`` for changed fields (JSON values). A
        moderated description keeps its original text here and in the finding's
        ``description_original``.
    version_after : int
        The finding's version after this change.
    author_id : str or None
        Pseudonymous id of the author (OIDC subject, local account name or
        ``cli:<login>``); staff-only, never public.
    """

    finding_id: str
    time: datetime
    author_role: str
    state_before: str | None
    state_after: str
    note: str = ""
    changes: Mapping[str, Any] = field(default_factory=dict)
    version_after: int = 1
    author_id: str | None = None

    def __post_init__(self) -> None:
        src = f"update of finding {self.finding_id}"
        problems = []
        if self.author_role not in AUTHOR_ROLES:
            problems.append(_problem(src, "author_role", f"unknown role {self.author_role!r}",
                                     f"use a role (never a name): {', '.join(AUTHOR_ROLES)}"))
        if not _aware(self.time):
            problems.append(_problem(src, "time", "not a timezone-aware time",
                                     "give the time with a time zone"))
        if problems:
            raise ValidationError(problems)
