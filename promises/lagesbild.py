"""The monthly lägesbild for trygghetssamverkan (kommun and police), as HTML or PDF.

:func:`build_lagesbild` gathers one month: findings made and fixed, by area and category;
what is open at the end of the month and how much of it is past its deadline; the
activity-log entries of the month per promise; the milestones recorded; and trends against
the months before (and the same month a year earlier). :func:`render_lagesbild_html`
renders ``promises/templates/lagesbild.html.j2``; :func:`write_lagesbild` writes HTML or
PDF (the same WeasyPrint pipeline as the yearly report, :func:`walks.pdf.html_to_pdf`).

No personal data
----------------
Findings are counted from :func:`walks.public.public_view` only (no internal notes, no
non-public findings). The deadline counts read the deadlines of those public findings as
aggregates. Activity notes are never read; activity places are printed only for promises
whose places are public (:attr:`promises.register.Promise.places_public`). Milestone notes
are public by definition. Nothing names a person.

Areas are the profile's priority areas, by the public position of each finding
(:func:`walks.feed.finding_areas`); findings outside every area count under
:data:`OUTSIDE_AREAS`. Months are local calendar months in the profile's time zone.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import pandas as pd

from layers.io import write_atomic
from promises.progress import fmt_number
from promises.register import Register
from walks.deadlines import finding_deadlines
from walks.feed import finding_areas
from walks.pdf import html_to_pdf
from walks.public import public_view

if TYPE_CHECKING:
    import geopandas as gpd

    from layers.profile import Profile
    from walks.store import FindingStore

logger = logging.getLogger(__name__)

#: Column label for findings outside every priority area.
OUTSIDE_AREAS = "övriga kommunen"
#: State shown for findings open at the end of the month and fixed since.
LATER_FIXED = "åtgärdat efter månaden"
#: Months of trend before the report month.
TREND_MONTHS = 5
FORMATS: dict[str, str] = {".html": "html", ".htm": "html", ".pdf": "pdf", "html": "html",
                           "pdf": "pdf"}
_TEMPLATES = Path(__file__).with_name("templates")
_MONTHS_SV = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
              "september", "oktober", "november", "december")


class LagesbildError(RuntimeError):
    """The lägesbild cannot be written in the requested format (the message has the fix)."""


def parse_month(text: str) -> dt.date:
    """The first day of ``"YYYY-MM"``.

    Raises
    ------
    ValueError
        Not a month; the message shows the form.
    """
    try:
        d = dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise ValueError(f"{text!r} is not a month. Fix: write it as YYYY-MM, e.g. "
                         "2024-11") from None
    return d


def month_label(first: dt.date) -> str:
    """``"november 2024"``."""
    return f"{_MONTHS_SV[first.month - 1]} {first.year}"


def _months_back(first: dt.date, n: int) -> list[dt.date]:
    """*n* first-of-month dates before *first*, oldest first, then *first*."""
    out = [first]
    y, m = first.year, first.month
    for _ in range(n):
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        out.insert(0, dt.date(y, m, 1))
    return out


def _month_of(values: pd.Series) -> pd.Series:
    """First-of-month dates of ISO date strings / dates (None for missing)."""
    d = pd.to_datetime(values.astype(object), errors="coerce", format="ISO8601")
    return pd.Series([None if pd.isna(x) else dt.date(x.year, x.month, 1) for x in d],
                     index=values.index, dtype=object)


@dataclass(frozen=True)
class TrendRow:
    """One month of the trend table."""

    month: str
    findings: int
    fixed: int
    activities: int


@dataclass(frozen=True)
class ActivityRow:
    """The month's activity-log entries of one promise (no notes)."""

    area: str
    promise_id: str
    text: str
    entries: int
    count: int
    places: tuple[str, ...]


@dataclass(frozen=True)
class LagesbildData:
    """Everything the lägesbild shows (no personal data, see the module docstring).

    Attributes
    ----------
    month : datetime.date
        First day of the month.
    municipality, title : str
    generated : str
        Date of writing, Swedish.
    demo : bool
    areas : tuple of str
        Column order of the area tables (priority areas, then :data:`OUTSIDE_AREAS`).
    made, fixed : tuple of (str, tuple of int, int)
        Findings made / fixed in the month: category, count per area, total.
    made_total, fixed_total : int
    open_by_state : tuple of (str, int)
        Public findings open at the end of the month, by current state
        (:data:`LATER_FIXED` for those fixed since).
    overdue_open : int
        Of those, past their deadline at the end of the month.
    activities : tuple of ActivityRow
    milestones : tuple of (str, str, str, str)
        Recorded in the month: date, promise text, step, public note.
    trend : tuple of TrendRow
        The months before and the month itself, oldest first.
    year_before : TrendRow
        The same month a year earlier.
    changes : dict
        ``findings``/``fixed``/``activities`` -> Swedish text comparing the month with the
        mean of the months before.
    """

    month: dt.date
    municipality: str
    title: str
    generated: str
    demo: bool
    areas: tuple[str, ...]
    made: tuple[tuple[str, tuple[int, ...], int], ...]
    fixed: tuple[tuple[str, tuple[int, ...], int], ...]
    made_total: int
    fixed_total: int
    open_by_state: tuple[tuple[str, int], ...]
    overdue_open: int
    activities: tuple[ActivityRow, ...]
    milestones: tuple[tuple[str, str, str, str], ...]
    trend: tuple[TrendRow, ...]
    year_before: TrendRow
    changes: dict[str, str]


def _area_table(cats: pd.Series, areas: pd.Series, order: list[str],
                area_order: list[str]) -> tuple[tuple[str, tuple[int, ...], int], ...]:
    if cats.empty:
        return ()
    table = pd.crosstab(cats, areas).reindex(columns=area_order, fill_value=0)
    rows = []
    for cat in [c for c in order if c in table.index] + sorted(set(table.index) - set(order)):
        counts = tuple(int(v) for v in table.loc[cat].to_numpy())
        rows.append((cat, counts, sum(counts)))
    return tuple(rows)


def _change(now: float, before: list[float]) -> str:
    if not before:
        return "–"
    mean = sum(before) / len(before)
    if mean == 0:
        return "fler än tidigare månader" if now > 0 else "som tidigare månader"
    diff = (now - mean) / mean
    if abs(diff) < 0.1:
        return f"ungefär som snittet för de {len(before)} månaderna före ({fmt_number(mean, 1)})"
    word = "fler" if diff > 0 else "färre"
    return (f"{fmt_number(abs(100 * diff))} procent {word} än snittet för de "
            f"{len(before)} månaderna före ({fmt_number(mean, 1)})")


def build_lagesbild(profile: Profile, store: FindingStore, activities: pd.DataFrame,
                    milestones: pd.DataFrame, register: Register | None, month: dt.date, *,
                    areas: gpd.GeoDataFrame | None = None,
                    as_of: dt.date | None = None) -> LagesbildData:
    """Gather the lägesbild of *month* (see the module docstring).

    Parameters
    ----------
    profile : Profile
        Time zone, deadlines, name, demo flag.
    store : FindingStore
        Findings (only their public view is counted).
    activities : DataFrame
        :meth:`promises.activities.ActivityLog.frame` (notes are never read).
    milestones : DataFrame
        :meth:`promises.milestones.MilestoneLog.frame`.
    register : Register or None
        Promise texts and areas, and which promises' places are public.
    month : datetime.date
        Any day of the month (the first day is used).
    areas : GeoDataFrame, optional
        Priority areas with ``name``.
    as_of : datetime.date, optional
        Date of writing (default today).
    """
    month = dt.date(month.year, month.month, 1)
    nxt = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    end = nxt - dt.timedelta(days=1)
    tz = profile.timezone
    staff = store.findings(include_hidden=False)
    view = public_view(staff, categories=store.categories, tz=tz)
    area_of = finding_areas(view, areas) if areas is not None else pd.Series(
        "", index=view.index, dtype=object)
    area_names = [] if areas is None or areas.empty else list(dict.fromkeys(
        areas["name"].astype(str)))
    area_col = area_of.where(area_of.ne(""), OUTSIDE_AREAS)
    area_order = [*area_names, OUTSIDE_AREAS]
    cats = view["category"].map(lambda v: html.unescape(str(v)))
    made_m = _month_of(view["date"])
    fixed_m = _month_of(view["fixed_date"].where(view["state_type"].eq("fixed")))
    order = [c.label for c in store.categories]
    in_made = made_m.eq(month).to_numpy()
    in_fixed = fixed_m.eq(month).to_numpy()
    made = _area_table(cats[in_made], area_col[in_made], order, area_order)
    fixed = _area_table(cats[in_fixed], area_col[in_fixed], order, area_order)

    # open at the end of the month: made by then and not fixed by then (current state)
    made_by = pd.Series([m is not None and m <= month for m in made_m], index=view.index)
    fixed_by = pd.Series([m is not None and m <= month for m in fixed_m], index=view.index)
    still = made_by & ~fixed_by & view["state_type"].ne("closed")
    # the current state, except for findings fixed since: they were open then
    states = pd.Series([LATER_FIXED if t == "fixed" else html.unescape(str(v)) for v, t in
                        zip(view.loc[still.to_numpy(), "state_label"],
                            view.loc[still.to_numpy(), "state_type"], strict=True)],
                       dtype=object)
    open_by_state = tuple((str(k), int(v)) for k, v in states.value_counts().items())
    pub_ids = {html.unescape(str(i)) for i in view.loc[still.to_numpy(), "id"]}
    sel = staff.loc[staff.index.isin(list(pub_ids))]
    overdue = int(finding_deadlines(sel, profile.deadlines, as_of=end, tz=tz)["overdue"].sum()
                  ) if len(sel) else 0

    acts = activities
    act_m = _month_of(acts["date"]) if len(acts) else pd.Series(dtype=object)
    by_id = {p.id: p for p in register.promises} if register is not None else {}
    rows: list[ActivityRow] = []
    if len(acts):
        month_acts = acts.loc[act_m.eq(month).to_numpy()]
        for pid, grp in month_acts.groupby("promise_id", sort=False):
            p = by_id.get(str(pid))
            places: tuple[str, ...] = ()
            if p is not None and p.places_public:
                places = tuple(sorted({str(x).strip() for x in grp["place"] if str(x).strip()}))
            rows.append(ActivityRow(p.area if p else "", str(pid), p.text if p else str(pid),
                                    len(grp), int(grp["count"].sum()), places))
    pos = {pid: i for i, pid in enumerate(by_id)}
    rows.sort(key=lambda r: (pos.get(r.promise_id, len(pos)), r.promise_id))

    ms_rows: list[tuple[str, str, str, str]] = []
    if len(milestones):
        ms = milestones.loc[_month_of(milestones["date"]).eq(month).to_numpy()]
        for d, pid, step, note in zip(ms["date"], ms["promise_id"], ms["step"], ms["note"],
                                      strict=True):
            p = by_id.get(str(pid))
            ms_rows.append((d.isoformat(), p.text if p else str(pid), str(step), str(note)))

    def trend_row(m: dt.date) -> TrendRow:
        n_acts = int(acts.loc[act_m.eq(m).to_numpy(), "count"].sum()) if len(acts) else 0
        return TrendRow(month_label(m), int(made_m.eq(m).sum()), int(fixed_m.eq(m).sum()),
                        n_acts)

    months = _months_back(month, TREND_MONTHS)
    trend = tuple(trend_row(m) for m in months)
    before = trend[:-1]
    now = trend[-1]
    changes = {
        "findings": _change(now.findings, [t.findings for t in before]),
        "fixed": _change(now.fixed, [t.fixed for t in before]),
        "activities": _change(now.activities, [t.activities for t in before]),
    }
    as_of = as_of or dt.date.today()
    return LagesbildData(
        month=month, municipality=profile.name,
        title=f"Lägesbild {month_label(month)}", generated=f"{as_of.day} "
        f"{_MONTHS_SV[as_of.month - 1]} {as_of.year}", demo=profile.demo,
        areas=tuple(area_order), made=made, fixed=fixed,
        made_total=int(in_made.sum()), fixed_total=int(in_fixed.sum()),
        open_by_state=open_by_state, overdue_open=overdue, activities=tuple(rows),
        milestones=tuple(ms_rows), trend=trend,
        year_before=trend_row(dt.date(month.year - 1, month.month, 1)), changes=changes)


def lagesbild_for_profile(profile: Profile, month: dt.date, *, register: Register | None,
                          store: FindingStore | None = None,
                          as_of: dt.date | None = None) -> LagesbildData:
    """:func:`build_lagesbild` from a profile: opens the store, the activity and milestone
    logs (seeded on the demo) and the priority areas."""
    import contextlib

    from layers.boundary import read_priority_areas
    from promises.activities import open_activity_log
    from promises.milestones import open_milestone_log
    from walks.service import open_store

    pa = profile.sources.priority_areas
    areas = read_priority_areas(pa, profile.crs) if pa is not None else None
    acts = open_activity_log(profile, register).frame()
    ms = open_milestone_log(profile, register).frame()
    with contextlib.ExitStack() as stack:
        if store is None:
            store = stack.enter_context(open_store(profile))
        return build_lagesbild(profile, store, acts, ms, register, month, areas=areas,
                               as_of=as_of)


def render_lagesbild_html(data: LagesbildData) -> str:
    """The lägesbild as one standalone HTML page (inline CSS, autoescaped)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["num"] = fmt_number
    return env.get_template("lagesbild.html.j2").render(r=data)


def lagesbild_bytes(data: LagesbildData, fmt: str = "html") -> bytes:
    """HTML (UTF-8) or PDF bytes."""
    text = render_lagesbild_html(data)
    if fmt == "html":
        return text.encode("utf-8")
    if fmt == "pdf":
        return html_to_pdf(text, LagesbildError, "lägesbild")
    raise ValueError(f"unknown format {fmt!r}. Fix: use html or pdf")


def write_lagesbild(data: LagesbildData, out: str | Path, fmt: str | None = None) -> Path:
    """Write HTML or PDF (format from *fmt* or the extension); atomically.

    Raises
    ------
    ValueError
        Unknown format.
    LagesbildError
        PDF requested and WeasyPrint cannot run.
    """
    out = Path(out)
    kind = FORMATS.get((fmt or out.suffix).lower())
    if kind is None:
        raise ValueError(f"cannot write {out.name!r}. Fix: use .html or .pdf (or --format "
                         "html|pdf)")
    write_atomic(out, lagesbild_bytes(data, kind), mode=0o600)
    logger.info("wrote the %s lägesbild of %s to %s", kind.upper(), data.month, out)
    return out


def as_rows(data: LagesbildData) -> dict[str, Any]:
    """Key numbers as plain values (for the CLI summary and the app)."""
    return {"month": data.month.isoformat()[:7], "findings": data.made_total,
            "fixed": data.fixed_total, "open": sum(n for _, n in data.open_by_state),
            "overdue": data.overdue_open,
            "activities": sum(a.count for a in data.activities),
            "milestones": len(data.milestones)}


__all__ = ["LATER_FIXED", "OUTSIDE_AREAS", "ActivityRow", "LagesbildData", "LagesbildError", "TrendRow",
           "as_rows", "build_lagesbild", "lagesbild_bytes", "lagesbild_for_profile",
           "month_label", "parse_month", "render_lagesbild_html", "write_lagesbild"]
