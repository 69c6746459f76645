"""Progress of each promise in a year: the measures and the status badges.

Every measure is a small pure function on frames (STYLE rule 3); :func:`compute_progress`
applies the right one to each promise of a register and gives it a :class:`Status`.

Status rules (:func:`promise_status`)
-------------------------------------
* no data for the measure (e.g. no inventory at the start of the year): *underlag saknas*;
* with a numeric target: outcome ≥ target → *uppfyllt*; otherwise, while the year is not
  over → *pågår*; after it, outcome ≥ ``partial_share`` × target (and above 0) →
  *delvis*, else *ej uppfyllt*;
* without a target (``done`` promises and measured promises without a number): outcome
  above 0 → *uppfyllt*; otherwise *pågår* while the year runs, *ej uppfyllt* after it;
* ``milestones`` promises (:func:`milestone_status`): a ``genomfört`` milestone up to the
  end of the year → *uppfyllt*; else a ``påbörjat`` one → *påbörjat*; else *ej påbörjat*.
  Nothing recorded is never met.

Lengths are in kilometres, energy in kWh per year, money in SEK per year, CO₂ in kg per
year. Segment distances are in metres (profile CRS).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from gis.led import BALLAST_FACTOR, DEFAULT_W
from gis.ranking import DARK_STATUSES, improved_km
from layers.profile import Costs
from promises.register import Promise, Register
from promises.snapshots import RankingSnapshot
from walks.model import walk_state

StatusType = Literal["met", "partial", "not_met", "ongoing", "no_data"]


@dataclass(frozen=True)
class Status:
    """A promise's status: a Swedish label and a type code reasons about (STYLE rule 7).

    Attributes
    ----------
    label : str
        Badge text, e.g. ``"uppfyllt"``.
    type : {'met', 'partial', 'not_met', 'ongoing', 'no_data'}
    """

    label: str
    type: StatusType

    def is_met(self) -> bool:
        """True when the promise was kept this year."""
        return self.type == "met"

    def is_partial(self) -> bool:
        """True when it was partly kept."""
        return self.type == "partial"

    def is_not_met(self) -> bool:
        """True when it was not kept (the year is over)."""
        return self.type == "not_met"

    def is_ongoing(self) -> bool:
        """True while the year runs and the target is not reached yet."""
        return self.type == "ongoing"


UPPFYLLT = Status("uppfyllt", "met")
DELVIS = Status("delvis", "partial")
EJ_UPPFYLLT = Status("ej uppfyllt", "not_met")
PAGAR = Status("pågår", "ongoing")
PABORJAT = Status("påbörjat", "ongoing")
EJ_PABORJAT = Status("ej påbörjat", "not_met")
UNDERLAG_SAKNAS = Status("underlag saknas", "no_data")
#: All statuses, in the order the report counts them.
STATUSES: tuple[Status, ...] = (UPPFYLLT, DELVIS, EJ_UPPFYLLT, PAGAR, PABORJAT, EJ_PABORJAT,
                                UNDERLAG_SAKNAS)


def year_over(year: int, as_of: dt.date) -> bool:
    """True when *as_of* is after 31 December of *year*."""
    return as_of > dt.date(year, 12, 31)


def promise_status(outcome: float | None, target: float | None, *, over: bool,
                   partial_share: float = 0.5) -> Status:
    """The status badge of a promise (rules in the module docstring).

    Parameters
    ----------
    outcome : float or None
        What was done (None: no data to measure it).
    target : float or None
        Yearly target (None: no numeric target).
    over : bool
        Whether the year is over (:func:`year_over`).
    partial_share : float
        Share of the target from which an unmet target counts as *delvis*.

    Examples
    --------
    >>> promise_status(2, 2, over=True).label
    'uppfyllt'
    >>> promise_status(31, 40, over=True).label
    'delvis'
    >>> promise_status(0, 1, over=True).label
    'ej uppfyllt'
    >>> promise_status(10, 80, over=False).label
    'pågår'
    """
    if outcome is None or (isinstance(outcome, float) and math.isnan(outcome)):
        return UNDERLAG_SAKNAS
    if target is None:
        if outcome > 0:
            return UPPFYLLT
        return EJ_UPPFYLLT if over else PAGAR
    if outcome >= target:
        return UPPFYLLT
    if not over:
        return PAGAR
    if outcome > 0 and outcome >= partial_share * target:
        return DELVIS
    return EJ_UPPFYLLT


# --------------------------------------------------------------------------------------
# Number formatting (Swedish)
# --------------------------------------------------------------------------------------

def fmt_number(value: float, decimals: int = 0) -> str:
    """*value* the Swedish way: decimal comma, no-break space between thousands.

    >>> fmt_number(12345.678, 1)
    '12\\xa0345,7'
    """
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u00a0").replace(".", ",")


# --------------------------------------------------------------------------------------
# Lighting: km improved
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LightingProgress:
    """Kilometres that went from unlit/underlit to ok between two snapshots.

    Attributes
    ----------
    km_improved : float
        In the zone (near a school, at a crossing or in one of the areas), km.
    km_near_school, km_near_crossing : float
        Of which within the school / crossing distance (they overlap), km.
    km_in_areas : dict
        Of which in each named area, km.
    km_improved_all : float
        On the whole network, km.
    improved_ids : tuple of str
        Segment ids improved in the zone (for the maps).
    km_dark_before, km_dark_after : float
        Unlit or underlit km in the zone at the start and at the end.
    """

    km_improved: float
    km_near_school: float
    km_near_crossing: float
    km_in_areas: dict[str, float]
    km_improved_all: float
    improved_ids: tuple[str, ...]
    km_dark_before: float
    km_dark_after: float


def lighting_zone(segments: pd.DataFrame, school_distance_m: float = 300.0,
                  crossing_distance_m: float = 50.0, areas: Sequence[str] = ()) -> pd.Series:
    """Segments near a school, at a crossing or in one of *areas* (bool, aligned).

    *segments* are ranked segments with ``school_distance_m``, ``crossing_distance_m`` (in
    metres) and ``priority_area`` (area name or empty).
    """
    near_school = segments["school_distance_m"].astype(float).le(school_distance_m)
    near_crossing = segments["crossing_distance_m"].astype(float).le(crossing_distance_m)
    in_area = segments["priority_area"].astype(str).isin(list(areas))
    return (near_school | near_crossing | in_area).rename("in_zone")


def lighting_progress(before: pd.DataFrame, after: pd.DataFrame, *,
                      school_distance_m: float = 300.0, crossing_distance_m: float = 50.0,
                      areas: Sequence[str] = ()) -> LightingProgress:
    """Km improved between two rankings of the same network, in the promise's zone.

    Parameters
    ----------
    before, after : DataFrame
        Ranked segments (index ``segment_id``) with ``lighting_status``, ``length_m`` (m),
        ``school_distance_m``, ``crossing_distance_m`` and ``priority_area``. The zone is
        taken from *after* (the context does not change with the inventory).
    school_distance_m, crossing_distance_m : float
        Distances in metres that count as near a school / at a crossing.
    areas : sequence of str
        Priority-area names that count in full.

    Returns
    -------
    LightingProgress
    """
    common = after.index.intersection(before.index)
    b, a = before.loc[common], after.loc[common]
    zone = lighting_zone(a, school_distance_m, crossing_distance_m, areas)

    def km(mask: pd.Series) -> float:
        ids = a.index[mask.to_numpy()]
        return improved_km(b.loc[ids], a.loc[ids])

    was = b["lighting_status"].astype(str).isin(DARK_STATUSES).to_numpy()
    now = a["lighting_status"].astype(str).eq("ok").to_numpy()
    improved = a.index[was & now & zone.to_numpy()]
    dark_before = b["lighting_status"].astype(str).isin(DARK_STATUSES) & zone
    dark_after = a["lighting_status"].astype(str).isin(DARK_STATUSES) & zone
    return LightingProgress(
        km_improved=km(zone),
        km_near_school=km(a["school_distance_m"].astype(float).le(school_distance_m)),
        km_near_crossing=km(a["crossing_distance_m"].astype(float).le(crossing_distance_m)),
        km_in_areas={name: km(a["priority_area"].astype(str).eq(name)) for name in areas},
        km_improved_all=improved_km(b, a),
        improved_ids=tuple(str(i) for i in improved),
        km_dark_before=float(b.loc[dark_before.to_numpy(), "length_m"].sum()) / 1000,
        km_dark_after=float(a.loc[dark_after.to_numpy(), "length_m"].sum()) / 1000)


# --------------------------------------------------------------------------------------
# LED conversions
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LedProgress:
    """Luminaires converted to LED between two inventories, and what it saves.

    Power model as in :mod:`gis.led`: the old luminaire's system power is its wattage
    (or :data:`gis.led.DEFAULT_W`) × :data:`gis.led.BALLAST_FACTOR`; the LED's is its own
    wattage (or the profile's ``led_power_w``). Savings per year = the difference ×
    burning hours; SEK and CO₂ with the profile's price and emission factor.

    Attributes
    ----------
    conversions : int
        Luminaires (same id in both inventories) not LED before and LED after.
    converted_from : dict
        Conversions per former light source (normalised names, e.g. ``"Hg"``).
    kwh_saved_per_year, sek_saved_per_year, co2_kg_saved_per_year : float
        Savings of the conversions per year, of the lamps whose former type is known
        (a converted lamp of unknown type saves an unknown amount: never a guessed 70 W).
    new_luminaires, removed_luminaires : int
        Ids only in the second / only in the first inventory.
    new_led : int
        Of the new luminaires, how many are LED.
    sources_before, sources_after : dict
        Luminaires per light source in each inventory.
    """

    conversions: int
    converted_from: dict[str, int]
    kwh_saved_per_year: float
    sek_saved_per_year: float
    co2_kg_saved_per_year: float
    new_luminaires: int
    removed_luminaires: int
    new_led: int
    sources_before: dict[str, int] = field(default_factory=dict)
    sources_after: dict[str, int] = field(default_factory=dict)
    unknown_type_conversions: int = 0

    @property
    def led_share_before(self) -> float:
        """Share of LED luminaires in the first inventory (0–1)."""
        n = sum(self.sources_before.values())
        return self.sources_before.get("LED", 0) / n if n else float("nan")

    @property
    def led_share_after(self) -> float:
        """Share of LED luminaires in the second inventory (0–1)."""
        n = sum(self.sources_after.values())
        return self.sources_after.get("LED", 0) / n if n else float("nan")


def led_progress(before: pd.DataFrame, after: pd.DataFrame, costs: Costs) -> LedProgress:
    """LED conversions between two inventories of the same luminaire ids.

    Parameters
    ----------
    before, after : DataFrame
        Luminaires (index ``luminaire_id``) with ``light_source`` (normalised:
        ``LED``, ``HPS``, ``Hg`` …) and ``wattage_w`` (W, may be missing).
    costs : Costs
        Burning hours, electricity price, emission factor and default LED power.
    """
    common = before.index.intersection(after.index)
    src_b = before.loc[common, "light_source"].astype(str)
    src_a = after.loc[common, "light_source"].astype(str)
    conv = src_b.ne("LED") & src_a.eq("LED")
    ids = common[conv.to_numpy()]
    old_src = src_b.loc[ids]
    old_w = pd.to_numeric(before.loc[ids, "wattage_w"], errors="coerce").astype(float)
    known = old_src.ne("unknown").to_numpy(dtype=bool)
    old_w = old_w.fillna(old_src.map(DEFAULT_W).astype(float)).fillna(70.0)
    old_w = old_w.where(known)  # unknown former type: no saving is claimed
    old_sys = old_w * old_src.map(BALLAST_FACTOR).astype(float).fillna(1.1)
    new_w = pd.to_numeric(after.loc[ids, "wattage_w"], errors="coerce").astype(float)
    new_w = new_w.fillna(costs.led_power_w)
    kwh = float(np.nansum(np.clip((old_sys - new_w).to_numpy(), 0, None))
                * costs.burning_hours_per_year / 1000)
    new_ids = after.index.difference(before.index)
    removed = before.index.difference(after.index)

    def counts(frame: pd.DataFrame) -> dict[str, int]:
        vc = frame["light_source"].astype(str).value_counts()
        return {str(k): int(v) for k, v in vc.sort_index().items()}

    return LedProgress(
        conversions=int(conv.sum()),
        converted_from={str(k): int(v) for k, v in old_src.value_counts().sort_index().items()},
        kwh_saved_per_year=kwh,
        sek_saved_per_year=kwh * costs.electricity_sek_per_kwh,
        co2_kg_saved_per_year=kwh * costs.co2_kg_per_kwh,
        new_luminaires=len(new_ids), removed_luminaires=len(removed),
        new_led=int(after.loc[new_ids, "light_source"].astype(str).eq("LED").sum()),
        sources_before=counts(before), sources_after=counts(after),
        unknown_type_conversions=int((~known).sum()))


# --------------------------------------------------------------------------------------
# Walks
# --------------------------------------------------------------------------------------

def held_walks(walks: pd.DataFrame, year: int, tz: str = "Europe/Stockholm") -> pd.DataFrame:
    """Walks that took place in *year* (state genomförd or protokoll publicerat).

    Parameters
    ----------
    walks : DataFrame
        As :meth:`walks.store.FindingStore.walks` (``start`` in UTC, ``state_label``).
    year : int
    tz : str
        Time zone of the local date (the profile's ``timezone``).

    Returns
    -------
    DataFrame
        The held walks of the year, sorted by start, with a ``local_date`` column.
    """
    if walks.empty:
        return walks.assign(local_date=pd.Series(dtype=object))
    start = pd.to_datetime(walks["start"], utc=True).dt.tz_convert(tz)
    held = np.array([not walk_state(s).is_planned() for s in walks["state_label"]],
                    dtype=bool)
    sel = held & (start.dt.year == year).to_numpy()
    out = walks.loc[sel].assign(local_date=start.loc[sel].dt.date)
    return out.sort_values("start")


def school_walks(walks: pd.DataFrame, year: int, schools: Sequence[str],
                 tz: str = "Europe/Stockholm") -> pd.DataFrame:
    """Held walks of *year* at one of the designated *schools* (names as in the layer)."""
    held = held_walks(walks, year, tz)
    if held.empty:
        return held
    wanted = {s.casefold() for s in schools}
    school = held["school"].fillna("").astype(str).str.casefold()
    return held.loc[school.isin(wanted).to_numpy()]


# --------------------------------------------------------------------------------------
# Activities
# --------------------------------------------------------------------------------------

def activities_in_year(activities: pd.DataFrame, year: int) -> pd.DataFrame:
    """Entries of *year* from :meth:`promises.activities.ActivityLog.frame`."""
    if activities.empty:
        return activities
    years = pd.Series([d.year for d in activities["date"]], index=activities.index)
    return activities.loc[years.eq(year).to_numpy()]


def activity_totals(activities: pd.DataFrame, year: int) -> pd.Series:
    """Sum of ``count`` per promise id in *year* (Series named ``count``)."""
    sel = activities_in_year(activities, year)
    if sel.empty:
        return pd.Series(dtype="int64", name="count")
    return sel.groupby("promise_id")["count"].sum().astype("int64").rename("count")


# --------------------------------------------------------------------------------------
# Milestones
# --------------------------------------------------------------------------------------

def milestones_until(milestones: pd.DataFrame, promise_id: str, year: int) -> pd.DataFrame:
    """Milestones of *promise_id* dated on or before 31 December of *year*, oldest first.

    *milestones* is :meth:`promises.milestones.MilestoneLog.frame` (``date`` local dates).
    Milestones are cumulative over the period: a promise done in 2023 stays done in 2024.
    """
    if milestones.empty:
        return milestones
    end = dt.date(year, 12, 31)
    sel = milestones["promise_id"].eq(promise_id).to_numpy() & np.array(
        [d <= end for d in milestones["date"]], dtype=bool)
    return milestones.loc[sel].sort_values("date", kind="stable")


def milestone_status(milestones: pd.DataFrame) -> Status:
    """*uppfyllt* with a ``genomfört`` step, *påbörjat* with a ``påbörjat`` step, else
    *ej påbörjat* (see :func:`milestones_until` for which steps count).

    >>> milestone_status(pd.DataFrame({"step": []})).label
    'ej påbörjat'
    >>> milestone_status(pd.DataFrame({"step": ["påbörjat", "genomfört"]})).label
    'uppfyllt'
    """
    steps = set(milestones["step"].astype(str)) if len(milestones) else set()
    if "genomfört" in steps:
        return UPPFYLLT
    if "påbörjat" in steps:
        return PABORJAT
    return EJ_PABORJAT


# --------------------------------------------------------------------------------------
# All promises
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PromiseProgress:
    """A promise's outcome in a year, for the report.

    Attributes
    ----------
    promise : Promise
    outcome : float or None
        The measured value (None: no data).
    outcome_text : str
        The outcome in Swedish, e.g. ``"92 kontroller"``.
    target_text : str
        The yearly target in Swedish, or ``"–"``.
    status : Status
    details : tuple of str
        Extra lines for the report (breakdowns, savings).
    places : tuple of str
        Public place names of the year's activities (only when the promise allows it).
    milestones : tuple of (str, str, str)
        ``milestones`` promises: (ISO date, step, public note) up to the end of the year.
    """

    promise: Promise
    outcome: float | None
    outcome_text: str
    target_text: str
    status: Status
    details: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    milestones: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class ProgressInputs:
    """What the measures are computed from (one year).

    Attributes
    ----------
    walks : DataFrame
        All walks of the store (:meth:`walks.store.FindingStore.walks`).
    activities : DataFrame
        The activity log (:meth:`promises.activities.ActivityLog.frame`).
    before, after : RankingSnapshot or None
        The lighting at the start and at the end of the year.
    costs : Costs
        The profile's energy and cost parameters.
    designated_schools : tuple of str
        The profile's designated schools.
    walk_findings : dict
        Public findings per walk id (for the walk promise's details).
    tz : str
        The profile's time zone.
    milestones : DataFrame
        The milestone log (:meth:`promises.milestones.MilestoneLog.frame`).
    """

    walks: pd.DataFrame
    activities: pd.DataFrame
    before: RankingSnapshot | None
    after: RankingSnapshot | None
    costs: Costs
    designated_schools: tuple[str, ...] = ()
    walk_findings: dict[str, int] = field(default_factory=dict)
    tz: str = "Europe/Stockholm"
    milestones: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"date": [], "promise_id": [], "step": [], "note": []}))


def _unit_text(value: float, unit: str, decimals: int = 0) -> str:
    return f"{fmt_number(value, decimals)} {unit}".strip()


def compute_progress(register: Register, year: int, inputs: ProgressInputs,
                     as_of: dt.date) -> list[PromiseProgress]:
    """The outcome and status of every promise of *register* in *year*.

    Parameters
    ----------
    register : Register
    year : int
        Must lie in the register's period.
    inputs : ProgressInputs
    as_of : datetime.date
        The date of the report; before the year is over, unmet targets are *pågår*.

    Raises
    ------
    ValueError
        *year* is outside the register's period.
    """
    if not register.covers(year):
        raise ValueError(f"{register.path.name} covers {register.period_start}–"
                         f"{register.period_end}, not {year}. Fix: choose a year in the "
                         "period or give the register of that period")
    over = year_over(year, as_of)
    totals = activity_totals(inputs.activities, year)
    year_acts = activities_in_year(inputs.activities, year)
    out: list[PromiseProgress] = []
    for p in register.promises:
        outcome: float | None
        details: list[str] = []
        places: tuple[str, ...] = ()
        steps: tuple[tuple[str, str, str], ...] = ()
        decimals = 0
        if p.measure == "milestones":
            ms = milestones_until(inputs.milestones, p.id, year)
            steps = tuple((d.isoformat(), str(s), str(n)) for d, s, n in
                          zip(ms["date"], ms["step"], ms["note"], strict=True))
            status = milestone_status(ms)
            n_acts = int(totals.get(p.id, 0))
            if n_acts:
                details.append(f"{fmt_number(n_acts)} tillfällen {year} enligt "
                               "aktivitetsloggen")
            last = steps[-1] if steps else None
            outcome_text = (f"{last[1]} {last[0]}" if last else "ej påbörjat")
            out.append(PromiseProgress(p, float(len(steps)),
                                       outcome_text, "milstolpar: påbörjat, genomfört",
                                       status, tuple(details), places, steps))
            continue
        if p.measure == "lighting_km":
            decimals = 1
            if inputs.before is None or inputs.after is None:
                outcome = None
                details.append("Belysningsregister saknas för årets början eller slut.")
            else:
                lp = lighting_progress(inputs.before.segments, inputs.after.segments,
                                       school_distance_m=p.school_distance_m,
                                       crossing_distance_m=p.crossing_distance_m,
                                       areas=p.areas)
                outcome = lp.km_improved
                details.append(f"Inom {fmt_number(p.school_distance_m)} m från skola: "
                               f"{fmt_number(lp.km_near_school, 2)} km")
                details.append(f"Inom {fmt_number(p.crossing_distance_m)} m från "
                               f"övergångsställe: {fmt_number(lp.km_near_crossing, 2)} km")
                for name, km in lp.km_in_areas.items():
                    details.append(f"I {name}: {fmt_number(km, 2)} km")
        elif p.measure == "led_conversions":
            if inputs.before is None or inputs.after is None:
                outcome = None
                details.append("Belysningsregister saknas för årets början eller slut.")
            else:
                led = led_progress(inputs.before.luminaires, inputs.after.luminaires,
                                   inputs.costs)
                outcome = float(led.conversions)
                details.append(f"Sparar {fmt_number(led.kwh_saved_per_year)} kWh, "
                               f"{fmt_number(led.sek_saved_per_year)} "
                               f"{inputs.costs.currency_symbol} och "
                               f"{fmt_number(led.co2_kg_saved_per_year)} kg CO₂ per år")
                if led.unknown_type_conversions:
                    details.append(f"{led.unknown_type_conversions} av bytena gällde "
                                   "armaturer med okänd ljuskälla: inte med i besparingen")
        elif p.measure == "walks":
            held = held_walks(inputs.walks, year, inputs.tz)
            outcome = float(len(held))
            n_found = sum(inputs.walk_findings.get(str(w), 0) for w in held.index)
            people = sum(sum(dict(v).values()) for v in held.get("participants", []))
            if len(held):
                details.append(f"{fmt_number(people)} deltagare och {fmt_number(n_found)} "
                               "offentliga fynd")
        elif p.measure == "school_walks":
            schools = p.schools or inputs.designated_schools
            sw = school_walks(inputs.walks, year, schools, inputs.tz)
            outcome = float(len(sw))
            if len(sw):
                details.append("Vid " + ", ".join(sorted(set(sw["school"].astype(str)))))
            if schools:
                details.append("Utsedda skolor: " + ", ".join(schools))
        else:  # activities, done
            outcome = float(totals.get(p.id, 0))
            if p.places_public and not year_acts.empty:
                sel = year_acts.loc[year_acts["promise_id"].eq(p.id).to_numpy()]
                places = tuple(sorted({str(x).strip() for x in sel["place"]
                                       if str(x).strip()}))
        status = promise_status(outcome, p.target, over=over,
                                partial_share=register.partial_share)
        if p.measure == "done":
            outcome_text = "genomfört" if (outcome or 0) > 0 else "inte genomfört"
            target_text = "genomföra under året"
        else:
            outcome_text = ("–" if outcome is None
                            else _unit_text(outcome, p.unit, decimals))
            target_text = ("–" if p.target is None
                           else f"{_unit_text(p.target, p.unit)} per år")
        out.append(PromiseProgress(p, outcome, outcome_text, target_text, status,
                                   tuple(details), places))
    return out


def status_counts(progress: Sequence[PromiseProgress]) -> dict[str, int]:
    """Number of promises per status label, in :data:`STATUSES` order (zeros left out)."""
    counts = {s.label: 0 for s in STATUSES}
    for p in progress:
        counts[p.status.label] += 1
    return {k: v for k, v in counts.items() if v}
