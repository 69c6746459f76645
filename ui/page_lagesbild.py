"""Lägesbild (staff): the month's lägesbild for trygghetssamverkan, with HTML/PDF downloads,
and the public feeds (Atom, Open311 GeoReport v2) to publish.

Shows the same content as ``trygga lagesbild`` (:mod:`promises.lagesbild`); the feeds are
built from the public view only, as ``trygga feed`` and ``trygga open311 export`` do.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from layers import ValidationError
from layers.boundary import read_priority_areas
from layers.loader import Layers
from promises.activities import open_activity_log
from promises.lagesbild import (
    LagesbildData,
    build_lagesbild,
    lagesbild_bytes,
)
from promises.milestones import open_milestone_log
from promises.register import load_register_for_profile
from ui.common import show_error, staff_store_page
from ui.page_followup import pdf_problem
from ui.state import lang, t
from ui.translate import category_text, month_text, report_text
from walks.feed import FeedInfo, atom_feed, finding_areas, kommun_name
from walks.open311 import georeport_requests, georeport_services
from walks.public import public_view
from walks.store import FindingStore


def _months(today: dt.date, first_year: int) -> list[dt.date]:
    """Months from January of *first_year* to *today*'s month, newest first."""
    out, y, m = [], today.year, today.month
    while y >= first_year:
        out.append(dt.date(y, m, 1))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def _show(data: LagesbildData) -> None:
    c = st.columns(5)
    c[0].metric(t("lb_new"), data.made_total)
    c[1].metric(t("lb_fixed"), data.fixed_total)
    c[2].metric(t("lb_open"), sum(n for _, n in data.open_by_state))
    c[3].metric(t("lb_overdue"), data.overdue_open)
    c[4].metric(t("lb_activities"), sum(a.count for a in data.activities))
    for key, rows in (("lb_new_by_area", data.made), ("lb_fixed_by_area", data.fixed)):
        st.markdown(f"**{t(key)}**")
        if rows:
            st.dataframe(pd.DataFrame([[category_text(cat, lang()), *counts, n]
                                       for cat, counts, n in rows],
                                      columns=[t("category"), *data.areas, t("fu_total")]),
                         hide_index=True)
        else:
            st.caption(t("lb_none"))
    st.markdown(f"**{t('lb_activity_log')}**")
    if data.activities:
        st.dataframe(pd.DataFrame({
            t("fu_col_area"): [a.area for a in data.activities],
            t("fu_col_promise"): [a.text for a in data.activities],
            t("fu_log_count"): [a.count for a in data.activities],
            t("fu_places"): [", ".join(a.places) for a in data.activities]}), hide_index=True)
    else:
        st.caption(t("lb_none"))
    st.markdown(f"**{t('lb_trend')}**")
    st.dataframe(pd.DataFrame({
        t("lb_month"): [_month(r.month) for r in data.trend],
        t("lb_new"): [r.findings for r in data.trend],
        t("lb_fixed"): [r.fixed for r in data.trend],
        t("lb_activities"): [r.activities for r in data.trend]}), hide_index=True)
    st.caption(" · ".join(f"{t('lb_' + k)}: {report_text(v, lang())}"
                          for k, v in data.changes.items()))


def _month(label: str) -> str:
    """A month label of :mod:`promises.lagesbild` (``"november 2024"``) in the UI
    language."""
    return report_text(label, lang())


def _feeds(layers: Layers, store: FindingStore) -> None:
    prof = layers.profile
    view = public_view(store.findings(include_hidden=False), categories=store.categories,
                       tz=prof.timezone)
    with st.expander(t("lb_publish")):
        st.caption(t("lb_publish_help"))
        info = FeedInfo(f"Trygghetsfynd i {prof.name}", f"urn:trygga:{prof.kommun_code}:fynd",
                        kommun_name(prof.name), prof.timezone)
        area_of = finding_areas(view, layers.priority_areas)
        c1, c2, c3 = st.columns(3)
        c1.download_button("fynd.atom", atom_feed(view, info, area_of=area_of), "fynd.atom",
                           "application/atom+xml", key="dl_atom", on_click="ignore")
        codes = prof.open311_services
        c2.download_button("services.json", json.dumps(georeport_services(
            store.categories, codes), ensure_ascii=False, indent=1), "services.json",
            "application/json", key="dl_services", on_click="ignore")
        c3.download_button("requests.json", json.dumps(georeport_requests(
            view, codes), ensure_ascii=False, indent=1), "requests.json",
            "application/json", key="dl_requests", on_click="ignore")


def render() -> None:
    """The page (staff only)."""
    with staff_store_page("page_lagesbild") as (_role, layers, store):
        prof = layers.profile
        today = dt.datetime.now(ZoneInfo(prof.timezone)).date()
        current = load_register_for_profile(prof)
        first_year = min(today.year - 1, current.period_start if current else today.year)
        months = _months(today, first_year)
        month = st.selectbox(t("lb_month"), months, key="lb_month",
                             format_func=lambda m: month_text(m, lang()))
        try:
            register = load_register_for_profile(prof, month.year)
            pa = prof.sources.priority_areas
            areas = read_priority_areas(pa, prof.crs) if pa is not None else None
            data = build_lagesbild(prof, store, open_activity_log(prof, register).frame(),
                                   open_milestone_log(prof, register).frame(), register,
                                   month, areas=areas, as_of=today)
        except (ValidationError, ValueError) as exc:
            show_error(t("lb_error"), exc)
            st.stop()
            return
        name = f"lagesbild_{month.isoformat()[:7]}"
        left, right = st.columns(2)
        left.download_button(t("fu_download_html"), lagesbild_bytes(data, "html"),
                             f"{name}.html", "text/html", key="lb_html", on_click="ignore")
        problem = pdf_problem()
        if problem:
            right.info(f"{t('fu_no_pdf')}: {problem}")
        else:  # made when clicked (WeasyPrint takes a few seconds)
            right.download_button(t("fu_download_pdf"), lambda: lagesbild_bytes(data, "pdf"),
                                  f"{name}.pdf", "application/pdf", key="lb_pdf",
                                  on_click="ignore")
        _show(data)
        _feeds(layers, store)
