"""The yearly public follow-up report (Swedish), as standalone HTML or PDF.

:func:`build_report` gathers everything the report shows into a :class:`ReportData`;
:func:`render_report_html` renders it with the Jinja2 template
``promises/templates/report.html.j2``; :func:`write_report` writes HTML or PDF (PDF from
the same HTML with WeasyPrint). :func:`report_for_profile` does all of it from a profile
and a promise register, as ``trygga report`` and the app's Uppföljning page do.

Contents
--------
* every promise with its target, outcome and status badge (:mod:`promises.progress`);
* the safety walks held: date, place, light condition, participant counts per group and
  the number of (public) findings;
* findings of the year by category and state, the share fixed, the median number of days
  to fix, and what was closed without action, with the reasons;
* the lighting work: km improved near schools, crossings and priority areas, luminaires
  converted to LED with kWh, SEK and CO₂ saved, and before/after maps drawn offline;
* charts: findings per month, fixes per month, luminaires per light source, and commute
  darkness by month (:func:`gis.darkness.commute_darkness_by_month`).

Privacy (the public allow-list)
-------------------------------
Findings enter the report only through :func:`walks.public.public_view` (STYLE rule 8):
``non_public`` findings and staff-only categories are never counted or shown. Two internal
fields are read for public findings only, as aggregates or as the issue asks: the walk a
finding belongs to (to count findings per walk) and the reason a finding was closed
without action (printed, as the walk protocol does; ``show_closed_reasons=False`` leaves
it out). Internal notes, severities, responsible parties, import keys, history, photos and
walk organisers are never read into the report. Walk participants are counts per group;
no names are stored anywhere. Activity notes are never printed, and activity places only
for promises whose owner allows it.

Safety of the output
--------------------
Jinja2 autoescaping is on, so every text is HTML-escaped (``<script>`` becomes
``&lt;script&gt;``); the public view's already-escaped texts are unescaped first so they
are escaped exactly once. Images are embedded as base64 ``data:`` URIs and the CSS is
inline: the file makes no external requests and opens offline. The PDF's URL fetcher only
accepts ``data:`` URIs.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import jinja2
import numpy as np
import pandas as pd

from gis.darkness import commute_darkness_by_month, commute_darkness_by_school, school_day_table
from layers._common import LayerWarning
from layers.io import write_atomic
from layers.profile import Profile
from promises import charts
from promises.activities import open_activity_log
from promises.demo import seed_demo_walks
from promises.milestones import open_milestone_log
from promises.progress import (
    LedProgress,
    LightingProgress,
    ProgressInputs,
    PromiseProgress,
    compute_progress,
    fmt_number,
    held_walks,
    led_progress,
    lighting_progress,
    status_counts,
)
from promises.register import Register
from promises.snapshots import RankingSnapshot, snapshots_for_year
from walks.categories import CATEGORIES
from walks.deadlines import DeadlineSummary, finding_deadlines, summarize_deadlines
from walks.model import FINDING_STATES, PARTICIPANT_GROUPS
from walks.pdf import html_to_pdf
from walks.public import public_view

if TYPE_CHECKING:
    from layers.loader import Layers
    from walks.store import FindingStore

logger = logging.getLogger(__name__)

#: Output extension / ``--format`` value -> format.
REPORT_FORMATS: dict[str, str] = {".html": "html", ".htm": "html", ".pdf": "pdf",
                                  "html": "html", "pdf": "pdf"}
_TEMPLATES = Path(__file__).with_name("templates")
_MONTHS_SV = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
              "september", "oktober", "november", "december")


class ReportError(RuntimeError):
    """The report cannot be written in the requested format (the message has the fix)."""


@dataclass(frozen=True)
class Chart:
    """An embedded chart or map with its text alternative.

    Attributes
    ----------
    key : str
        Stable name, e.g. ``"findings_per_month"``.
    title : str
        Heading shown above the image.
    alt : str
        Text alternative of the image (Swedish).
    png : bytes
        The image.
    head : tuple of str
        Column headings of the data table shown under the chart (may be empty).
    rows : tuple of tuple of str
        Rows of that table.
    """

    key: str
    title: str
    alt: str
    png: bytes
    head: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()

    @property
    def data_uri(self) -> str:
        """The PNG as a ``data:`` URI."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class WalkRow:
    """One held walk in the report (public fields only)."""

    date: str
    title: str
    place: str
    light: str
    participants: tuple[tuple[str, int], ...]
    participants_total: int
    findings: int


@dataclass(frozen=True)
class ClosedRow:
    """A finding closed without action (public finding; reason as the staff wrote it)."""

    date: str
    category: str
    reason: str


@dataclass(frozen=True)
class FindingsSummary:
    """The year's public findings.

    Attributes
    ----------
    total : int
        Public findings made during the year.
    states : tuple of str
        State labels, in workflow order (columns of ``by_category``).
    by_category : tuple of (str, tuple of int, int)
        Category, count per state, total; categories in checklist order.
    fixed : int
        Of ``total``, fixed (state type ``fixed``).
    share_fixed : float or None
        ``fixed / total`` (None without findings).
    median_days_to_fix : float or None
        Median days from finding to fix over the fixed ones.
    closed : tuple of ClosedRow
        Closed without action.
    per_month, fixes_per_month : dict
        Month (1–12) -> findings made / findings fixed in that month of the year.
    """

    total: int
    states: tuple[str, ...]
    by_category: tuple[tuple[str, tuple[int, ...], int], ...]
    fixed: int
    share_fixed: float | None
    median_days_to_fix: float | None
    closed: tuple[ClosedRow, ...]
    per_month: dict[int, int]
    fixes_per_month: dict[int, int]


@dataclass(frozen=True)
class SchoolDarknessRow:
    """Dark commute hours per school day of one school, month by month.

    Attributes
    ----------
    school : str
    school_day : str
        E.g. ``"08:10–14:20, 25 min resa"``.
    hours : tuple of float
        Mean dark hours per school day, January to December.
    """

    school: str
    school_day: str
    hours: tuple[float, ...]


def school_darkness_rows(profile: Profile, schools: Any, year: int) -> tuple[
        SchoolDarknessRow, ...]:
    """The report's commute-darkness rows, one per school of the layer (profile times)."""
    table = school_day_table(schools, profile.school_day)
    if table.empty:
        return ()
    dark = commute_darkness_by_school(table, profile.timezone, year)["dark_h"]
    return tuple(SchoolDarknessRow(
        str(name), f"{r.start}–{r.end}, {fmt_number(r.travel_min)} min resa",
        tuple(float(v) for v in dark.xs(name, level=0).to_numpy()))
        for name, r in table.iterrows())


def year_deadlines(staff: pd.DataFrame, public_ids: set[str], profile: Profile, year: int,
                   as_of: dt.date) -> DeadlineSummary | None:
    """"Åtgärdat i tid" for the public findings fixed in *year*, and the public findings
    overdue on *as_of* (counts only; deadlines come from the profile's ``deadlines`` and
    the deadlines staff set, :func:`walks.deadlines.finding_deadlines`). None when the
    profile has no deadline rules and no finding has a deadline."""
    pub = staff.loc[staff.index.isin(list(public_ids))]
    has_set = "deadline" in pub.columns and pub["deadline"].notna().any()
    if not profile.deadlines and not has_set:
        return None
    dl = finding_deadlines(pub, profile.deadlines, as_of=as_of, tz=profile.timezone)
    fixed_at = pd.to_datetime(pub["fixed_at"], utc=True, errors="coerce").dt.tz_convert(
        profile.timezone) if "fixed_at" in pub.columns else pd.Series(pd.NaT, index=pub.index)
    return summarize_deadlines(dl, fixed_at.dt.year.eq(year))


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows; public content only (see the module docstring)."""

    year: int
    as_of: dt.date
    generated: str
    municipality: str
    title: str
    demo: bool
    note: str
    progress: tuple[PromiseProgress, ...]
    status_counts: dict[str, int]
    walks: tuple[WalkRow, ...]
    findings: FindingsSummary
    lighting: LightingProgress | None
    led: LedProgress | None
    snapshot_labels: tuple[str, str] | None
    charts: tuple[Chart, ...] = ()
    maps: tuple[Chart, ...] = ()
    show_closed_reasons: bool = True
    sources: tuple[str, ...] = field(default_factory=tuple)
    partial_share: float = 0.5
    joint: tuple[PromiseProgress, ...] = ()
    joint_municipalities: tuple[str, ...] = ()
    school_darkness: tuple[SchoolDarknessRow, ...] = ()
    deadlines: DeadlineSummary | None = None

    def chart(self, key: str) -> Chart:
        """The chart or map named *key*. Raises KeyError."""
        for c in (*self.charts, *self.maps):
            if c.key == key:
                return c
        raise KeyError(key)


# --------------------------------------------------------------------------------------
# Gathering
# --------------------------------------------------------------------------------------

def _text(value: Any) -> str:
    """*value* as text; missing values (None, NaN, NA) as empty text."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def _unescape(value: Any) -> str:
    """Text of the public view (HTML-escaped there) as plain text for the template."""
    return html.unescape(_text(value))


def _date_sv(value: dt.date) -> str:
    return f"{value.day} {_MONTHS_SV[value.month - 1]} {value.year}"


def _year_month(dates: pd.Series, year: int) -> pd.Series:
    """Months (1–12) of the ISO date strings in *dates* that fall in *year*."""
    d = pd.to_datetime(dates, errors="coerce", format="ISO8601")
    d = d[d.dt.year == year]
    return d.dt.month


def _month_dict(counts: pd.Series) -> dict[int, int]:
    """Month (1–12) -> count, from a value_counts() of months."""
    return {int(m): int(n) for m, n in zip(counts.index.to_numpy(), counts.to_numpy(),
                                           strict=True)}


def summarize_findings(public: pd.DataFrame, staff: pd.DataFrame, year: int, *,
                       show_closed_reasons: bool = True,
                       category_order: Sequence[str] | None = None) -> FindingsSummary:
    """Summarise the public findings of *year*.

    Parameters
    ----------
    public : DataFrame
        :func:`walks.public.public_view` of the store's findings.
    staff : DataFrame
        The store's findings (:meth:`walks.store.FindingStore.findings`); only
        (kept for callers; only the public explanation ``public_note`` of the public view
        is printed, never the internal ``closed_reason``).
    year : int
    show_closed_reasons : bool
        Print the reasons for closing without action.
    category_order : sequence of str, optional
        Row order of the category table (default: the checklist order).
    """
    dates = pd.to_datetime(public["date"], errors="coerce", format="ISO8601")
    pub = public.loc[(dates.dt.year == year).to_numpy()]
    states = tuple(s.label for s in FINDING_STATES)
    cats = [_unescape(c) for c in pub["category"]]
    labels = [_unescape(s) for s in pub["state_label"]]
    order = list(category_order or [c.label for c in CATEGORIES])
    order += sorted(set(cats) - set(order))
    rows = []
    for cat in order:
        n = [sum(1 for c, s in zip(cats, labels, strict=True) if c == cat and s == st)
             for st in states]
        if sum(n):
            rows.append((cat, tuple(n), sum(n)))
    is_fixed = pub["state_type"].astype(str).eq("fixed").to_numpy()
    fixed = pub.loc[is_fixed]
    days = (pd.to_datetime(fixed["fixed_date"], format="ISO8601")
            - pd.to_datetime(fixed["date"], format="ISO8601")).dt.days
    closed_rows = []
    # Only the public explanation is printed; the internal closing reason never is.
    for _, r in pub.loc[pub["state_type"].astype(str).eq("closed").to_numpy()].iterrows():
        reason = _unescape(str(r.get("public_note") or "")) if show_closed_reasons else ""
        closed_rows.append(ClosedRow(str(r["date"]), _unescape(r["category"]), reason))
    per_month = _year_month(pub["date"], year).value_counts()
    fixes = _year_month(public.loc[public["state_type"].astype(str).eq("fixed").to_numpy(),
                                   "fixed_date"], year).value_counts()
    total = len(pub)
    return FindingsSummary(
        total=total, states=states, by_category=tuple(rows), fixed=int(is_fixed.sum()),
        share_fixed=(float(is_fixed.sum()) / total) if total else None,
        median_days_to_fix=float(days.median()) if len(days) else None,
        closed=tuple(sorted(closed_rows, key=lambda c: (c.date, c.category))),
        per_month=_month_dict(per_month), fixes_per_month=_month_dict(fixes))


def walk_rows(walks: pd.DataFrame, year: int, findings_per_walk: dict[str, int],
              tz: str) -> tuple[WalkRow, ...]:
    """The held walks of *year* as report rows (no organiser, no route, no names)."""
    held = held_walks(walks, year, tz)
    out = []
    for wid, r in held.iterrows():
        counts = dict(r["participants"] or {})
        groups = tuple((g, int(counts[g])) for g in PARTICIPANT_GROUPS if counts.get(g))
        area, school = (_text(r.get(k)).strip() for k in ("area", "school"))
        place = ", ".join(p for p in (area, school) if p) or "–"
        out.append(WalkRow(date=r["local_date"].isoformat(), title=str(r["title"]),
                           place=place, light=str(r["light"]), participants=groups,
                           participants_total=sum(c for _, c in groups),
                           findings=int(findings_per_walk.get(str(wid), 0))))
    return tuple(out)


def _chart_rows(counts: dict[int, int]) -> tuple[tuple[str, ...], ...]:
    return tuple((charts.MONTHS_SV[m - 1], str(counts.get(m, 0))) for m in range(1, 13))


def _peak(counts: dict[int, int]) -> str:
    if not counts or max(counts.values()) == 0:
        return "Inga under året."
    m = max(counts, key=lambda k: (counts[k], -k))
    return f"Flest i {_MONTHS_SV[m - 1]} ({counts[m]})."


def _make_charts(year: int, fs: FindingsSummary, led: LedProgress | None,
                 labels: tuple[str, str] | None, darkness: pd.DataFrame) -> tuple[Chart, ...]:
    out = [
        Chart("findings_per_month", f"Fynd per månad {year}",
              f"Stapeldiagram över offentliga fynd per månad {year}. {_peak(fs.per_month)}",
              charts.monthly_bars(pd.Series(fs.per_month, dtype="int64"),
                                  f"Fynd per månad {year}"),
              ("Månad", "Fynd"), _chart_rows(fs.per_month)),
        Chart("fixes_per_month", f"Åtgärdade fynd per månad {year}",
              f"Stapeldiagram över fynd som åtgärdades per månad {year}. "
              f"{_peak(fs.fixes_per_month)}",
              charts.monthly_bars(pd.Series(fs.fixes_per_month, dtype="int64"),
                                  f"Åtgärdade fynd per månad {year}", colour="#2a9d8f"),
              ("Månad", "Åtgärdade"), _chart_rows(fs.fixes_per_month)),
    ]
    if led is not None and labels is not None:
        sources = [s for s in charts.SOURCE_LABELS_SV
                   if s in led.sources_before or s in led.sources_after]
        out.append(Chart(
            "led_conversions", "Armaturer per ljuskälla, före och efter",
            f"Stapeldiagram över armaturer per ljuskälla. LED-armaturer: "
            f"{led.sources_before.get('LED', 0)} före och {led.sources_after.get('LED', 0)} "
            f"efter; {led.conversions} armaturer byttes till LED.",
            charts.light_source_bars(led.sources_before, led.sources_after, labels),
            ("Ljuskälla", labels[0], labels[1]),
            tuple((charts.SOURCE_LABELS_SV[s], str(led.sources_before.get(s, 0)),
                   str(led.sources_after.get(s, 0))) for s in sources)))
    d = darkness.reindex(range(1, 13)).fillna(0.0)
    share = d["share_dark"].to_numpy(dtype=float)
    morning = d["share_dark_morning"].to_numpy(dtype=float)
    afternoon = d["share_dark_afternoon"].to_numpy(dtype=float)
    worst = int(np.argmax(share))
    out.append(Chart(
        "commute_darkness", "Mörker under skolvägen per månad",
        "Stapeldiagram över andelen av skolvägstiden (07.15–08.15 och 14.30–17.00) som är "
        f"mörk. Mörkast i {_MONTHS_SV[worst]}: {fmt_number(100 * share[worst])} procent.",
        charts.darkness_chart(darkness),
        ("Månad", "Morgon, %", "Eftermiddag, %"),
        tuple((charts.MONTHS_SV[i], fmt_number(100 * morning[i]),
               fmt_number(100 * afternoon[i])) for i in range(12))))
    return tuple(out)


def _make_maps(before: RankingSnapshot, after: RankingSnapshot, lp: LightingProgress,
               layers: Layers | None) -> tuple[Chart, ...]:
    schools = layers.schools if layers is not None else None
    areas = layers.priority_areas if layers is not None else None
    extent = charts.map_extent(after.segments, lp.improved_ids)
    out = []
    for key, snap, when in (("map_before", before, "före"), ("map_after", after, "efter")):
        png = charts.status_map(snap.segments, extent, f"Belysning {when}: {snap.label}",
                                highlight_ids=lp.improved_ids, schools=schools, areas=areas)
        if png is None:
            continue
        out.append(Chart(
            key, f"Karta {when}: {snap.label}",
            f"Karta över gång- och cykelvägar färgade efter belysning {when} årets arbete "
            f"({snap.label}), i utsnittet där mest förbättrades. Delsträckor som fick "
            f"godkänd belysning under året (totalt {fmt_number(lp.km_improved, 1)} km i "
            "hela kommunen) är markerade med blå bakgrund.", png))
    return tuple(out)


def build_report(profile: Profile, register: Register, store: FindingStore,
                 activities: pd.DataFrame, year: int, *,
                 before: RankingSnapshot | None = None, after: RankingSnapshot | None = None,
                 layers: Layers | None = None, as_of: dt.date | None = None,
                 show_closed_reasons: bool = True, draw: bool = True,
                 milestones: pd.DataFrame | None = None) -> ReportData:
    """Gather the report of *year* from the store, the activity log and two snapshots.

    Parameters
    ----------
    profile : Profile
        Costs, designated schools, time zone, reference point (darkness), demo flag.
    register : Register
        The promises; *year* must lie in its period.
    store : FindingStore
        Walks and findings (only the public view of the findings is used).
    activities : DataFrame
        :meth:`promises.activities.ActivityLog.frame`.
    year : int
    before, after : RankingSnapshot, optional
        The lighting at the start and at the end of the year; without them the lighting
        promises show *underlag saknas*.
    layers : Layers, optional
        For the school grounds and priority areas on the maps.
    as_of : datetime.date, optional
        Report date (default: today in the profile's time zone); before the year is over,
        unmet targets are *pågår*.
    show_closed_reasons : bool
        Print why findings were closed without action.
    draw : bool
        Draw the charts and maps (False: numbers only, faster).
    milestones : DataFrame, optional
        :meth:`promises.milestones.MilestoneLog.frame` (default: none recorded).

    Notes
    -----
    Promises shared with other municipalities (``joint_with``) are also listed in
    ``joint``, with ``joint_municipalities`` (this register's municipality first), for the
    joint section printed in every partner's report.
    """
    tz = profile.timezone
    as_of = as_of or dt.datetime.now(ZoneInfo(tz)).date()
    staff = store.findings(include_hidden=False)
    public = public_view(staff, categories=store.categories, tz=tz)
    public_ids = {_unescape(i) for i in public["id"]}
    walk_ids = staff.loc[staff.index.isin(public_ids), "walk_id"].dropna().astype(str)
    per_walk = {str(k): int(v) for k, v in walk_ids.value_counts().items()}
    walks = store.walks()
    inputs = ProgressInputs(walks=walks, activities=activities, before=before, after=after,
                            costs=profile.costs,
                            designated_schools=tuple(profile.designated_schools),
                            walk_findings=per_walk, tz=tz,
                            **({} if milestones is None else {"milestones": milestones}))
    progress = compute_progress(register, year, inputs, as_of)
    fs = summarize_findings(public, staff, year, show_closed_reasons=show_closed_reasons,
                            category_order=[c.label for c in store.categories])
    lp = led = None
    labels = None
    if before is not None and after is not None:
        labels = (before.label, after.label)
        lighting_promise = next((p for p in register.promises if p.measure == "lighting_km"),
                                None)
        if lighting_promise is not None:
            lp = lighting_progress(before.segments, after.segments,
                                   school_distance_m=lighting_promise.school_distance_m,
                                   crossing_distance_m=lighting_promise.crossing_distance_m,
                                   areas=lighting_promise.areas)
        led = led_progress(before.luminaires, after.luminaires, profile.costs)
    chart_list: tuple[Chart, ...] = ()
    maps: tuple[Chart, ...] = ()
    if draw:
        darkness = commute_darkness_by_month(profile.latitude, profile.longitude, tz,
                                             year=year)
        chart_list = _make_charts(year, fs, led, labels, darkness)
        if lp is not None and before is not None and after is not None:
            maps = _make_maps(before, after, lp, layers)
    sources = [f"Löftesregister: {register.title} ({register.path.name})",
               "Trygghetsvandringar och fynd: kommunens fyndregister (endast offentliga fynd)",
               "Aktiviteter: aktivitetsloggen för medborgarlöftena"]
    if labels is not None:
        sources.append(f"Belysning: {labels[0]} och {labels[1]}, rangordnade med samma "
                       "belysningsmodell (EN 13201-2)")
    deadlines = year_deadlines(staff, public_ids, profile, year, as_of)
    joint = tuple(p for p in progress if p.promise.joint_with)
    school_dark = (school_darkness_rows(profile, layers.schools, year)
                   if layers is not None else ())
    names = dict.fromkeys([register.municipality,
                           *(m for p in joint for m in p.promise.joint_with)])
    return ReportData(
        joint=joint, joint_municipalities=tuple(names) if joint else (),
        school_darkness=school_dark, deadlines=deadlines,
        year=year, as_of=as_of, generated=_date_sv(as_of), municipality=profile.name,
        title=register.title, demo=profile.demo, note=register.note,
        progress=tuple(progress), status_counts=status_counts(progress),
        walks=walk_rows(walks, year, per_walk, tz), findings=fs, lighting=lp, led=led,
        snapshot_labels=labels, charts=chart_list, maps=maps,
        show_closed_reasons=show_closed_reasons, sources=tuple(sources),
        partial_share=register.partial_share)


def report_for_profile(profile: Profile, register: Register, year: int, *,
                       before: str | Path | None = None, after: str | Path | None = None,
                       as_of: dt.date | None = None, show_closed_reasons: bool = True,
                       store: FindingStore | None = None, layers: Layers | None = None,
                       draw: bool = True) -> ReportData:
    """The report of *year* for a profile: opens the store, the log, layers and snapshots.

    On the demo profile the store is seeded with the demo findings and walks, and the
    activity log with the demo activities, on first use.

    Parameters
    ----------
    before, after : path, optional
        Override the register's inventories: a ``ranking.gpkg`` of ``trygga rank`` (or
        its folder) or an inventory file.
    store : FindingStore, optional
        Default: :func:`walks.service.open_store` of the profile (closed afterwards).
    layers : Layers, optional
        The profile's layers, when already loaded (e.g. cached by the app).
    """
    from layers.loader import load_layers
    from walks.service import open_store

    if layers is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LayerWarning)
            layers = load_layers(profile)
    snap_before, snap_after = snapshots_for_year(profile, register, year, layers=layers,
                                                 before=before, after=after)
    log = open_activity_log(profile, register)
    milestone_log = open_milestone_log(profile, register)
    with contextlib.ExitStack() as stack:
        if store is None:
            store = stack.enter_context(open_store(profile))
        seed_demo_walks(store, profile)
        return build_report(profile, register, store, log.frame(), year, before=snap_before,
                            after=snap_after, layers=layers, as_of=as_of,
                            show_closed_reasons=show_closed_reasons, draw=draw,
                            milestones=milestone_log.frame())


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------

def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["num"] = fmt_number
    env.filters["pct"] = lambda v: "–" if v is None else f"{fmt_number(100 * v)} %"
    env.filters["source_sv"] = lambda s: charts.SOURCE_LABELS_SV.get(str(s), str(s))
    return env


def render_report_html(data: ReportData) -> str:
    """The report as one standalone HTML page (inline CSS, embedded images)."""
    return _environment().get_template("report.html.j2").render(r=data)


def render_report_pdf(html_text: str) -> bytes:
    """PDF bytes of the report HTML (WeasyPrint; only ``data:`` URIs are fetched).

    Raises
    ------
    ReportError
        WeasyPrint or its system libraries are missing (the message says how to fix it).
    """
    return html_to_pdf(html_text, ReportError, "report")


def report_bytes(data: ReportData, fmt: str = "html") -> bytes:
    """The report as ``html`` (UTF-8) or ``pdf`` bytes."""
    text = render_report_html(data)
    if fmt == "html":
        return text.encode("utf-8")
    if fmt == "pdf":
        return render_report_pdf(text)
    raise ValueError(f"unknown report format {fmt!r}. Fix: use html or pdf")


def write_report(data: ReportData, out_path: str | Path, fmt: str | None = None) -> Path:
    """Write the report as HTML or PDF; the file is replaced atomically.

    Parameters
    ----------
    data : ReportData
    out_path : path
        Output file.
    fmt : {'html', 'pdf'}, optional
        Default: from the extension (``.html``, ``.htm``, ``.pdf``).

    Raises
    ------
    ValueError
        Unknown format or extension.
    ReportError
        PDF requested but WeasyPrint cannot run here.
    """
    out = Path(out_path)
    kind = REPORT_FORMATS.get((fmt or out.suffix).lower())
    if kind is None:
        what = repr(fmt or out.suffix) if (fmt or out.suffix) else "a file without extension"
        raise ValueError(f"cannot write the report as {what}. Fix: use .html or .pdf "
                         "(or --format html|pdf)")
    write_atomic(out, report_bytes(data, kind))
    logger.info("wrote the %s report of %d to %s", kind.upper(), data.year, out)
    return out
