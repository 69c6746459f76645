"""Uppföljning: the yearly public follow-up of the promises, with downloads.

Shows the same content as ``trygga report`` (:mod:`promises.report`): every promise with
its target, outcome and status, the walks held, findings and fixes, the lighting work
with before/after maps, and the charts; and offers the report as HTML and PDF. The page
receives only the :class:`promises.report.ReportData` (public content, STYLE rule 8).

Staff (not in public mode) also log activities for the promises and import them from CSV.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from layers import ValidationError, load_profile
from layers.profile import Profile
from promises.activities import (
    Activity,
    ActivityImportError,
    open_activity_log,
)
from promises.demo import seed_demo_walks
from promises.milestones import STEPS, Milestone, open_milestone_log
from promises.progress import fmt_number
from promises.register import Register, load_register, register_for_profile
from promises.report import (
    ReportData,
    ReportError,
    render_report_pdf,
    report_bytes,
    report_for_profile,
)
from ui.common import load_or_stop, show_demo_notice
from ui.html_tables import cards_table_html
from ui.st_cache import InputsKey, inputs_key, profile_path, st_layers
from ui.state import DATE_FORMAT, lang, public_mode, t
from ui.translate import category_text, label_text, report_text


def _mtime_key(*paths: Path) -> tuple[tuple[int, int], ...]:
    """Modification time and size of each file (0, 0 when missing): a cache key."""
    out = []
    for f in paths:
        s = f.stat() if f.exists() else None
        out.append((s.st_mtime_ns, s.st_size) if s else (0, 0))
    return tuple(out)


def _store_paths(profile: Profile) -> tuple[Path, ...]:
    """The GeoPackage store file and its WAL (none for a PostgreSQL store)."""
    from walks.store import is_postgres_target, store_target

    target = store_target(profile)
    if is_postgres_target(target):
        return ()
    store = Path(target)
    return (store, store.with_name(store.name + "-wal"))


@st.cache_data(show_spinner=False, max_entries=8)
def st_report(profile_file: str, layers_key: InputsKey, register_file: str,
              data_key: tuple[tuple[int, int], ...], year: int,
              joint_for: str = "") -> ReportData:
    """The report data of *year*, cached on the inputs' and the store's file times.

    *joint_for*: a partner municipality's name; the report then covers only the
    register's promises shared with it (:meth:`promises.register.Register.joint_for`).
    """
    layers = st_layers(profile_file, layers_key)
    reg = load_register(register_file)
    return report_for_profile(layers.profile, reg.joint_for(joint_for) if joint_for else reg,
                              year, layers=layers)


@st.cache_data(show_spinner=False, max_entries=4)
def st_report_pdf(_data: ReportData, key: tuple[object, ...]) -> bytes:
    """PDF bytes of the report (cached per report key)."""
    return report_bytes(_data, "pdf")


def _prepare_demo(profile: Profile, reg: Register) -> None:
    """On the demo profile: seed the store (findings, walks) and the activity log once, so
    that the cache key below sees the seeded files."""
    if not profile.demo:
        return
    from walks.service import open_store

    with open_store(profile) as store:
        seed_demo_walks(store, profile)
    open_activity_log(profile, reg)
    open_milestone_log(profile, reg)


@st.cache_data(show_spinner=False)
def pdf_problem() -> str:
    """Why PDFs cannot be made here ("" when WeasyPrint works); checked once."""
    try:
        render_report_pdf("<html lang='sv'><body><p>PDF</p></body></html>")
    except ReportError as exc:
        return str(exc)
    return ""


def _default_year(reg: Register, tz: str) -> int:
    today = dt.datetime.now(ZoneInfo(tz)).date()
    return min(max(today.year, reg.period_start), reg.period_end)


def _table(head: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(head))


def _show_chart(data: ReportData, key: str) -> None:
    try:
        c = data.chart(key)
    except KeyError:
        return
    alt = _r(c.alt)
    st.image(c.png, caption=alt, alt=alt)
    if c.rows:
        title = _r(c.title)
        with st.expander(f"{t('fu_figures')}: {title[:1].lower() + title[1:]}"):
            st.dataframe(_table(tuple(map(_r, c.head)),
                                tuple(tuple(map(_r, row)) for row in c.rows)),
                         hide_index=True)


def _r(text: str) -> str:
    """A text of the report in the UI language (:func:`ui.translate.report_text`)."""
    return report_text(text, lang())


def _responsible(promise: Any) -> str:
    """Owner and partners of a promise (:attr:`promises.register.Promise.
    responsible_label`) in the UI language; partner names stay as they are."""
    if lang() != "en":
        return str(promise.responsible_label)
    from ui.translate import OWNER_EN

    owner = OWNER_EN.get(promise.owner, promise.owner_label)
    partners = tuple(promise.partners)
    if not partners:
        return owner
    joined = partners[0] if len(partners) == 1 else (
        f"{', '.join(partners[:-1])} {t('and')} {partners[-1]}")
    return f"{owner}, with {joined}"


def _status_text(label: str) -> str:
    """A promise status (:data:`promises.progress.STATUSES` label) in the UI language."""
    from ui.texts import TEXTS

    key = "ps_" + label.replace(" ", "_").replace("å", "a").replace("ö", "o")
    return t(key) if key in TEXTS else label


def _show_report(data: ReportData) -> None:
    st.subheader(t("fu_promises"))
    # A row that wraps (three or so per line on a phone) instead of one metric per line.
    with st.container(horizontal=True, gap="large"):
        for label, n in data.status_counts.items():
            st.metric(_status_text(label), n, width="content")
    promises = pd.DataFrame({
        t("fu_col_promise"): [p.promise.text for p in data.progress],
        t("fu_col_area"): [p.promise.area for p in data.progress],
        t("fu_col_owner"): [_responsible(p.promise) for p in data.progress],
        t("fu_col_target"): [_r(p.target_text) for p in data.progress],
        f"{t('fu_col_outcome')} {data.year}": [_r(p.outcome_text) for p in data.progress],
        t("status"): [_status_text(p.status.label) for p in data.progress],
        t("fu_col_details"): ["; ".join([*map(_r, p.details),
                                         *(f"{d} {_r(s)}: {n}" if n else f"{d} {_r(s)}"
                                           for d, s, n in p.milestones),
                                         *([f"{t('fu_places')}: {', '.join(p.places)}"]
                                           if p.places else [])])
                              for p in data.progress],
    })
    # An HTML table, stacked into cards on a phone (ui.html_tables).
    st.markdown(cards_table_html(promises, t("fu_promises"), "trygga-promises"),
                unsafe_allow_html=True)
    if data.joint:
        and_ = f" {t('and')} "
        st.subheader(f"{t('fu_joint')}: {and_.join(data.joint_municipalities)}")
        joint = pd.DataFrame({
            t("fu_col_promise"): [p.promise.text for p in data.joint],
            f"{t('fu_col_outcome')} {data.year}": [_r(p.outcome_text) for p in data.joint],
            t("status"): [_status_text(p.status.label) for p in data.joint]})
        st.markdown(cards_table_html(joint, t("fu_joint"), "trygga-joint"),
                    unsafe_allow_html=True)

    st.subheader(f"{t('fu_walks')} {data.year}")
    if data.walks:
        st.dataframe(pd.DataFrame({
            t("date"): [w.date for w in data.walks], t("fu_col_walk"): [w.title for w in data.walks],
            t("fu_col_place"): [w.place for w in data.walks],
            t("fu_col_light"): [label_text(w.light, lang()) for w in data.walks],
            t("fu_col_groups"): [", ".join(f"{label_text(g, lang())} {n}"
                                           for g, n in w.participants)
                                    for w in data.walks],
            t("walk_participants"): [w.participants_total for w in data.walks],
            t("findings"): [w.findings for w in data.walks]}), hide_index=True)
    else:
        st.info(t("fu_no_walks"))

    st.subheader(t("fu_findings"))
    f = data.findings
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(f"{t('fu_public_findings')} {data.year}", fmt_number(f.total))
    c2.metric(t("fu_fixed"), "–" if f.share_fixed is None
              else f"{fmt_number(100 * f.share_fixed)} %")
    c3.metric(t("fu_median_days"),
              "–" if f.median_days_to_fix is None else fmt_number(f.median_days_to_fix))
    c4.metric(t("fu_closed"), len(f.closed))
    if data.deadlines is not None and data.deadlines.fixed:
        d = data.deadlines
        st.caption(t("fu_in_time").format(share=f"{100 * (d.share_in_time or 0):.0f}",
                                          n=d.fixed_in_time, total=d.fixed,
                                          late=d.overdue_open))
    if f.by_category:
        table = pd.DataFrame([[category_text(cat, lang()), *counts, total]
                              for cat, counts, total in f.by_category],
                             columns=[t("category"),
                                      *(label_text(s, lang()) for s in f.states),
                                      t("fu_total")])
        st.dataframe(table, hide_index=True)
    if f.closed:
        st.markdown(f"**{t('fu_closed')}**")
        closed = {t("date"): [c.date for c in f.closed],
                  t("category"): [category_text(c.category, lang()) for c in f.closed]}
        if data.show_closed_reasons:
            closed[t("fu_reason")] = [c.reason for c in f.closed]
        st.dataframe(pd.DataFrame(closed), hide_index=True)
    left, right = st.columns(2)
    with left:
        _show_chart(data, "findings_per_month")
    with right:
        _show_chart(data, "fixes_per_month")

    st.subheader(t("fu_lighting"))
    if data.snapshot_labels is None:
        st.info(t("fu_no_lighting"))
    else:
        st.caption(f"{_r(data.snapshot_labels[0])} → {_r(data.snapshot_labels[1])}")
        m = st.columns(4)
        if data.lighting is not None:
            m[0].metric(t("fu_km_improved"), fmt_number(data.lighting.km_improved, 1))
        if data.led is not None:
            m[1].metric(t("fu_led_converted"), fmt_number(data.led.conversions))
            m[2].metric(t("fu_kwh_saved"), fmt_number(data.led.kwh_saved_per_year))
            m[3].metric(t("fu_co2_saved"), fmt_number(data.led.co2_kg_saved_per_year))
        if data.lighting is not None:
            lp = data.lighting
            rows = [(t("fu_km_priority"), lp.km_improved),
                    (t("fu_km_school"), lp.km_near_school),
                    (t("fu_km_crossing"), lp.km_near_crossing),
                    *((t("fu_km_area").format(area=k), v) for k, v in lp.km_in_areas.items()),
                    (t("fu_km_all"), lp.km_improved_all)]
            st.dataframe(pd.DataFrame(
                [(w, fmt_number(km, 2)) for w, km in rows],
                columns=[t("fu_col_where"), "km"]), hide_index=True)
        if data.maps:
            for col, c in zip(st.columns(len(data.maps)), data.maps, strict=True):
                col.image(c.png, caption=_r(c.alt), alt=_r(c.alt))
        _show_chart(data, "led_conversions")

    st.subheader(t("fu_darkness"))
    _show_chart(data, "commute_darkness")
    if data.school_darkness:
        months = t("months_short").split()
        st.markdown(f"**{t('school_darkness')}**")
        st.dataframe(pd.DataFrame(
            [[r.school, _r(r.school_day), *(round(h, 2) for h in r.hours)]
             for r in data.school_darkness],
            columns=[t("school_col"), t("school_day_col"), *months]), hide_index=True)
    st.caption(" · ".join(map(_r, data.sources)))
    if data.note:
        st.caption(data.note)


def _downloads(data: ReportData, key: tuple[object, ...]) -> None:
    left, right = st.columns(2)
    left.download_button(t("fu_download_html"), report_bytes(data, "html"),
                         file_name=f"uppfoljning_{data.year}.html", mime="text/html",
                         key=f"dl_html_{data.year}")
    problem = pdf_problem()
    if problem:
        right.info(f"{t('fu_no_pdf')}: {problem}")
        return
    # The PDF is made when the button is clicked (WeasyPrint takes a few seconds).
    right.download_button(t("fu_download_pdf"), lambda: st_report_pdf(data, key),
                          file_name=f"uppfoljning_{data.year}.pdf", mime="application/pdf",
                          key=f"dl_pdf_{data.year}")


def _staff_forms(profile: Profile, reg: Register, year: int) -> None:
    log = open_activity_log(profile, reg)
    logged = [p for p in reg.promises if p.logged]
    if not logged:
        return
    with st.expander(t("fu_log")), st.form("log_activity", clear_on_submit=True):
        promise = st.selectbox(t("fu_log_promise"), logged, format_func=lambda p: p.text)
        default = dt.date(year, 12, 31) if year < dt.date.today().year else dt.date.today()
        when = st.date_input(t("fu_log_date"), value=default,
                             min_value=dt.date(reg.period_start, 1, 1),
                             max_value=dt.date(reg.period_end, 12, 31), format=DATE_FORMAT)
        count = st.number_input(t("fu_log_count"), min_value=1, value=1, step=1)
        place = st.text_input(t("fu_log_place"))
        note = st.text_input(t("fu_log_note"))
        if st.form_submit_button(t("fu_log_save")):
            try:
                log.add(Activity(when if isinstance(when, dt.date) else dt.date.today(),
                                 promise.id, int(count), place, None, None, note), reg)
            except ValidationError as exc:
                st.error(str(exc))
            else:
                st.success(t("fu_log_saved"))
                st.rerun()
    steps = [p for p in reg.promises if p.has_milestones]
    if steps:
        mlog = open_milestone_log(profile, reg)
        with st.expander(t("fu_milestone")), st.form("log_milestone", clear_on_submit=True):
            promise = st.selectbox(t("fu_log_promise"), steps, format_func=lambda p: p.text)
            step = st.radio(t("fu_milestone_step"), STEPS, horizontal=True,
                            format_func=lambda v: label_text(v, lang()))
            default = dt.date(year, 12, 31) if year < dt.date.today().year else dt.date.today()
            when = st.date_input(t("fu_log_date"), value=default,
                                 min_value=dt.date(reg.period_start, 1, 1),
                                 max_value=dt.date(reg.period_end, 12, 31),
                                 key="milestone_date", format=DATE_FORMAT)
            note = st.text_input(t("fu_milestone_note"), max_chars=200)
            if st.form_submit_button(t("fu_log_save")):
                try:
                    mlog.add(Milestone(when if isinstance(when, dt.date) else dt.date.today(),
                                       promise.id, step, note), reg)  # type: ignore[arg-type]
                except ValidationError as exc:
                    st.error(str(exc))
                else:
                    st.success(t("fu_milestone_saved"))
                    st.rerun()
    with st.expander(t("fu_import")):
        st.caption(t("fu_import_help"))
        upload = st.file_uploader("CSV", type=["csv", "txt"], key="activity_csv")
        if upload is not None and st.button(t("fu_import_button"), key="activity_import"):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / (Path(upload.name).name or "aktiviteter.csv")
                path.write_bytes(upload.getvalue())
                try:
                    result = log.import_csv(path, reg)
                except ActivityImportError as exc:
                    st.error(exc.report.summary() + "\n\n" + "\n".join(
                        f"- {p}" for p in exc.report.problems))
                except ValidationError as exc:
                    st.error(str(exc))
                else:
                    st.success(result.summary())


def render() -> None:
    """The Uppföljning page: the year's report, downloads, and (staff) activity logging."""
    from ui.page_public import public_nav

    layers = load_or_stop()
    show_demo_notice(layers.profile)
    public_nav()
    st.title(t("page_followup"))
    path = profile_path()
    prof = load_profile(path)
    reg_file = register_for_profile(prof)
    joint_for = ""
    if reg_file is None:  # a partner municipality: the joint promises of a partner register
        reg_file = next(iter(prof.partner_registers), None)
        joint_for = prof.name
    if reg_file is None:
        st.info(t("fu_no_register"))
        st.stop()
        return
    try:
        reg = load_register(reg_file)
        if joint_for:
            reg = reg.joint_for(joint_for)
    except ValidationError as exc:
        st.error(f"{t('fu_register_error')}:\n\n{exc}")
        st.stop()
        return
    years = list(range(reg.period_start, reg.period_end + 1))
    year = st.selectbox(t("fu_year"), years, index=years.index(_default_year(reg, prof.timezone)),
                        key="followup_year")
    st.caption(f"{reg.title}, {reg.municipality}")
    _prepare_demo(prof, reg)
    # The promise logs live in the store (schema 3): its files (or change token) cover them.
    data_key = _mtime_key(*_store_paths(prof), reg_file)
    if not _store_paths(prof):  # PostgreSQL: the store's own change token
        from ui.page_public import store_token
        data_key = (*data_key, store_token(path))
    try:
        with st.spinner(t("fu_building")):
            data = st_report(str(path), inputs_key(path), str(reg_file), data_key, int(year),
                             joint_for)
    except (ValidationError, ValueError) as exc:
        st.error(str(exc))
        st.stop()
        return
    _downloads(data, (str(path), str(reg_file), data_key, int(year)))
    _show_report(data)
    if not public_mode():
        _staff_forms(prof, reg, int(year))
