"""The walk cycle of the Brå/Boverket method: förmöte, walk, återkopplingsmöte, protocol.

A safety walk (trygghetsvandring) is more than the evening outside:

1. **förmöte**: the organisers invite groups (residents, young people, the police …), choose
   the route and the focus (:attr:`walks.model.Walk.invited`, ``focus``, ``premeeting_at``);
2. **the walk** itself (state ``genomförd``);
3. **återkopplingsmöte**: for every finding the decided measure, who and by when, or why
   nothing will be done (``feedback_at``; per finding the ``measure``, ``responsible`` and
   ``deadline``, or a closed state with its reason);
4. **the protocol** is published (state ``protokoll publicerat``) within the profile's
   ``protocol_weeks`` after the walk; later is overdue.

A **follow-up walk** walks the same route again (:func:`follow_up_walk`, ``follows``) and
:func:`compare_walks` says what of the earlier walk's findings was fixed and what remains.
Everything here is computed from the store's frames; nothing is written.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from walks.model import Walk, finding_state, walk_state

#: Columns of :func:`walk_cycles`, in order.
CYCLE_COLUMNS: tuple[str, ...] = (
    "title", "start_date", "premeeting", "held", "feedback_meeting", "protocol_published",
    "protocol_due", "protocol_overdue", "findings", "decided", "undecided", "follows",
)


def _local_date(value: Any, tz: str) -> date | None:
    if value is None or value is pd.NaT or (not isinstance(value, datetime)
                                            and pd.isna(value)):
        return None
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert(ZoneInfo(tz)).date()


def decided_mask(findings: pd.DataFrame) -> pd.Series:
    """True for findings the återkopplingsmöte has decided on.

    A finding is decided when it is fixed or closed (closing needs a reason), or when it has
    a measure, a responsible party and a deadline (what, who, when).
    """
    if findings.empty:
        return pd.Series([], index=findings.index, dtype=bool, name="decided")
    types = [finding_state(s).type for s in findings["state_label"]]
    done = pd.Series([t in ("fixed", "closed") for t in types], index=findings.index)
    planned = (findings["measure"].fillna("").astype(str).str.strip().ne("")
               & findings["responsible"].notna()
               & pd.Series([d is not None and not pd.isna(d) for d in findings["deadline"]],
                           index=findings.index))
    return (done | planned).rename("decided")


def walk_cycles(walks: pd.DataFrame, findings: pd.DataFrame, today: date, *,
                protocol_weeks: int = 4, tz: str = "Europe/Stockholm") -> pd.DataFrame:
    """Where each walk is in the cycle, and whether its protocol is overdue.

    Parameters
    ----------
    walks : DataFrame
        :meth:`walks.store.FindingStore.walks` (index ``walk_id``).
    findings : DataFrame
        :meth:`walks.store.FindingStore.findings` (staff frame; ``walk_id``, ``state_label``,
        ``measure``, ``responsible``, ``deadline``).
    today : date
        The local date.
    protocol_weeks : int
        The profile's ``protocol_weeks``.
    tz : str
        The profile's time zone (local dates).

    Returns
    -------
    DataFrame
        Index ``walk_id``, columns :data:`CYCLE_COLUMNS`: local dates of the walk, förmöte,
        återkopplingsmöte and publication (None when not yet), the protocol's due date
        (walk date + *protocol_weeks*), ``protocol_overdue`` (held, not published, past
        due), counts of the walk's findings and of those decided / undecided, and the walk
        it follows up. Sorted by walk date.
    """
    rows = []
    decided = decided_mask(findings) if len(findings) else pd.Series(dtype=bool)
    by_walk = findings["walk_id"].astype(object) if len(findings) else pd.Series(dtype=object)
    for wid, w in walks.iterrows():
        start = _local_date(w["start"], tz)
        state = walk_state(w["state_label"])
        published = _local_date(w.get("protocol_published_at"), tz)
        if published is None and state.is_published():
            published = _local_date(w.get("updated"), tz)
        due = start + timedelta(weeks=protocol_weeks) if start else None
        mine = (by_walk == wid).to_numpy(dtype=bool) if len(by_walk) else np.zeros(0, bool)
        n = int(mine.sum())
        n_dec = int(decided[mine].sum()) if n else 0
        rows.append({
            "walk_id": wid, "title": w["title"], "start_date": start,
            "premeeting": _local_date(w.get("premeeting_at"), tz),
            "held": not state.is_planned(),
            "feedback_meeting": _local_date(w.get("feedback_at"), tz),
            "protocol_published": published, "protocol_due": due,
            "protocol_overdue": bool(not state.is_planned() and published is None
                                     and due is not None and today > due),
            "findings": n, "decided": n_dec, "undecided": n - n_dec,
            "follows": w.get("follows") or None,
        })
    out = pd.DataFrame(rows, columns=["walk_id", *CYCLE_COLUMNS]).set_index("walk_id")
    return out.sort_values("start_date", kind="stable")


def follow_up_walk(previous: Walk, new_id: str, start: datetime, *,
                   title: str | None = None) -> Walk:
    """A new planned walk on the same route and stops as *previous*, following it up.

    The groups invited and the focus are proposed from the earlier walk (change them at the
    new förmöte); participants, meeting dates and the protocol start empty.
    """
    return Walk(id=new_id, title=title or f"Uppföljning: {previous.title}", start=start,
                light=previous.light, area=previous.area, school=previous.school,
                route=previous.route, stops=previous.stops, organiser=previous.organiser,
                invited=previous.invited, focus=previous.focus, follows=previous.id)


@dataclass(frozen=True)
class WalkComparison:
    """What happened to an earlier walk's findings by the time of its follow-up.

    Attributes
    ----------
    walk_id, previous_id : str
        The follow-up walk and the walk it follows.
    fixed, closed, remaining : int
        The earlier walk's findings now fixed, closed without action, still open.
    new : int
        Findings made on the follow-up walk.
    remaining_by_category : dict
        Category -> open findings of the earlier walk.
    """

    walk_id: str
    previous_id: str
    fixed: int
    closed: int
    remaining: int
    new: int
    remaining_by_category: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def total(self) -> int:
        """All findings of the earlier walk."""
        return self.fixed + self.closed + self.remaining


def compare_walks(walks: pd.DataFrame, findings: pd.DataFrame, walk_id: str
                  ) -> WalkComparison:
    """Compare a follow-up walk with the walk it follows (``follows``).

    Parameters
    ----------
    walks, findings : DataFrame
        The store's frames (staff findings; pass the public view's ids to count only
        public ones).
    walk_id : str
        The follow-up walk.

    Raises
    ------
    KeyError
        Unknown walk.
    ValueError
        The walk follows no earlier walk.
    """
    w = walks.loc[walk_id]
    prev = w.get("follows")
    if not prev or (isinstance(prev, float) and pd.isna(prev)):
        raise ValueError(f"walk {walk_id!r} follows no earlier walk. Fix: plan it as a "
                         "follow-up (trygga walks follow-up EARLIER_ID) or set 'follows'")
    ids = findings["walk_id"].astype(object) if len(findings) else pd.Series(dtype=object)
    old = findings.loc[ids.eq(prev).to_numpy()] if len(findings) else findings
    types = pd.Series([finding_state(s).type for s in old["state_label"]], index=old.index,
                      dtype=object)
    remaining = old.loc[types.eq("open").to_numpy()]
    by_cat = remaining["category"].astype(str).value_counts().sort_index()
    return WalkComparison(
        walk_id=str(walk_id), previous_id=str(prev), fixed=int(types.eq("fixed").sum()),
        closed=int(types.eq("closed").sum()), remaining=len(remaining),
        new=int(ids.eq(walk_id).sum()) if len(findings) else 0,
        remaining_by_category={str(k): int(v) for k, v in by_cat.items()})
