"""Deadlines of measures: each finding's due date from the profile's rules.

Pure functions on the findings frame (:meth:`walks.store.FindingStore.findings`); nothing
is written to the store. A finding's deadline is

1. the deadline staff set on the finding (``deadline``), when there is one;
2. else ``created`` (local date in the profile's time zone) plus the days of the most
   specific rule of the profile's ``deadlines`` table (:func:`deadline_days`):
   ``"category | party"`` > category > responsible party > ``"default"``;
3. else none.

A finding is *overdue* when it is open (:meth:`walks.model.State.is_open`) and the local
date is after its due date. It was *fixed in time* ("åtgärdat i tid") when it is fixed
(state type ``fixed``) and its local fix date is on or before the due date. Findings
closed without action count neither way.

Example
-------
>>> deadline_days("belysning", "Trafikverket", {"belysning": 10,
...               "belysning | Trafikverket": 30, "default": 90})
(30, 'belysning | Trafikverket')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from walks.duplicates import open_findings_mask

#: Key of the fallback rule.
DEFAULT_RULE = "default"
#: Columns of :func:`finding_deadlines`.
DEADLINE_COLUMNS: tuple[str, ...] = ("due_date", "deadline_rule", "days_allowed", "overdue",
                                     "days_overdue", "fixed_in_time")


def _norm(text: object) -> str:
    return " ".join(str(text).split()).casefold()


def deadline_days(category: str, responsible: str | None,
                  rules: Mapping[str, int]) -> tuple[int | None, str]:
    """Days allowed for a measure and the rule that gave them.

    Parameters
    ----------
    category : str
        The finding's category label, e.g. ``"belysning"``.
    responsible : str or None
        The responsible party, e.g. ``"Trafikverket"``.
    rules : mapping
        The profile's ``deadlines``: ``"category | party"``, category, party or
        ``"default"`` -> days (matched case- and space-insensitively).

    Returns
    -------
    (int or None, str)
        Days and the matching key (as written in the profile), or ``(None, "")``.
    """
    by_key = {}
    for key, days in rules.items():
        parts = [p.strip() for p in key.split("|")]
        by_key[" | ".join(_norm(p) for p in parts)] = (int(days), key)
    cat = _norm(category)
    party = _norm(responsible) if responsible else ""
    for candidate in ((f"{cat} | {party}" if party else None), cat, party or None,
                      DEFAULT_RULE):
        if candidate and candidate in by_key:
            days, key = by_key[candidate]
            return days, key
    return None, ""


def _local_dates(values: pd.Series, tz: str) -> pd.Series:
    """Local calendar dates of UTC timestamps (NaT -> None)."""
    ts = pd.to_datetime(values, utc=True, errors="coerce").dt.tz_convert(tz)
    return pd.Series([None if pd.isna(t) else t.date() for t in ts], index=values.index,
                     dtype=object)


def finding_deadlines(findings: pd.DataFrame, rules: Mapping[str, int], *, as_of: dt.date,
                      tz: str = "Europe/Stockholm") -> pd.DataFrame:
    """Due date, overdue and fixed-in-time of every finding.

    Parameters
    ----------
    findings : DataFrame
        From :meth:`walks.store.FindingStore.findings`: ``created`` and ``fixed_at``
        (UTC), ``category``, ``responsible``, ``deadline`` (date or None),
        ``state_label`` and ``state_type``.
    rules : mapping
        The profile's ``deadlines`` (see :func:`deadline_days`).
    as_of : datetime.date
        Today's local date.
    tz : str
        The profile's time zone (local dates of ``created`` and ``fixed_at``).

    Returns
    -------
    DataFrame
        Aligned to ``findings.index``, columns :data:`DEADLINE_COLUMNS`: ``due_date``
        (date or None), ``deadline_rule`` (``"beslutad"`` for a deadline set on the
        finding, else the profile key, or ``""``), ``days_allowed`` (Int64),
        ``overdue`` (bool), ``days_overdue`` (Int64, days past the due date for overdue
        findings, else <NA>) and ``fixed_in_time`` (boolean; <NA> unless fixed with a due
        date). Never mutates *findings*.
    """
    if findings.empty:
        return pd.DataFrame({
            "due_date": pd.Series(dtype=object), "deadline_rule": pd.Series(dtype=str),
            "days_allowed": pd.Series(dtype="Int64"), "overdue": pd.Series(dtype=bool),
            "days_overdue": pd.Series(dtype="Int64"),
            "fixed_in_time": pd.Series(dtype="boolean")}, index=findings.index)
    created = _local_dates(findings["created"], tz)
    responsible = (findings["responsible"] if "responsible" in findings.columns
                   else pd.Series(None, index=findings.index))
    set_on = (findings["deadline"] if "deadline" in findings.columns
              else pd.Series(None, index=findings.index))
    # one rule lookup per distinct (category, party): a handful, not one per finding
    pairs = pd.DataFrame({"c": findings["category"].astype(str),
                          "p": responsible.where(responsible.notna(), "").astype(str)})
    lookup = {(c, p): deadline_days(c, p or None, rules)
              for c, p in pairs.drop_duplicates().itertuples(index=False)}
    rule_days = [lookup[(c, p)] for c, p in pairs.itertuples(index=False)]
    due, rule, allowed = [], [], []
    for made, fixed_by, (days, key) in zip(created, set_on, rule_days, strict=True):
        if fixed_by is not None and not pd.isna(fixed_by):
            due.append(fixed_by)
            rule.append("beslutad")
            allowed.append((fixed_by - made).days if made is not None else None)
        elif days is not None and made is not None:
            due.append(made + dt.timedelta(days=days))
            rule.append(key)
            allowed.append(days)
        else:
            due.append(None)
            rule.append("")
            allowed.append(None)
    due_s = pd.Series(due, index=findings.index, dtype=object)
    has_due = due_s.notna().to_numpy()
    is_open = open_findings_mask(findings).to_numpy()
    late_days = np.array([(as_of - d).days if d is not None else 0 for d in due], dtype=int)
    overdue = has_due & is_open & (late_days > 0)
    fixed = findings["state_type"].astype(str).eq("fixed").to_numpy()
    fixed_on = (_local_dates(findings["fixed_at"], tz) if "fixed_at" in findings.columns
                else pd.Series(None, index=findings.index))
    in_time = pd.array([pd.NA] * len(findings), dtype="boolean")
    for i, (f, d, on) in enumerate(zip(fixed, due, fixed_on, strict=True)):
        if f and d is not None and on is not None:
            in_time[i] = on <= d
    return pd.DataFrame({
        "due_date": due_s,
        "deadline_rule": pd.Series(rule, index=findings.index, dtype=str),
        "days_allowed": pd.array(allowed, dtype="Int64"),
        "overdue": pd.Series(overdue, index=findings.index, dtype=bool),
        "days_overdue": pd.array([int(n) if o else pd.NA for n, o in
                                  zip(late_days, overdue, strict=True)], dtype="Int64"),
        "fixed_in_time": in_time,
    }, index=findings.index)


@dataclass(frozen=True)
class DeadlineSummary:
    """Deadlines kept, for the yearly report (counts only).

    Attributes
    ----------
    fixed : int
        Findings fixed (with a due date) that count.
    fixed_in_time : int
        Of which fixed on or before the due date ("åtgärdat i tid").
    overdue_open : int
        Open findings past their due date on the report date.
    """

    fixed: int
    fixed_in_time: int
    overdue_open: int

    @property
    def share_in_time(self) -> float | None:
        """``fixed_in_time / fixed`` (None without fixed findings)."""
        return self.fixed_in_time / self.fixed if self.fixed else None


def summarize_deadlines(deadlines: pd.DataFrame, fixed_in_year: pd.Series | None = None
                        ) -> DeadlineSummary:
    """Counts of :func:`finding_deadlines` output; *fixed_in_year* (bool, aligned) limits
    the fixed ones to those fixed in the report year."""
    kept = deadlines["fixed_in_time"]
    sel = kept.notna()
    if fixed_in_year is not None:
        sel &= fixed_in_year.reindex(deadlines.index).fillna(False).astype(bool)
    return DeadlineSummary(fixed=int(sel.sum()), fixed_in_time=int(kept[sel].sum()),
                           overdue_open=int(deadlines["overdue"].sum()))


__all__ = ["DEADLINE_COLUMNS", "DEFAULT_RULE", "DeadlineSummary", "deadline_days",
           "finding_deadlines", "summarize_deadlines"]
