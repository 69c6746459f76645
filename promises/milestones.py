"""The milestone log: dated steps of the promises that have no number.

A promise such as "Polisen och Strömstads kommun ska samverka mot narkotika i krogmiljö"
is followed up by what was recorded for it, never shown as met by default: a milestone
``påbörjat`` (started) or ``genomfört`` (done), each with the local date and a short
**public** note (:data:`NOTE_MAX_CHARS` characters at most, printed in the yearly
report). Staff record milestones with ``trygga promises milestone``.

Privacy
-------
The note is public. Write what was done, not who: no names, no personal data. There is
no internal field in this log.

The log
-------
``milstolpar.csv``, a document in the findings store (like the activity log, schema 3),
in the Swedish Excel dialect: ``;``, CRLF; columns :data:`MILESTONE_COLUMNS`. A change is
one store transaction that waits for concurrent changes of the same log.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from layers._common import Problem, ValidationError, source_label
from layers.lighting import read_delimited
from promises.activities import LogFile, activity_log_path
from promises.register import Register

if TYPE_CHECKING:
    from layers.profile import Profile

logger = logging.getLogger(__name__)

Step = Literal["påbörjat", "genomfört"]
#: Milestone steps, in order.
STEPS: tuple[str, ...] = ("påbörjat", "genomfört")
#: Columns of the log file, in order.
MILESTONE_COLUMNS: tuple[str, ...] = ("datum", "löfte", "steg", "notering")
#: Longest public note, in characters.
NOTE_MAX_CHARS = 200
LOG_NAME = "milstolpar.csv"


@dataclass(frozen=True)
class Milestone:
    """One recorded step of a promise without a number.

    Attributes
    ----------
    date : datetime.date
        Local date of the step.
    promise_id : str
        The promise (:attr:`promises.register.Promise.id`; measure ``milestones``).
    step : {'påbörjat', 'genomfört'}
    note : str
        Short public note (at most :data:`NOTE_MAX_CHARS` characters; no names).
    """

    date: dt.date
    promise_id: str
    step: Step
    note: str = ""


def validate_milestone(m: Milestone, register: Register, src: str = "milstolpe",
                       row: str = "") -> list[Problem]:
    """Every problem of *m* against *register* (empty when it is valid)."""
    problems: list[Problem] = []

    def bad(field: str, message: str, fix: str) -> None:
        problems.append(Problem(src, row, field, message, fix, column_label="field"))

    ids = [p.id for p in register.promises if p.has_milestones]
    by_id = {p.id: p for p in register.promises}
    if m.promise_id not in by_id:
        close = difflib.get_close_matches(m.promise_id, ids, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        bad("löfte", f"unknown promise {m.promise_id!r}", f"{hint}use one of: {', '.join(ids)}")
    elif not by_id[m.promise_id].has_milestones:
        bad("löfte", f"promise {m.promise_id!r} is measured by {by_id[m.promise_id].measure}, "
            "not by milestones", f"record milestones only for: {', '.join(ids)}")
    if m.step not in STEPS:
        bad("steg", f"unknown step {m.step!r}", f"use one of: {', '.join(STEPS)}")
    if not register.covers(m.date.year):
        bad("datum", f"{m.date.isoformat()} is outside the register's period "
            f"{register.period_start}–{register.period_end}", "check the year")
    if len(m.note) > NOTE_MAX_CHARS:
        bad("notering", f"the public note has {len(m.note)} characters",
            f"shorten it to {NOTE_MAX_CHARS} characters or fewer")
    if "\n" in m.note or "\r" in m.note:
        bad("notering", "the public note has a line break", "write it on one line")
    return problems


def milestones_to_csv(milestones: Sequence[Milestone]) -> str:
    """The log's CSV text (``;``, CRLF; no BOM) for *milestones*."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow(MILESTONE_COLUMNS)
    for m in milestones:
        w.writerow([m.date.isoformat(), m.promise_id, m.step, m.note])
    return buf.getvalue()


def milestone_log_path(profile: Profile) -> Path:
    """Where the milestone log file was kept before schema 3 (beside the activity log
    file, :func:`promises.activities.activity_log_path`); moved into the store on first use."""
    return activity_log_path(profile).with_name(LOG_NAME)


def _parse(data: bytes | None, src: str) -> list[Milestone]:
    """Every row of a milestone CSV; unreadable rows are one ValidationError."""
    if data is None or not data.strip():
        return []
    df, rows = read_delimited(None, src, what="the milestone log", data=data)
    missing = [c for c in MILESTONE_COLUMNS[:3] if c not in df.columns]
    if missing:
        raise ValidationError([Problem(src, "1", c, "column is missing",
                                       f"the header must be {';'.join(MILESTONE_COLUMNS)}")
                               for c in missing])
    out: list[Milestone] = []
    problems: list[Problem] = []
    for pos in range(len(df)):
        rec = {c: str(df[c].iloc[pos]).strip() if c in df.columns else ""
               for c in MILESTONE_COLUMNS}
        try:
            date = dt.date.fromisoformat(rec["datum"])
        except ValueError:
            problems.append(Problem(src, rows[pos], "datum", f"{rec['datum']!r} is not a "
                                    "date", "write it as YYYY-MM-DD"))
            continue
        if rec["steg"] not in STEPS:
            problems.append(Problem(src, rows[pos], "steg", f"unknown step {rec['steg']!r}",
                                    f"use one of: {', '.join(STEPS)}"))
            continue
        out.append(Milestone(date, rec["löfte"], rec["steg"], rec["notering"]))  # type: ignore[arg-type]
    if problems:
        raise ValidationError(problems)
    return out


def _read_file(path: Path) -> list[Milestone]:
    """Every row of a milestone CSV file (see :func:`_parse`)."""
    return _parse(path.read_bytes() if path.exists() else None, source_label(path))


class MilestoneLog(LogFile):
    """The milestone log (see the module docstring); kept like the activity log."""

    def _parse(self, data: bytes | None) -> list[Milestone]:
        return _parse(data, self.source)

    def milestones(self) -> list[Milestone]:
        """Every entry, oldest first (log order within a day)."""
        return sorted(self._parse(self._data()), key=lambda m: m.date)

    def frame(self) -> pd.DataFrame:
        """Every entry as a frame: date, promise_id, step, note."""
        ms = self.milestones()
        return milestone_frame(ms)

    def add(self, milestone: Milestone, register: Register) -> Milestone:
        """Validate *milestone* against *register* and append it.

        Raises
        ------
        ValidationError
            Unknown promise, a promise not followed up by milestones, an unknown step, a
            date outside the register's period, or a note that is too long.
        """
        milestone = Milestone(milestone.date, milestone.promise_id, milestone.step,
                              milestone.note.strip())
        problems = validate_milestone(milestone, register)
        if problems:
            raise ValidationError(problems)
        self._update(lambda data: milestones_to_csv([*self._parse(data), milestone]))
        logger.info("milestone %s %s on %s", milestone.promise_id, milestone.step,
                    milestone.date)
        return milestone


def milestone_frame(milestones: Sequence[Milestone]) -> pd.DataFrame:
    """*milestones* as a frame with columns date, promise_id, step, note."""
    return pd.DataFrame({"date": [m.date for m in milestones],
                         "promise_id": [m.promise_id for m in milestones],
                         "step": [m.step for m in milestones],
                         "note": [m.note for m in milestones]},
                        columns=["date", "promise_id", "step", "note"])


def open_milestone_log(profile: Profile, register: Register | None = None) -> MilestoneLog:
    """The profile's milestone log, kept in its findings store; on the demo, seeded with
    the demo milestones once.

    A log file of an older version (:func:`milestone_log_path`) is moved into the store on
    first use. Only the demo rows of promises in *register* are copied (a partner
    municipality's register view holds only the joint promises).
    """
    log = MilestoneLog.in_store(profile, LOG_NAME)
    log._move_file_in(milestone_log_path(profile), log._parse, milestones_to_csv)
    demo = register.demo_milestones if register is not None else None
    if profile.demo and demo is not None and register is not None and not log.exists():
        ids = set(register.ids)
        rows = [m for m in _read_file(demo) if m.promise_id in ids]
        if log._update(lambda data: None if data is not None else milestones_to_csv(rows)):
            logger.info("seeded the demo milestone log from %s", demo)
    return log


__all__ = ["LOG_NAME", "MILESTONE_COLUMNS", "NOTE_MAX_CHARS", "STEPS", "Milestone",
           "MilestoneLog", "milestone_frame", "milestone_log_path", "milestones_to_csv",
           "open_milestone_log", "validate_milestone"]
