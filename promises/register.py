"""The promise register: every medborgarlöfte of a period, as data.

A register is a TOML file (for example ``data/stromstad/medborgarloften_2023_2024.toml``)
loaded into the frozen :class:`Register`. It lists each promise (``[[promise]]``) with its
Swedish text, area, owner, yearly target and how progress is measured, and the dated
lighting inventories (``[[inventory]]``) that the lighting measures compare. Relative paths
are resolved against the register's folder. Unknown keys and wrong types are errors that
name the key (``promise[3].target``), all reported at once (STYLE rules 4 and 6).

Measures
--------
How the outcome of a promise is counted (:data:`MEASURES`):

``lighting_km``
    Kilometres of path that went from ``unlit``/``underlit`` to ``ok`` between the
    inventory at the start and at the end of the year (two ranking runs, see
    :func:`promises.progress.lighting_progress`), counted on segments within
    ``school_distance_m`` of a school, within ``crossing_distance_m`` of a crossing or in
    one of ``areas``.
``led_conversions``
    Luminaires that were not LED in the first inventory and are LED in the second, with the
    kWh, SEK and CO₂ saved per year.
``walks``
    Safety walks held during the year (from the walks store).
``school_walks``
    Safety walks held during the year at a designated school (the profile's
    ``designated_schools``, or the promise's ``schools``).
``activities``
    The sum of ``count`` over the activity log entries of the year.
``done``
    Done or not done: at least one activity log entry during the year.
``milestones``
    Promises without a number: the recorded milestones (``påbörjat``, ``genomfört``, each
    with a date and a short public note, :mod:`promises.milestones`) up to the end of the
    year. Nothing recorded is *ej påbörjat*, never met. Activities may be logged for such
    a promise too; they are reported as details, not as the status.

Partners and joint promises
---------------------------
``partners`` names the other parties the document names for a promise (e.g.
``["PostNord"]``, ``["Fyrbodals kommuner", "Brottsofferjouren Fyrbodal"]``);
``joint_with`` names the other municipalities (profile ``name``) whose reports share the
promise: their profiles list this register in ``partner_registers`` and their reports
show it in a joint section (:meth:`Register.joint_for`).

Example
-------
>>> r = load_register("data/stromstad/medborgarloften_2023_2024.toml")
>>> r.get("trafikkontroller").target
80.0
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from layers._common import Problem, ValidationError

if TYPE_CHECKING:
    from layers.profile import Profile

Owner = Literal["polisen", "kommunen", "båda"]
Measure = Literal["lighting_km", "led_conversions", "walks", "school_walks", "activities",
                  "done", "milestones"]

#: Owners of a promise.
OWNERS: tuple[str, ...] = ("polisen", "kommunen", "båda")
#: Swedish display names of the owners.
OWNER_LABELS: dict[str, str] = {"polisen": "Polisen", "kommunen": "Kommunen",
                                "båda": "Kommunen och Polisen"}
#: How progress can be measured (see the module docstring).
MEASURES: tuple[str, ...] = ("lighting_km", "led_conversions", "walks", "school_walks",
                             "activities", "done", "milestones")
#: Measures counted from the activity log (the others are computed from data); activities
#: may also be logged for ``milestones`` promises (shown as details, not as the status).
LOGGED_MEASURES: tuple[str, ...] = ("activities", "done", "milestones")
#: Default unit per measure (Swedish, plural).
DEFAULT_UNITS: dict[str, str] = {
    "lighting_km": "km", "led_conversions": "armaturer", "walks": "vandringar",
    "school_walks": "vandringar", "activities": "tillfällen", "done": "", "milestones": "",
}

#: Keys every promise may have, with their types (``float`` accepts whole numbers too).
_COMMON_KEYS: dict[str, tuple[type, ...]] = {
    "id": (str,), "text": (str,), "area": (str,), "owner": (str,), "measure": (str,),
    "how": (str,), "target": (int, float), "unit": (str,), "places_public": (bool,),
    "partners": (list,), "joint_with": (list,),
}
#: Extra keys allowed per measure.
_MEASURE_KEYS: dict[str, dict[str, tuple[type, ...]]] = {
    "lighting_km": {"school_distance_m": (int, float), "crossing_distance_m": (int, float),
                    "areas": (list,)},
    "led_conversions": {},
    "walks": {},
    "school_walks": {"schools": (list,)},
    "activities": {},
    "done": {},
    "milestones": {},
}
_TOP_KEYS: dict[str, tuple[type, ...]] = {
    "title": (str,), "municipality": (str,), "period_start": (int,), "period_end": (int,),
    "partial_share": (int, float), "note": (str,), "demo_activities": (str,),
    "inventory": (list,), "promise": (list,), "source_document": (str,),
    "demo_milestones": (str,),
}
_INVENTORY_KEYS: dict[str, tuple[type, ...]] = {"date": (dt.date,), "file": (str,),
                                                "label": (str,)}


@dataclass(frozen=True)
class Promise:
    """One medborgarlöfte.

    Attributes
    ----------
    id : str
        Short stable id used in the activity log, e.g. ``"trafikkontroller"`` (letters,
        digits and ``-``).
    text : str
        The promise in Swedish, as published.
    area : str
        Thematic area, e.g. ``"Trafik"`` or ``"Trygg fysisk miljö"``.
    owner : {'polisen', 'kommunen', 'båda'}
        Who made the promise.
    measure : str
        How progress is counted (:data:`MEASURES`).
    how : str
        How progress is measured, in Swedish, for the report.
    target : float or None
        Yearly numeric target in ``unit``; None when the promise has no number.
    unit : str
        Unit of the outcome and target, Swedish plural (e.g. ``"kontroller"``, ``"km"``).
    places_public : bool
        Whether the places of logged activities may be published. Default: True for
        promises of the kommun, False for the police's and shared ones (police activity
        places are not public by default).
    school_distance_m, crossing_distance_m : float
        ``lighting_km`` only: distances in metres that count as "near a school" (300) and
        "at a crossing" (50).
    areas : tuple of str
        ``lighting_km`` only: priority areas (names in the priority-area layer) that count
        in full, e.g. ``("Strömsdalen",)``.
    schools : tuple of str
        ``school_walks`` only: designated schools; empty = the profile's
        ``designated_schools``.
    partners : tuple of str
        Other parties the document names for the promise (e.g. ``("PostNord",)``).
    joint_with : tuple of str
        Other municipalities (profile names, e.g. ``("Tanum",)``) sharing the promise.
    """

    id: str
    text: str
    area: str
    owner: Owner
    measure: Measure
    how: str = ""
    target: float | None = None
    unit: str = ""
    places_public: bool = False
    school_distance_m: float = 300.0
    crossing_distance_m: float = 50.0
    areas: tuple[str, ...] = ()
    schools: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    joint_with: tuple[str, ...] = ()

    @property
    def owner_label(self) -> str:
        """Swedish display name of the owner."""
        return OWNER_LABELS[self.owner]

    @property
    def responsible_label(self) -> str:
        """The owner and the partners, e.g. ``"Polisen, med PostNord"``."""
        if not self.partners:
            return self.owner_label
        return f"{self.owner_label}, med {_join_sv(self.partners)}"

    @property
    def has_milestones(self) -> bool:
        """True when progress is followed up by recorded milestones."""
        return self.measure == "milestones"

    @property
    def logged(self) -> bool:
        """True when progress comes from the activity log."""
        return self.measure in LOGGED_MEASURES


@dataclass(frozen=True)
class InventorySnapshot:
    """A dated lighting inventory (the state of the luminaires on that date).

    Attributes
    ----------
    date : datetime.date
        Date the inventory describes.
    path : Path
        Inventory file (any format :func:`layers.lighting.read_inventory` reads).
    label : str
        Display label; default ``"Belysningsregister <date>"``.
    """

    date: dt.date
    path: Path
    label: str = ""

    @property
    def display(self) -> str:
        """Label for the report."""
        return self.label or f"Belysningsregister {self.date.isoformat()}"


@dataclass(frozen=True)
class Register:
    """A period's promises. Load with :func:`load_register`.

    Attributes
    ----------
    title : str
        E.g. ``"Medborgarlöften 2023–2024"``.
    municipality : str
        Municipality name, e.g. ``"Strömstad"``.
    period_start, period_end : int
        First and last year of the promises (inclusive).
    promises : tuple of Promise
        In the order of the file.
    inventories : tuple of InventorySnapshot
        Dated lighting inventories, oldest first.
    partial_share : float
        Share of a numeric target (0–1) from which an unmet target counts as *delvis*
        (partly met) rather than *ej uppfyllt*; default 0.5.
    note : str
        Note printed in the report (e.g. where the texts come from).
    demo_activities : Path or None
        Demo activity log copied into an empty log on the demo profile.
    demo_milestones : Path or None
        Demo milestone log copied into an empty milestone log on the demo profile.
    source_document : Path or None
        The signed promise document (plain text) the promise texts are quoted from.
    path : Path
        The register file.
    """

    title: str
    municipality: str
    period_start: int
    period_end: int
    promises: tuple[Promise, ...]
    inventories: tuple[InventorySnapshot, ...] = ()
    partial_share: float = 0.5
    note: str = ""
    demo_activities: Path | None = None
    demo_milestones: Path | None = None
    source_document: Path | None = None
    path: Path = Path(".")

    def get(self, promise_id: str) -> Promise:
        """The promise with *promise_id*.

        Raises
        ------
        KeyError
            Unknown id; the message lists the ids.
        """
        for p in self.promises:
            if p.id == promise_id:
                return p
        raise KeyError(f"unknown promise {promise_id!r}; ids: "
                       f"{', '.join(p.id for p in self.promises)}")

    def joint_for(self, municipality: str) -> Register:
        """This register restricted to the promises shared with *municipality*.

        For the partner's report: same title and period, only the promises whose
        ``joint_with`` names *municipality* (case-insensitive), no lighting inventories
        (they belong to this register's municipality).
        """
        name = municipality.casefold()
        joint = tuple(p for p in self.promises
                      if name in {m.casefold() for m in p.joint_with})
        return dataclasses.replace(self, promises=joint, inventories=())

    @property
    def joint_promises(self) -> tuple[Promise, ...]:
        """Promises shared with another municipality (``joint_with`` not empty)."""
        return tuple(p for p in self.promises if p.joint_with)

    @property
    def ids(self) -> tuple[str, ...]:
        """Promise ids in file order."""
        return tuple(p.id for p in self.promises)

    def covers(self, year: int) -> bool:
        """True when *year* lies within the register's period."""
        return self.period_start <= year <= self.period_end

    def snapshots_for(self, year: int) -> tuple[InventorySnapshot | None,
                                                InventorySnapshot | None]:
        """The inventories at the start and at the end of *year*.

        An inventory dated up to 31 January counts as the turn of the year. *Before* is
        the latest inventory dated on or before 31 January of *year*; *after* is the
        latest one dated after *before* and on or before 31 January of the next year.
        Either may be None.
        """
        start_limit = dt.date(year, 1, 31)
        end_limit = dt.date(year + 1, 1, 31)
        before = None
        for s in self.inventories:
            if s.date <= start_limit:
                before = s
        after = None
        for s in self.inventories:
            if s.date <= end_limit and (before is None or s.date > before.date):
                after = s
        return before, after


def _join_sv(names: tuple[str, ...]) -> str:
    """``a``, ``a och b``, ``a, b och c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} och {names[-1]}"


def _kp(src: str, key: str, message: str, fix: str) -> Problem:
    return Problem(src, "", key, message, fix, column_label="key")


def _type_name(types: tuple[type, ...]) -> str:
    names = {str: "text", int: "whole number", float: "number", bool: "true/false",
             list: "list", dt.date: "date (YYYY-MM-DD)"}
    if types == (int, float):
        return "number"
    return " or ".join(names.get(t, t.__name__) for t in types)


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False
    if dt.date in types:
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    return isinstance(value, types)


def _check_keys(raw: Mapping[str, Any], allowed: Mapping[str, tuple[type, ...]], prefix: str,
                src: str, problems: list[Problem], others: tuple[str, ...] = ()) -> dict:
    """Type-check *raw* against *allowed*; unknown keys and wrong types become problems."""
    ok: dict[str, Any] = {}
    for key, value in raw.items():
        full = f"{prefix}{key}"
        if key not in allowed:
            if key in others:
                problems.append(_kp(src, full, "this key does not apply to this measure",
                                    f"remove it; allowed here: {', '.join(sorted(allowed))}"))
                continue
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = (f"did you mean '{prefix}{close[0]}'?" if close
                    else f"allowed keys here: {', '.join(sorted(allowed))}")
            problems.append(_kp(src, full, "unknown key", f"remove it or rename it; {hint}"))
            continue
        if not _type_ok(value, allowed[key]):
            problems.append(_kp(src, full, f"wrong type {type(value).__name__} "
                                f"(value {value!r})",
                                f"use a {_type_name(allowed[key])}"))
            continue
        ok[key] = value
    return ok


def _resolve(base: Path, text: str) -> Path:
    p = Path(text)
    return p if p.is_absolute() else (base / p).resolve()


def _promise(raw: Any, i: int, src: str, problems: list[Problem]) -> Promise | None:
    prefix = f"promise[{i}]."
    if not isinstance(raw, dict):
        problems.append(_kp(src, f"promise[{i}]", "expected a [[promise]] table",
                            "write each promise as a [[promise]] section"))
        return None
    measure = raw.get("measure")
    extra = _MEASURE_KEYS.get(measure, {}) if isinstance(measure, str) else {}
    allowed = {**_COMMON_KEYS, **extra}
    others = tuple(k for m in _MEASURE_KEYS.values() for k in m)
    v = _check_keys(raw, allowed, prefix, src, problems, others)
    n_before = len(problems)
    for key in ("id", "text", "area", "owner", "measure"):
        if key not in raw:
            problems.append(_kp(src, f"{prefix}{key}", "required key is missing",
                                f"add {key} = ... to the promise"))
    pid = v.get("id", "")
    if pid and not all(c.isalnum() or c == "-" for c in pid):
        problems.append(_kp(src, f"{prefix}id", f"id {pid!r} has characters other than "
                            "letters, digits and '-'", "use e.g. 'trafikkontroller'"))
    if "owner" in v and v["owner"] not in OWNERS:
        problems.append(_kp(src, f"{prefix}owner", f"unknown owner {v['owner']!r}",
                            f"use one of: {', '.join(OWNERS)}"))
    if "measure" in v and v["measure"] not in MEASURES:
        problems.append(_kp(src, f"{prefix}measure", f"unknown measure {v['measure']!r}",
                            f"use one of: {', '.join(MEASURES)}"))
    target = v.get("target")
    if target is not None and target <= 0:
        problems.append(_kp(src, f"{prefix}target", f"target {target!r} is not positive",
                            "give a yearly target above 0, or leave target out"))
    if target is not None and v.get("measure") in ("done", "milestones"):
        problems.append(_kp(src, f"{prefix}target",
                            f"a '{v['measure']}' promise has no numeric target",
                            "remove target, or use measure = 'activities'"))
    for key in ("areas", "schools", "partners", "joint_with"):
        if key in v and not all(isinstance(x, str) and x.strip() for x in v[key]):
            problems.append(_kp(src, f"{prefix}{key}", "expected a list of names",
                                f'write e.g. {key} = ["Strömsdalen"]'))
    for key in ("school_distance_m", "crossing_distance_m"):
        if key in v and v[key] < 0:
            problems.append(_kp(src, f"{prefix}{key}", "negative distance",
                                "give the distance in metres, 0 or more"))
    if len(problems) > n_before or not all(k in v for k in ("id", "text", "area", "owner",
                                                             "measure")):
        return None
    owner = v["owner"]
    return Promise(
        id=pid, text=v["text"].strip(), area=v["area"], owner=owner, measure=v["measure"],
        how=v.get("how", "").strip(),
        target=None if target is None else float(target),
        unit=v.get("unit", DEFAULT_UNITS[v["measure"]]),
        places_public=v.get("places_public", owner == "kommunen"),
        school_distance_m=float(v.get("school_distance_m", 300.0)),
        crossing_distance_m=float(v.get("crossing_distance_m", 50.0)),
        areas=tuple(v.get("areas", ())), schools=tuple(v.get("schools", ())),
        partners=tuple(v.get("partners", ())), joint_with=tuple(v.get("joint_with", ())))


def load_register(path: str | Path) -> Register:
    """Load and validate a promise register from a TOML file.

    Parameters
    ----------
    path : str or Path
        The register, e.g. ``data/stromstad/medborgarloften_2023_2024.toml``.

    Returns
    -------
    Register
        Frozen register; relative paths resolved against the register's folder.

    Raises
    ------
    ValidationError
        Unknown keys, wrong types, missing required keys, unknown owners or measures,
        duplicate ids, a bad period, keys that do not apply to a promise's measure, or
        missing inventory files; all listed at once, each naming the key.
    """
    path = Path(path)
    src = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError([_kp(src, "", "register file not found",
                                   "check the path given with --register")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError([_kp(src, "", f"not valid TOML ({exc})",
                                   "fix the syntax at the line given")]) from None
    problems: list[Problem] = []
    top = _check_keys(raw, _TOP_KEYS, "", src, problems)
    for key in ("title", "municipality", "period_start", "period_end", "promise"):
        if key not in raw:
            problems.append(_kp(src, key, "required key is missing",
                                f"add {key} to the register"))
    start, end = top.get("period_start"), top.get("period_end")
    if isinstance(start, int) and isinstance(end, int) and end < start:
        problems.append(_kp(src, "period_end", f"period ends ({end}) before it starts "
                            f"({start})", "give the first and last year of the promises"))
    share = top.get("partial_share", 0.5)
    if not 0 < share <= 1:
        problems.append(_kp(src, "partial_share", f"{share!r} is not in (0, 1]",
                            "give a share such as 0.5"))
    numbered: list[tuple[int, Promise]] = []
    for i, item in enumerate(top.get("promise", []), start=1):
        p = _promise(item, i, src, problems)
        if p is not None:
            numbered.append((i, p))
    promises = [p for _i, p in numbered]
    seen: dict[str, int] = {}
    for i, p in numbered:
        if p.id in seen:
            problems.append(_kp(src, f"promise[{i}].id", f"duplicate id {p.id!r}",
                                f"ids must be unique (also used by promise[{seen[p.id]}])"))
        seen.setdefault(p.id, i)
    inventories: list[InventorySnapshot] = []
    for i, item in enumerate(top.get("inventory", []), start=1):
        prefix = f"inventory[{i}]."
        if not isinstance(item, dict):
            problems.append(_kp(src, f"inventory[{i}]", "expected an [[inventory]] table",
                                "write each inventory as [[inventory]] with date and file"))
            continue
        n_before = len(problems)
        v = _check_keys(item, _INVENTORY_KEYS, prefix, src, problems)
        for key in ("date", "file"):
            if key not in item:
                problems.append(_kp(src, f"{prefix}{key}", "required key is missing",
                                    f"add {key} to the inventory"))
        if len(problems) > n_before:
            continue
        f = _resolve(path.parent, v["file"])
        if not f.exists():
            problems.append(_kp(src, f"{prefix}file", f"file not found: {f}",
                                "fix the path (relative paths start at the register's "
                                "folder) or regenerate the demo data with "
                                "`python data/demo/generate_demo.py`"))
            continue
        inventories.append(InventorySnapshot(v["date"], f, v.get("label", "")))
    files: dict[str, Path | None] = {}
    for key in ("demo_activities", "demo_milestones", "source_document"):
        files[key] = None
        if key in top:
            files[key] = _resolve(path.parent, top[key])
            if not files[key].exists():  # type: ignore[union-attr]
                problems.append(_kp(src, key, f"file not found: {files[key]}",
                                    "fix the path (relative paths start at the register's "
                                    "folder) or regenerate the demo data"))
    if problems or not isinstance(start, int) or not isinstance(end, int):
        raise ValidationError(problems)
    return Register(
        title=top["title"], municipality=top["municipality"], period_start=start,
        period_end=end, promises=tuple(promises),
        inventories=tuple(sorted(inventories, key=lambda s: s.date)),
        partial_share=float(share), note=top.get("note", "").strip(),
        demo_activities=files["demo_activities"], demo_milestones=files["demo_milestones"],
        source_document=files["source_document"], path=path)


def find_register(folder: str | Path, year: int | None = None) -> Path | None:
    """The register file (``medborgarloften_*.toml``) in *folder* covering *year*.

    Parameters
    ----------
    folder : path
        Usually the profile's folder.
    year : int, optional
        The year to cover; default: the newest register.

    Returns
    -------
    Path or None
        The register file, or None when there is none (or none covers *year*).
    """
    files = sorted(Path(folder).glob("medborgarloften_*.toml"))
    if year is None:
        return files[-1] if files else None
    for f in reversed(files):
        try:
            if load_register(f).covers(year):
                return f
        except ValidationError:
            continue
    return None


def register_for_profile(profile: Profile, year: int | None = None) -> Path | None:
    """The register of a profile: :func:`find_register` in the profile's folder, else in
    the folder of its boundary file (copies of a profile elsewhere keep absolute paths to
    the municipality's folder)."""
    folders = (profile.folder, *([profile.boundary.parent] if profile.boundary else []))
    for folder in dict.fromkeys(folders):
        found = find_register(folder, year)
        if found is not None:
            return found
    return None


def load_register_for_profile(profile: Profile, year: int | None = None) -> Register | None:
    """The profile's own register covering *year* (:func:`register_for_profile`), else
    the joint promises of a partner register (``profile.partner_registers``) that name the
    profile in ``joint_with`` (:meth:`Register.joint_for`); None when there is neither.

    Raises
    ------
    ValidationError
        The register found does not validate.
    """
    own = register_for_profile(profile, year)
    if own is not None:
        return load_register(own)
    for path in profile.partner_registers:
        partner = load_register(path)
        if year is not None and not partner.covers(year):
            continue
        joint = partner.joint_for(profile.name)
        if joint.promises:
            return joint
    return None


__all__ = ["DEFAULT_UNITS", "LOGGED_MEASURES", "MEASURES", "OWNERS", "OWNER_LABELS",
           "InventorySnapshot", "Promise", "Register", "find_register", "load_register",
           "load_register_for_profile", "register_for_profile"]
