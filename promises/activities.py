"""The activity log: what was done for each promise, entry by entry.

Staff log activities (a traffic control, a patrol, a dialogue meeting …) with
``trygga promises log``, in the app, or by importing a CSV file. Each entry has a date,
the promise id, a count, an optional place (a name and optionally a point) and a note.

Privacy
-------
The note is internal and never published. The place is published only when the promise
allows it (:attr:`promises.register.Promise.places_public`; police activity places are
not public by default). No names are asked for; write roles and places, not people.

The log
-------
One CSV text per store, the document ``aktiviteter.csv`` in the findings store (schema 3;
GeoPackage or PostGIS), in the Swedish Excel dialect: ``;``, decimal comma, CRLF; columns
:data:`ACTIVITY_COLUMNS`. Every app instance and command line on the same store sees the
same log; a change is one store transaction that waits for concurrent changes of the same
log, so none is lost. A log file of an older version (beside a GeoPackage store, or in the
profile folder) is moved into the store on first use. Like the findings store it may hold
internal notes: it is not part of the repository.

CSV import
----------
Columns are matched by their Swedish or English names (``datum``/``date``,
``löfte``/``promise``, ``antal``/``count``, ``plats``/``place``, ``lat``, ``lon``,
``anteckning``/``note``); ``;``, ``,`` or tab, UTF-8 or cp1252. An import is all or nothing:
every problem is reported by spreadsheet row (header = row 1) and column, and nothing is
written while there is one. Rows already in the log are skipped, so importing the same
file twice adds nothing.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import difflib
import fcntl
import io
import logging
import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import pandas as pd

from layers._common import Problem, ValidationError, source_label
from layers.io import write_atomic
from layers.lighting import read_delimited
from promises.register import LOGGED_MEASURES, Register

if TYPE_CHECKING:
    from layers.profile import Profile

logger = logging.getLogger(__name__)

#: Columns of the log file and of the CSV template, in order.
ACTIVITY_COLUMNS: tuple[str, ...] = ("datum", "löfte", "antal", "plats", "lat", "lon",
                                     "anteckning")
#: Required columns of an imported file.
REQUIRED_COLUMNS: tuple[str, ...] = ("datum", "löfte")
#: Header synonyms (case- and accent-insensitive) -> column.
_SYNONYMS: dict[str, str] = {
    "datum": "datum", "date": "datum", "dag": "datum",
    "lofte": "löfte", "löfte": "löfte", "promise": "löfte", "promise_id": "löfte",
    "loftes_id": "löfte", "id": "löfte",
    "antal": "antal", "count": "antal", "number": "antal", "n": "antal",
    "plats": "plats", "place": "plats", "location": "plats",
    "lat": "lat", "latitud": "lat", "latitude": "lat",
    "lon": "lon", "long": "lon", "longitud": "lon", "longitude": "lon", "lng": "lon",
    "anteckning": "anteckning", "note": "anteckning", "notes": "anteckning",
    "kommentar": "anteckning", "comment": "anteckning",
}
LOG_NAME = "aktiviteter.csv"


@dataclass(frozen=True)
class Activity:
    """One activity log entry.

    Attributes
    ----------
    date : datetime.date
        When the activity took place (local date).
    promise_id : str
        The promise it counts for (:attr:`promises.register.Promise.id`).
    count : int
        How many (e.g. 3 traffic controls on one evening); at least 1.
    place : str
        Place name, optional; public only if the promise allows it.
    lat, lon : float or None
        Optional point in degrees (WGS 84); both or neither.
    note : str
        Internal note; never published.
    """

    date: dt.date
    promise_id: str
    count: int = 1
    place: str = ""
    lat: float | None = None
    lon: float | None = None
    note: str = ""

    def key(self) -> tuple[Any, ...]:
        """Identity used to recognise an entry that is already in the log."""
        return (self.date, self.promise_id, self.count, self.place.strip(),
                None if self.lat is None else round(self.lat, 6),
                None if self.lon is None else round(self.lon, 6), self.note.strip())


@dataclass(frozen=True)
class ActivityImport:
    """Outcome of :meth:`ActivityLog.import_csv`.

    Attributes
    ----------
    source : str
        File name.
    dry_run : bool
        True when nothing was written.
    new : int
        Entries added (or that would be added).
    duplicates : int
        Rows already in the log, skipped.
    problems : tuple of Problem
        Errors by row and column; with any problem nothing is written.
    """

    source: str
    dry_run: bool
    new: int = 0
    duplicates: int = 0
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there are no problems."""
        return not self.problems

    def summary(self) -> str:
        """One line for the command line (Swedish)."""
        verb = "skulle lägga till" if self.dry_run else "lade till"
        return (f"{self.source}: {verb} {self.new} aktivitet(er), {self.duplicates} "
                f"dubblett(er) hoppades över, {len(self.problems)} problem")


class ActivityImportError(ValidationError):
    """An import with problems; nothing was written. ``report`` lists every problem."""

    def __init__(self, report: ActivityImport):
        self.report = report
        super().__init__(report.problems)


def _norm(text: object) -> str:
    s = str(text).strip().casefold().replace("å", "a").replace("ä", "a").replace("ö", "o")
    return "_".join(s.split())


def _parse_date(text: str) -> dt.date | None:
    s = text.strip()
    for candidate in (s, s[:10]):
        try:
            return dt.date.fromisoformat(candidate)
        except ValueError:
            continue
    return None


def _parse_float(text: str) -> float | None:
    s = (text.strip().replace("\u00a0", "").replace("\u202f", "").replace("\u2009", "")
         .replace(" ", "").replace(",", "."))
    try:
        value = float(s)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_activities(df: pd.DataFrame, rows: Sequence[str], register: Register,
                     src: str) -> tuple[list[Activity], list[Problem]]:
    """Validate a table of activity rows (text cells) against *register*.

    Parameters
    ----------
    df : DataFrame
        Text cells; headers in Swedish or English (see the module docstring).
    rows : sequence of str
        Row label of each row for messages (spreadsheet row numbers).
    register : Register
        Promise ids and the period the dates must fall in.
    src : str
        Source label for messages (file name).

    Returns
    -------
    (list of Activity, list of Problem)
        The valid entries and every problem, by row and column.
    """
    problems: list[Problem] = []
    mapping: dict[str, str] = {}
    for col in df.columns:
        target = _SYNONYMS.get(_norm(col))
        if target is None:
            problems.append(Problem(src, "1", str(col), "unknown column",
                                    f"remove it or rename it to one of: "
                                    f"{', '.join(ACTIVITY_COLUMNS)}"))
        elif target in mapping.values():
            problems.append(Problem(src, "1", str(col), f"a second column for {target!r}",
                                    "keep one of them"))
        else:
            mapping[str(col)] = target
    missing = [c for c in REQUIRED_COLUMNS if c not in mapping.values()]
    for c in missing:
        problems.append(Problem(src, "1", c, "required column is missing",
                                f"add the column; the columns are: {', '.join(ACTIVITY_COLUMNS)}"))
    if missing:
        return [], problems
    table = df.rename(columns=mapping)
    by_id = {p.id.casefold(): p for p in register.promises}
    out: list[Activity] = []
    for pos in range(len(table)):
        row = str(rows[pos])
        cell = {c: str(table[c].iloc[pos]).strip() if c in table.columns else ""
                for c in ACTIVITY_COLUMNS}
        bad_before = len(problems)

        def bad(column: str, message: str, fix: str, _row: str = row) -> None:
            problems.append(Problem(src, _row, column, message, fix))

        date = _parse_date(cell["datum"])
        if not cell["datum"]:
            bad("datum", "date is missing", "give the date as YYYY-MM-DD")
        elif date is None:
            bad("datum", f"{cell['datum']!r} is not a date", "give the date as YYYY-MM-DD")
        elif not register.covers(date.year):
            bad("datum", f"{date.isoformat()} is outside the register's period "
                f"{register.period_start}–{register.period_end}",
                "check the year, or log it against the register of that period")
        promise = by_id.get(cell["löfte"].casefold())
        if not cell["löfte"]:
            bad("löfte", "promise id is missing", f"use one of: {', '.join(register.ids)}")
        elif promise is None:
            close = difflib.get_close_matches(cell["löfte"], list(register.ids), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            bad("löfte", f"unknown promise {cell['löfte']!r}",
                f"{hint}use one of: {', '.join(register.ids)}")
        elif promise.measure not in LOGGED_MEASURES:
            bad("löfte", f"promise {promise.id!r} is measured from data "
                f"({promise.measure}), not from the activity log",
                "log only promises counted as activities: " + ", ".join(
                    p.id for p in register.promises if p.logged))
        count = 1
        if cell["antal"]:
            value = _parse_float(cell["antal"])
            if value is None or value != int(value) or value < 1:
                bad("antal", f"{cell['antal']!r} is not a whole number of 1 or more",
                    "give how many, e.g. 1 or 3")
            else:
                count = int(value)
        lat = _parse_float(cell["lat"]) if cell["lat"] else None
        lon = _parse_float(cell["lon"]) if cell["lon"] else None
        if cell["lat"] and (lat is None or not -90 <= lat <= 90):
            bad("lat", f"{cell['lat']!r} is not a latitude", "give degrees WGS 84, e.g. 58,937")
        if cell["lon"] and (lon is None or not -180 <= lon <= 180):
            bad("lon", f"{cell['lon']!r} is not a longitude", "give degrees WGS 84, e.g. 11,172")
        if bool(cell["lat"]) != bool(cell["lon"]):
            bad("lat" if not cell["lat"] else "lon", "only one of lat and lon is given",
                "give both, or leave both empty")
        if len(problems) > bad_before or date is None or promise is None:
            continue
        out.append(Activity(date=date, promise_id=promise.id, count=count,
                            place=cell["plats"], lat=lat, lon=lon, note=cell["anteckning"]))
    return out, problems


def read_activities_csv(path: str | Path, register: Register
                        ) -> tuple[list[Activity], list[Problem]]:
    """Read and validate an activity CSV (any of ``;``, ``,``, tab; UTF-8 or cp1252).

    Returns
    -------
    (list of Activity, list of Problem)
        Valid entries, and every problem by spreadsheet row (header = row 1) and column.

    Raises
    ------
    ValidationError
        The file is missing, empty or not a CSV file.
    """
    path = Path(path)
    src = source_label(path)
    if not path.exists():
        raise ValidationError([Problem(src, "", "", "file not found",
                                       "check the path of the file to import")])
    df, rows = read_delimited(path, src, what="the activity list", other_types=".csv",
                              delimiter_fix="separate the columns with semicolons")
    return parse_activities(df, rows, register, src)


def _fmt_float(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}".rstrip("0").rstrip(".").replace(".", ",")


def activities_to_csv(activities: Iterable[Activity]) -> str:
    """The log's CSV text (``;``, decimal comma, CRLF; no BOM) for *activities*."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow(ACTIVITY_COLUMNS)
    for a in activities:
        w.writerow([a.date.isoformat(), a.promise_id, a.count, a.place, _fmt_float(a.lat),
                    _fmt_float(a.lon), a.note])
    return buf.getvalue()


def activity_log_path(profile: Profile) -> Path:
    """Where the activity log file was kept before schema 3 (the log now lives in the
    findings store): ``aktiviteter.csv`` in the folder of a GeoPackage store, or in the
    profile folder when the store is a PostgreSQL database. :func:`open_activity_log`
    moves a file found there into the store once."""
    from walks.store import is_postgres_target, store_target

    target = store_target(profile)
    if is_postgres_target(target):
        return profile.folder / LOG_NAME
    return Path(target).parent / LOG_NAME


@contextlib.contextmanager
def folder_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the folder of *path* (created if needed; no lock file is
    left behind). Shared by the activity and milestone log files, which live side by side."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


#: Changes a log: gets its current bytes (None when there is no log yet) and returns the
#: new CSV text, or None to leave the log as it is.
Change = Callable[[bytes | None], str | None]


class LogFile:
    """A CSV log: a document in the profile's findings store, or a file.

    In the store (:meth:`in_store`; what :func:`open_activity_log` gives) every app
    instance and command line sees the same log, also on a shared PostGIS store, and a
    change is one transaction that waits for concurrent changes of the same log. As a file
    (*path*), changes take :func:`folder_lock` and replace the file atomically.

    Parameters
    ----------
    path : path, optional
        The CSV file; created on the first write.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self._profile: Profile | None = None
        self._name = self.path.name if self.path is not None else ""

    @classmethod
    def in_store(cls, profile: Profile, name: str) -> Self:
        """The log *name* (e.g. ``aktiviteter.csv``) kept in *profile*'s findings store."""
        log = cls()
        log._profile = profile
        log._name = name
        return log

    @property
    def where(self) -> str:
        """Where the log is, for messages (a file path, or the store and the log's name)."""
        if self._profile is None:
            return str(self.path)
        from walks.store import store_target

        from_store = store_target(self._profile)
        if "://" in from_store or "=" in from_store:
            from walks.store import open_store

            with open_store(self._profile) as store:
                from_store = store.label
        return f"{from_store} ({self._name})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.where!r})"

    @property
    def source(self) -> str:
        """The log's name in problems (the file's name, or the document's)."""
        return source_label(self.path) if self.path is not None else self._name

    def _data(self) -> bytes | None:
        """The log's bytes, or None when there is no log yet."""
        if self._profile is not None:
            from walks.store import open_store

            with open_store(self._profile) as store:
                text = store.document(self._name)
            return None if text is None else text.encode("utf-8")
        assert self.path is not None
        return self.path.read_bytes() if self.path.exists() else None

    def exists(self) -> bool:
        """True when the log has been written."""
        return self._data() is not None

    def _update(self, change: Change) -> bool:
        """Apply *change* under the log's lock; returns whether the log was written."""
        if self._profile is not None:
            from walks.store import open_store

            with open_store(self._profile) as store:
                return store.update_document(
                    self._name, lambda text: change(None if text is None
                                                    else text.encode("utf-8")))
        assert self.path is not None
        path = self.path
        with folder_lock(path):
            new = change(path.read_bytes() if path.exists() else None)
            if new is None:
                return False
            write_atomic(path, ("\ufeff" + new).encode("utf-8"), mode=0o644)
            return True

    def _move_file_in(self, legacy: Path, parse: Callable[[bytes | None], Sequence[Any]],
                      to_csv: Callable[[Sequence[Any]], str]) -> None:
        """Move a log file of an older version (*legacy*) into the store, once: its rows
        become the document unless the store already has one; the file is renamed
        ``<name>.flyttad`` so that it is never read again."""
        if self._profile is None or not legacy.exists():
            return
        rows = parse(legacy.read_bytes())
        if self._update(lambda data: None if data is not None else to_csv(rows)):
            logger.info("moved %s into the findings store (%d rows)", legacy, len(rows))
        with contextlib.suppress(FileNotFoundError):
            os.replace(legacy, legacy.with_name(legacy.name + ".flyttad"))


class ActivityLog(LogFile):
    """The activity log (see the module docstring)."""

    def _parse(self, data: bytes | None) -> list[Activity]:
        if data is None or not data.strip():
            return []
        src = self.source
        df, rows = read_delimited(None, src, what="the activity log", data=data)
        out: list[Activity] = []
        problems: list[Problem] = []
        for pos in range(len(df)):
            rec = {c: str(df[c].iloc[pos]).strip() if c in df.columns else ""
                   for c in ACTIVITY_COLUMNS}
            date = _parse_date(rec["datum"])
            count = _parse_float(rec["antal"] or "1")
            if date is None or count is None or not rec["löfte"]:
                problems.append(Problem(src, rows[pos], "", "unreadable log entry",
                                        "fix the row (date, promise id, count) in the log"))
                continue
            out.append(Activity(date, rec["löfte"], int(count), rec["plats"],
                                _parse_float(rec["lat"]) if rec["lat"] else None,
                                _parse_float(rec["lon"]) if rec["lon"] else None,
                                rec["anteckning"]))
        if problems:
            raise ValidationError(problems)
        return out

    def _read_all(self) -> list[Activity]:
        return self._parse(self._data())

    def activities(self) -> list[Activity]:
        """Every entry, oldest first (log order within a day)."""
        return sorted(self._read_all(), key=lambda a: a.date)

    def frame(self) -> pd.DataFrame:
        """Every entry as a frame: date, promise_id, count, place, lat, lon, note."""
        acts = self.activities()
        return pd.DataFrame({
            "date": [a.date for a in acts], "promise_id": [a.promise_id for a in acts],
            "count": pd.array([a.count for a in acts], dtype="int64"),
            "place": [a.place for a in acts], "lat": [a.lat for a in acts],
            "lon": [a.lon for a in acts], "note": [a.note for a in acts]},
            columns=["date", "promise_id", "count", "place", "lat", "lon", "note"])

    def add(self, activity: Activity, register: Register) -> Activity:
        """Validate *activity* against *register* and append it.

        Raises
        ------
        ValidationError
            Unknown promise, a promise not counted from the log, a date outside the
            register's period, a count below 1 or a half-given point; naming the field.
        """
        df = pd.DataFrame([{
            "datum": activity.date.isoformat(), "löfte": activity.promise_id,
            "antal": str(activity.count), "plats": activity.place,
            "lat": _fmt_float(activity.lat), "lon": _fmt_float(activity.lon),
            "anteckning": activity.note}], dtype=str)
        valid, problems = parse_activities(df, ["1"], register, "aktivitet")
        if problems:
            raise ValidationError([Problem("aktivitet", "", p.column, p.message, p.fix,
                                           column_label="field") for p in problems])
        self._update(lambda data: activities_to_csv([*self._parse(data), valid[0]]))
        logger.info("logged %s × %s on %s", valid[0].count, valid[0].promise_id,
                    valid[0].date)
        return valid[0]

    def import_csv(self, path: str | Path, register: Register,
                   dry_run: bool = False) -> ActivityImport:
        """Import an activity CSV, all or nothing; rows already in the log are skipped.

        Returns
        -------
        ActivityImport
            Counts, and every problem by row.

        Raises
        ------
        ActivityImportError
            (a :class:`ValidationError`) when a row has a problem and *dry_run* is False;
            nothing is written. Its ``report`` lists every problem.
        """
        src = source_label(path)
        valid, problems = read_activities_csv(path, register)
        outcome: list[ActivityImport] = []

        def change(data: bytes | None) -> str | None:
            outcome.clear()  # a retried transaction starts again
            old = self._parse(data)
            existing = Counter(a.key() for a in old)
            new: list[Activity] = []
            duplicates = 0
            for a in valid:
                if existing[a.key()] > 0:
                    existing[a.key()] -= 1
                    duplicates += 1
                else:
                    new.append(a)
            outcome.append(ActivityImport(src, dry_run, len(new), duplicates,
                                          tuple(problems)))
            if dry_run or problems or not new:
                return None
            return activities_to_csv([*old, *new])

        if dry_run or problems:
            change(self._data())
        else:
            self._update(change)
        report = outcome[-1]
        if problems and not dry_run:
            raise ActivityImportError(report)
        logger.info("%s", report.summary())
        return report


def open_activity_log(profile: Profile, register: Register | None = None) -> ActivityLog:
    """The profile's activity log, kept in its findings store; on the demo, seeded with
    the demo activities once.

    A log file of an older version (:func:`activity_log_path`) is moved into the store on
    first use. The demo log (``register.demo_activities``) is copied when the profile is
    the demo (``profile.demo``) and the store has no log yet; real logs start empty.
    """
    log = ActivityLog.in_store(profile, LOG_NAME)
    log._move_file_in(activity_log_path(profile), log._parse, activities_to_csv)
    demo = register.demo_activities if register is not None else None
    if profile.demo and demo is not None and not log.exists():  # a read: no write lock
        demo_rows = ActivityLog(demo)._read_all()
        if log._update(lambda data: None if data is not None
                       else activities_to_csv(demo_rows)):
            logger.info("seeded the demo activity log from %s", demo)
    return log
