"""Åtgärder (staff): triage findings — state, responsible party, measure and deadline.

Edits go through the store's versioned writes: the form is filled from a *snapshot* of
the finding taken when it was selected, and saved against that snapshot's version, so a
change someone else made in between gives a :class:`walks.store.ConflictError` (shown as
an error asking the user to reload) instead of being overwritten silently.

States are data with a type (STYLE rule 7): "open" and "overdue" are decided by
:meth:`walks.model.State.is_open`, never by comparing labels.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import streamlit as st

from layers import ValidationError
from layers.profile import Profile
from ui.common import show_error, staff_store_page
from ui.page_walks import findings_table, md, shown_labels
from ui.state import DATE_FORMAT, lang, t
from ui.translate import category_text, label_text
from walks.categories import category_labels
from walks.deadlines import finding_deadlines
from walks.duplicates import duplicate_candidates, open_findings_mask
from walks.model import FINDING_STATES, RESPONSIBLE_PARTIES, Finding, finding_state
from walks.responsibility import suggest_responsible
from walks.store import ConflictError, FindingStore

#: Widget keys of the edit form; cleared whenever a new snapshot is loaded.
FORM_KEYS = ("act_state", "act_reason", "act_responsible_sel", "act_measure", "act_deadline",
             "act_note", "act_public_note")


def init_page_state() -> None:
    """Every session-state key of this page, initialised here only."""
    ss = st.session_state
    ss.setdefault("act_finding", "")
    ss.setdefault("act_loaded", None)
    ss.setdefault("act_table_seen", None)
    ss.setdefault("act_message", None)


def overdue_mask(findings: pd.DataFrame, today: date) -> pd.Series:
    """True for open findings whose deadline has passed (deadline before *today*).

    Parameters
    ----------
    findings : DataFrame
        From :meth:`walks.store.FindingStore.findings` (``deadline`` dates or None,
        ``state_label``).
    today : date
        The local date (the profile's time zone).

    Returns
    -------
    Series of bool
        Aligned to ``findings.index``, named ``overdue``.
    """
    if findings.empty:
        return pd.Series([], index=findings.index, dtype=bool, name="overdue")
    late = pd.Series([d is not None and not pd.isna(d) and d < today
                      for d in findings["deadline"]], index=findings.index, dtype=bool)
    return (late & open_findings_mask(findings)).rename("overdue")


def filter_findings(findings: pd.DataFrame, overdue: pd.Series, states: list[str],
                    categories: list[str], responsible: list[str],
                    overdue_only: bool) -> pd.DataFrame:
    """Findings matching the filters (empty lists mean "all"; ``""`` = no responsible)."""
    keep = pd.Series(True, index=findings.index)
    if states:
        keep &= findings["state_label"].astype(str).isin(states)
    if categories:
        keep &= findings["category"].astype(str).isin(categories)
    if responsible:
        keep &= findings["responsible"].fillna("").astype(str).isin(responsible)
    if overdue_only:
        keep &= overdue
    return findings[keep]


def _filters(findings: gpd.GeoDataFrame, overdue: pd.Series,
             labels: tuple[str, ...]) -> pd.DataFrame:
    c1, c2, c3, c4 = st.columns([3, 3, 3, 2])
    states = c1.multiselect(t("status"), [s.label for s in FINDING_STATES],
                            default=[s.label for s in FINDING_STATES if s.is_open()],
                            key="act_states", placeholder=t("all"),
                            format_func=lambda s: label_text(s, lang()))
    cats = c2.multiselect(t("category"), list(labels), key="act_categories",
                          placeholder=t("all"), format_func=lambda c: category_text(c, lang()))
    resp = c3.multiselect(t("act_responsible"), ["", *RESPONSIBLE_PARTIES],
                          key="act_responsible_filter", placeholder=t("all"),
                          format_func=lambda r: label_text(r, lang()) if r
                          else t("act_no_responsible"))
    only = c4.checkbox(t("act_overdue_only"), key="act_overdue_only")
    return filter_findings(findings, overdue, states, cats, resp, only)


def deadline_columns(findings: gpd.GeoDataFrame, profile: Profile, today: date,
                     roads: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Staff columns from the profile: due date (rule or decided), overdue by the rules,
    and the responsible party suggested by the nearest road (aligned to *findings*)."""
    dl = finding_deadlines(findings, profile.deadlines, as_of=today, tz=profile.timezone)
    out = pd.DataFrame({
        "due": [d.isoformat() if d is not None else "" for d in dl["due_date"]],
        "overdue": dl["overdue"].to_numpy()}, index=findings.index)
    if roads is not None and len(findings):
        sug = suggest_responsible(findings.to_crs(profile.crs), roads)
        out["suggested"] = [f"{p} ({r})" if p else "" for p, r in zip(
            sug["suggested_responsible"], sug["suggestion_reason"], strict=True)]
    else:
        out["suggested"] = ""
    return out


def _rule_overdue(findings: gpd.GeoDataFrame, extra: pd.DataFrame, tz: str) -> None:
    """Section: open findings past the profile's deadline for their category/party."""
    late = extra["overdue"].to_numpy()
    if not late.any():
        return
    with st.expander(t("act_rule_overdue").format(n=int(late.sum())), icon="⏰"):
        view = findings_table(findings[late], tz)
        view.insert(0, t("act_due"), extra.loc[late, "due"].to_numpy())
        view[t("act_suggested")] = extra.loc[late, "suggested"].to_numpy()
        st.dataframe(view, hide_index=True, width="stretch", key="act_rule_overdue_table")


def _table(shown: pd.DataFrame, overdue: pd.Series, tz: str,
           extra: pd.DataFrame | None = None) -> None:
    """The triage table; selecting a row selects the finding below."""
    if shown.empty:
        st.info(t("act_none"))
        return
    order = pd.DataFrame({"o": overdue.reindex(shown.index).fillna(False).astype(int),
                          "s": shown["severity"].astype(int),
                          "c": shown["created"]}, index=shown.index)
    order = order.sort_values(["o", "s", "c"], ascending=[False, False, True])
    view = findings_table(shown.loc[order.index], tz)
    view.insert(0, t("act_overdue"), ["⚠" if overdue.get(i, False) else ""
                                      for i in order.index])
    if extra is not None:
        view[t("act_due")] = extra["due"].reindex(order.index).fillna("").to_numpy()
        view[t("act_suggested")] = extra["suggested"].reindex(order.index).fillna("").to_numpy()
    event = st.dataframe(view, hide_index=True, width="stretch", height=300,
                         on_select="rerun", selection_mode="single-row", key="act_table")
    rows = event.selection.rows if event is not None else []
    if rows:
        picked = str(order.index[rows[0]])
        if picked != st.session_state.get("act_table_seen"):
            st.session_state["act_table_seen"] = picked
            st.session_state["act_finding"] = picked


def _triage_map(shown: gpd.GeoDataFrame, selected: str) -> None:
    """The findings being triaged on the map, coloured by state type, the selected one
    highlighted and zoomed to (read-only: the table and the form do the editing)."""
    from streamlit_folium import st_folium

    from ui import maps
    from ui.common import load_or_stop
    from ui.page_walks import STATE_COLOURS
    from ui.st_cache import add_app_basemap

    if shown.empty:
        return
    layers = load_or_stop()
    maps.configure_folium()
    if selected and selected in shown.index:
        geom = gpd.GeoSeries([shown.geometry.loc[selected].buffer(150.0)], crs=shown.crs)
        w, s_, e, n = (float(v) for v in geom.to_crs("EPSG:4326").total_bounds)
        bounds = (w, s_, e, n)
    else:
        bounds = maps.web_bounds(layers.paths)
    m = maps.base_map(bounds, "none")
    add_app_basemap(m, "offline")
    items = []
    for state_type in ("open", "fixed", "closed"):
        part = shown[shown["state_type"].astype(str).eq(state_type)]
        if part.empty:
            continue
        label = t("state_" + state_type)
        maps.add_points(m, shown_labels(part), STATE_COLOURS[state_type],
                        {"category": t("category"), "description": t("description"),
                         "state_label": t("status")}, label, radius=6)
        items.append((label, STATE_COLOURS[state_type]))
    if selected and selected in shown.index:
        maps.add_highlight(m, shown.geometry.loc[[selected]], "#ffd400",
                           t("selected_feature"))
        items.append((t("selected_feature"), "#ffd400"))
    maps.add_legend(m, t("legend"), items)
    st_folium(m, height=420, use_container_width=True, returned_objects=[],
              key="act_map")


def _label(findings: pd.DataFrame, fid: str) -> str:
    if not fid:
        return t("act_choose")
    if fid not in findings.index:
        return fid
    r = findings.loc[fid]
    return (f"{str(r['created'])[:10]} · {category_text(str(r['category']), lang())} · "
            f"{label_text(str(r['state_label']), lang())} · "
            f"{str(r['description'])[:50]}")


def _load_snapshot(store: FindingStore, fid: str) -> Finding:
    snap = store.get_finding(fid)
    st.session_state["act_loaded"] = snap
    for k in FORM_KEYS:
        st.session_state.pop(k, None)
    return snap


def _snapshot(store: FindingStore, fid: str) -> Finding:
    snap = st.session_state.get("act_loaded")
    if isinstance(snap, Finding) and snap.id == fid:
        return snap
    return _load_snapshot(store, fid)


def _history(store: FindingStore, fid: str, tz: str) -> None:
    st.markdown(f"**{t('act_history')}**")
    rows = store.history(fid)
    zone = ZoneInfo(tz)

    def changes(c: dict[str, Any]) -> str:
        return "; ".join(f"{k}: {v.get('before')!s:.40} → {v.get('after')!s:.40}"
                         if isinstance(v, dict) else str(k) for k, v in c.items())

    st.dataframe(pd.DataFrame({
        t("act_time"): [u.time.astimezone(zone).strftime("%Y-%m-%d %H:%M") for u in rows],
        t("act_role"): [u.author_role for u in rows],
        t("act_who"): [u.author_id or "" for u in rows],
        t("act_state_change"): [f"{u.state_before or '–'} → {u.state_after}" for u in rows],
        t("act_note"): [u.note for u in rows],
        t("act_changes"): [changes(dict(u.changes)) for u in rows],
    }), hide_index=True, width="stretch", key="act_history_table")


def _duplicates(snap: Finding, findings: gpd.GeoDataFrame) -> None:
    dups = duplicate_candidates(snap.geometry, snap.category, findings, exclude_id=snap.id)
    st.markdown(f"**{t('act_duplicates')}**")
    if dups.empty:
        st.caption(t("act_no_duplicates"))
        return
    st.warning(t("rec_duplicates").format(n=len(dups)))
    st.dataframe(pd.DataFrame({
        t("rec_distance"): dups["distance_m"].round(0).astype(int).to_numpy(),
        t("status"): [label_text(v, lang()) for v in dups["state_label"].astype(str)],
        t("description"): dups["description"].astype(str).to_numpy(),
        t("date"): [str(c)[:10] for c in dups["created"]],
    }), hide_index=True, width="stretch")


def _details(store: FindingStore, snap: Finding, tz: str) -> None:
    zone = ZoneInfo(tz)
    st.markdown(f"**{md(category_text(snap.category, lang()))}** · {t('rec_severity')} {snap.severity} · "
                f"{snap.created.astimezone(zone):%Y-%m-%d %H:%M} · "
                f"{md(snap.walk_id or snap.channel or '')}")
    st.text(f"{t('description')}: {snap.description or '–'}")
    if snap.description_original and snap.description_original != snap.description:
        st.text(f"{t('mod_original')}: {snap.description_original}")
    st.text(f"{t('rec_note')}: {snap.internal_note or '–'}")
    if snap.non_public:
        st.caption(t("rec_non_public"))
    if snap.moderation != "approved":
        st.caption(f"{t('mod_state')}: {snap.moderation}")
    for sha in snap.photos[:4]:
        try:
            st.image(store.photo_bytes(sha), width=240)
        except (KeyError, OSError):
            st.caption(t("act_photo_missing"))


def _form(store: FindingStore, role: str, snap: Finding) -> None:
    labels = [s.label for s in FINDING_STATES]
    parties = ["", *RESPONSIBLE_PARTIES]
    with st.form("act_form"):
        c1, c2 = st.columns(2)
        state_label = c1.selectbox(t("status"), labels, index=labels.index(snap.state.label),
                                   key="act_state", format_func=lambda s: label_text(s, lang()))
        responsible = c2.selectbox(
            t("act_responsible"), parties,
            index=parties.index(snap.responsible) if snap.responsible in parties else 0,
            format_func=lambda r: label_text(r, lang()) if r else t("act_no_responsible"),
            key="act_responsible_sel")
        reason = st.text_area(t("act_reason"), value=snap.closed_reason, max_chars=2000,
                              help=t("act_reason_help"), key="act_reason")
        public_note = st.text_area(t("act_public_note"), value=snap.public_note,
                                   max_chars=2000, help=t("act_public_note_help"),
                                   key="act_public_note")
        measure = st.text_area(t("act_measure"), value=snap.measure, max_chars=2000,
                               key="act_measure")
        deadline = st.date_input(t("act_deadline"), value=snap.deadline, key="act_deadline",
                                 format=DATE_FORMAT)
        note = st.text_input(t("act_note"), max_chars=500, key="act_note",
                             help=t("act_note_help"))
        submitted = st.form_submit_button(t("act_save"), type="primary", key="act_submit")
    if not submitted:
        return
    target = finding_state(str(state_label))
    reason_text = (reason or "").strip()
    if target.requires_reason and not reason_text:
        st.error(t("act_reason_required"))
        return
    changes: dict[str, Any] = {}
    if (responsible or None) != snap.responsible:
        changes["responsible"] = responsible or None
    if (measure or "").strip() != snap.measure:
        changes["measure"] = (measure or "").strip()
    new_deadline = deadline if isinstance(deadline, date) else None
    if new_deadline != snap.deadline:
        changes["deadline"] = new_deadline
    if (public_note or "").strip() != snap.public_note:
        changes["public_note"] = (public_note or "").strip()
    state_changed = target != snap.state or (
        target.requires_reason and reason_text != snap.closed_reason)
    if not changes and not state_changed:
        st.info(t("act_nothing_changed"))
        return
    note_text = (note or "").strip()
    try:
        current = snap
        if changes:
            current = store.update_finding(snap.id, current.version, author_role=role,
                                           note=note_text, **changes)
        if state_changed:
            current = store.set_state(snap.id, current.version, target, note=note_text,
                                      author_role=role,
                                      reason=reason_text if target.requires_reason else None)
    except ConflictError as exc:
        show_error(t("conflict"), exc)
        st.stop()
    except ValidationError as exc:
        show_error(t("act_invalid"), exc)
        return
    _load_snapshot(store, snap.id)
    st.session_state["act_message"] = t("act_saved")
    st.rerun()


def render() -> None:
    """The page (staff only)."""
    init_page_state()
    with staff_store_page("page_actions") as (role, layers, store):
        _page(store, role, layers.profile.timezone, layers.profile)


def _page(store: FindingStore, role: str, tz: str, profile: Profile | None = None) -> None:
    ss = st.session_state
    msg = ss.get("act_message")
    if msg:
        st.success(msg)
        ss["act_message"] = None
    findings = store.findings()
    today = datetime.now(ZoneInfo(tz)).date()
    overdue = overdue_mask(findings, today)
    extra = None
    if profile is not None:
        from ui.st_cache import inputs_key, profile_path, st_roads

        path = profile_path()
        extra = deadline_columns(findings, profile, today, st_roads(str(path), inputs_key(path)))
    if overdue.any():
        st.error(t("act_overdue_banner").format(n=int(overdue.sum())), icon="⏰")
        st.dataframe(findings_table(findings[overdue], tz), hide_index=True, width="stretch",
                     key="act_overdue_table")
    if extra is not None:
        _rule_overdue(findings, extra, tz)
    _moderation_queue(store, role, findings)
    _not_fixed_queue(store, role, findings)
    _fault_list(store, tz)
    shown = _filters(findings, overdue, category_labels(store.categories,
                                                        include_inactive=True))
    st.caption(t("act_table_hint").format(n=len(shown), total=len(findings)))
    _table(shown, overdue, tz, extra)
    _triage_map(shown, str(ss.get("act_finding") or ""))
    options = ["", *map(str, shown.index)]
    chosen = ss.get("act_finding") or ""
    if chosen and chosen not in options and chosen in findings.index:
        options.append(chosen)  # keep the finding being edited even if filtered out
    if chosen not in options:
        ss["act_finding"] = ""
    fid = st.selectbox(t("act_finding"), options, key="act_finding",
                       format_func=lambda i: _label(findings, i))
    if not fid:
        return
    try:
        snap = _snapshot(store, fid)
    except KeyError:
        st.error(t("act_unknown"))
        return
    st.divider()
    if fid in findings.index and int(findings.loc[fid, "version"]) != snap.version:
        st.warning(t("act_stale"))
    if st.button(t("act_reload"), key="act_reload"):
        snap = _load_snapshot(store, fid)
    left, right = st.columns([3, 2])
    with left:
        _details(store, snap, tz)
        _form(store, role, snap)
    with right:
        _history(store, fid, tz)
        _duplicates(snap, findings)


def _moderation_queue(store: FindingStore, role: str, findings: gpd.GeoDataFrame) -> None:
    """Residents' findings awaiting moderation: approve (optionally with an edited public
    text) or reject. The original text is kept; every decision goes into the history."""
    pending = findings.loc[findings["moderation"].astype(str).eq("pending")] \
        if "moderation" in findings.columns else findings.iloc[:0]
    with st.expander(t("mod_title").format(n=len(pending)), expanded=not pending.empty):
        if pending.empty:
            st.caption(t("mod_none"))
            return
        st.caption(t("mod_intro"))
        fid = st.selectbox(t("mod_pick"), [str(i) for i in pending.index], key="mod_pick",
                           format_func=lambda i: _label(findings, i))
        row = pending.loc[fid]
        st.text(f"{t('mod_original')}: {row['description_original'] or row['description']}")
        with st.form("mod_form"):
            text = st.text_area(t("mod_public_text"), value=str(row["description"]),
                                max_chars=2000, key=f"mod_text_{fid}")
            note = st.text_input(t("mod_note"), max_chars=500, key=f"mod_note_{fid}")
            c1, c2 = st.columns(2)
            approve = c1.form_submit_button(t("mod_approve"), type="primary",
                                            key="mod_approve")
            reject = c2.form_submit_button(t("mod_reject"), key="mod_reject")
        if not (approve or reject):
            return
        edited = (text or "").strip()
        try:
            store.moderate(fid, int(row["version"]), "approve" if approve else "reject",
                           public_text=edited if approve and edited != row["description"]
                           else None, note=(note or "").strip(),
                           author_role="moderator" if role == "staff" else role)
        except ConflictError as exc:
            show_error(t("conflict"), exc)
            st.stop()
        except ValidationError as exc:
            show_error(t("act_invalid"), exc)
            return
        st.session_state["act_message"] = t("mod_done")
        st.rerun()


def _not_fixed_queue(store: FindingStore, role: str, findings: gpd.GeoDataFrame) -> None:
    """Fixed findings that residents say are not fixed ("Är det åtgärdat?" on the public
    page): reopen them, or confirm the fix; the reports are then cleared."""
    if "not_fixed_reports" not in findings.columns:
        return
    reported = findings.loc[findings["not_fixed_reports"].fillna(0).astype(int).gt(0)]
    if reported.empty:
        return
    with st.expander(t("nf_title").format(n=len(reported)), expanded=True):
        st.caption(t("nf_intro"))
        fid = st.selectbox(t("mod_pick"), [str(i) for i in reported.index], key="nf_pick",
                           format_func=lambda i: f"{_label(findings, i)} · "
                           f"{int(findings.loc[i, 'not_fixed_reports'])} ×")
        for u in store.history(fid)[-5:]:
            if u.author_role == "public":
                st.text(f"{u.time:%Y-%m-%d %H:%M} UTC: {u.note}")
        with st.form("nf_form"):
            note = st.text_input(t("mod_note"), max_chars=500, key=f"nf_note_{fid}")
            c1, c2 = st.columns(2)
            reopen = c1.form_submit_button(t("nf_reopen"), type="primary", key="nf_reopen")
            keep = c2.form_submit_button(t("nf_keep"), key="nf_keep")
        if not (reopen or keep):
            return
        try:
            store.review_not_fixed(fid, int(reported.loc[fid, "version"]), reopen=bool(reopen),
                                   note=(note or "").strip(), author_role=role)
        except ConflictError as exc:
            show_error(t("conflict"), exc)
            st.stop()
        st.session_state["act_message"] = t("act_saved")
        st.rerun()


def _fault_list(store: FindingStore, tz: str) -> None:
    """Open lamp faults (lighting findings that name a luminaire) and the fault list for
    the repair crews as XLSX, one sheet per responsible party."""
    import tempfile
    from pathlib import Path

    from walks.service import lamp_faults, write_fault_list

    faults = lamp_faults(store)
    if faults.empty:
        return
    with st.expander(t("fault_title").format(n=len(faults))):
        st.dataframe(pd.DataFrame({
            t("act_responsible"): faults["responsible"].fillna(t("act_no_responsible")),
            t("fault_lamp"): faults["luminaire_id"].astype(str),
            t("description"): faults["description"].astype(str),
        }), hide_index=True, width="stretch", key="fault_table")
        with tempfile.TemporaryDirectory() as tmp:
            path, _n = write_fault_list(store, Path(tmp) / "felanmalningar.xlsx", tz)
            data = path.read_bytes()
        st.download_button(t("fault_download"), data, file_name="felanmalningar.xlsx",
                           mime="application/vnd.openxmlformats-officedocument."
                           "spreadsheetml.sheet", key="fault_download")
