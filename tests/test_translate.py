"""English for the computed Swedish reasons and the category labels (ui.translate)."""

from __future__ import annotations

import re

import pandas as pd

from gis.score import reasons
from ui.translate import CATEGORY_EN, category_text, reason_text
from walks.categories import CATEGORIES

SWEDISH = re.compile(r"[åäöÅÄÖ]|\b(och|från|inom|för|rutter?|nära|sparar|mål|väg|stig)\b")


def test_every_category_has_english() -> None:
    assert set(CATEGORY_EN) == {c.label for c in CATEGORIES}
    assert category_text("belysning", "en") == "lighting"
    assert category_text("belysning", "sv") == "belysning"
    assert category_text("egen kategori", "en") == "egen kategori"


def test_reasons_of_every_status_and_path_type_read_as_english() -> None:
    from gis.score import PATH_TYPE_SV, STATUS_SV

    rows = [{"lighting_status": s, "path_type": p, "school_distance_m": d,
             "nearest_school": "Bojarskolan", "crossings_within_50m": c,
             "school_route_count": r, "findings_count": f, "priority_area": a,
             "mean_lux": 1.25, "target_class": "P4"}
            for s in STATUS_SV for p in PATH_TYPE_SV
            for d, c, r, f, a in ((40.0, 1, 1, 1, ""), (900.0, 3, 12, 2, "Strömsdalen"))]
    sv = reasons(pd.DataFrame(rows))
    en = [reason_text(t, "en") for t in sv]
    for s, e in zip(sv, en, strict=True):
        rest = e.replace("Bojarskolan", "").replace("Strömsdalen", "")
        assert not SWEDISH.search(rest), (s, e)
    assert reason_text(sv.iloc[0], "sv") == sv.iloc[0]
    assert "1 crossing within 50 m, on 1 school route, 1 safety-walk finding" in en[0]
    assert en[1].endswith("3 crossings within 50 m, on 12 school routes, 2 safety-walk "
                          "findings, in Strömsdalen")
    assert " 900 m from Bojarskolan" in en[1]


def test_led_reasons() -> None:
    for sv, en in (
            ("Kvicksilverlampa (förbjuden i EU sedan 2015), sparar 1\u202f200 kWh/år, nära "
             "skola, vid övergångsställe, i Strömsdalen",
             "Mercury lamp (banned in the EU since 2015), saves 1\u202f200 kWh/yr, near a "
             "school, at a crossing, in Strömsdalen"),
            ("Okänd ljuskälla: inventera", "Unknown light source: survey it"),
            ("Högtrycksnatrium, sparar 180 kWh/år", "High-pressure sodium, saves 180 kWh/yr")):
        assert reason_text(sv, "en") == en


def test_pages_show_reasons_and_categories_in_the_ui_language(monkeypatch) -> None:
    """The map page's tables and markers (``_reasons``) and the public list
    (``findings_table_html``) translate under the English toggle, and only then."""
    import geopandas as gpd
    from shapely.geometry import Point

    import ui.page_map as page_map
    import ui.page_public as page_public

    sv = pd.Series(["Obelyst gångväg 40 m från Bojarskolan, skolväg för 3 rutter"])
    view = gpd.GeoDataFrame({
        "id": ["a"], "category": ["belysning"], "description": ["Mörkt"],
        "state_label": ["ny"], "state_type": ["open"], "date": ["2025-10-15"],
        "fixed_date": [None], "public_note": [""]}, geometry=[Point(11.17, 58.94)],
        crs="EPSG:4326")
    monkeypatch.setattr(page_map, "lang", lambda: "sv")
    monkeypatch.setattr(page_public, "lang", lambda: "sv")
    assert page_map._reasons(sv).tolist() == sv.tolist()
    assert ">belysning<" in page_public.findings_table_html(view)
    monkeypatch.setattr(page_map, "lang", lambda: "en")
    monkeypatch.setattr(page_public, "lang", lambda: "en")
    assert page_map._reasons(sv).tolist() == [
        "Unlit footway 40 m from Bojarskolan, on 3 school routes"]
    html_en = page_public.findings_table_html(view)
    assert ">lighting<" in html_en and ">belysning<" not in html_en



def test_every_fixed_label_of_the_data_model_has_english() -> None:
    from promises.milestones import STEPS
    from ui.translate import RESPONSIBLE_EN, STATE_EN, WALK_EN, label_text
    from walks.model import (
        FINDING_STATES,
        LIGHT_CONDITIONS,
        PARTICIPANT_GROUPS,
        RESPONSIBLE_PARTIES,
        WALK_STATES,
    )

    assert set(STATE_EN) == {s.label for s in FINDING_STATES}
    assert set(RESPONSIBLE_EN) == set(RESPONSIBLE_PARTIES)
    labels = {s.label for s in WALK_STATES} | set(LIGHT_CONDITIONS) | set(PARTICIPANT_GROUPS)
    assert labels | set(STEPS) <= set(WALK_EN) | set(STATE_EN)
    for label in [*STATE_EN, *RESPONSIBLE_EN, *labels, *STEPS]:
        assert label_text(label, "sv") == label
        english = label_text(label, "en")
        assert english == "Trafikverket" or not SWEDISH.search(english), (label, english)
    assert label_text("avslutad utan åtgärd", "en") == "closed without action"
    assert label_text("okänt värde", "en") == "okänt värde"


def test_report_phrases_read_as_english() -> None:
    """The computed phrases of the follow-up report and the lägesbild (promises.*); the
    register's own words (units, places) pass through."""
    import datetime as dt

    from ui.translate import month_text, report_text

    cases = {
        "milstolpar: påbörjat, genomfört": "milestones: started, done",
        "ej påbörjat": "not started",
        "genomfört 2024-05-24": "done 2024-05-24",
        "80 trafikkontroller per år": "80 trafikkontroller per year",
        "Inom 50 m från övergångsställe: 1,85 km": "Within 50 m of a crossing: 1,85 km",
        "I Strömsdalen: 0,19 km": "In Strömsdalen: 0,19 km",
        "Sparar 16 184 kWh, 24 276 kr och 728 kg CO₂ per år":
            "Saves 16 184 kWh, 24 276 SEK and 728 kg CO₂ per year",
        "71 deltagare och 19 offentliga fynd": "71 participants and 19 public findings",
        "Utsedda skolor: Bojarskolan": "Designated schools: Bojarskolan",
        "som tidigare månader": "as in earlier months",
        "12 procent färre än snittet för de 6 månaderna före (3,5)":
            "12 per cent fewer than the average of the 6 months before (3,5)",
        "Fynd per månad 2024": "Findings per month 2024",
        "okt": "Oct",
        "november 2024": "November 2024",
    }
    for sv, en in cases.items():
        assert report_text(sv, "en") == en
        assert report_text(sv, "sv") == sv
    alt = ("Stapeldiagram över andelen av skolvägstiden (07.15–08.15 och 14.30–17.00) som är "
           "mörk. Mörkast i december: 47 procent.")
    assert report_text(alt, "en") == ("Bar chart of the share of the school commute "
                                      "(07.15–08.15 and 14.30–17.00) that is dark. Darkest "
                                      "in December: 47 per cent.")
    assert month_text(dt.date(2024, 5, 1), "en") == "May 2024"
    assert month_text(dt.date(2024, 5, 1), "sv") == "maj 2024"


def test_the_language_switch_writes_back_only_what_streamlit_allows() -> None:
    import datetime as dt

    from ui.state import _relabelable

    assert _relabelable("offline") and _relabelable(["ny", "bedömd"])
    assert _relabelable(dt.date(2024, 1, 1))
    # buttons (bool), uploads, editors (dict) and None are never written back
    assert not any(_relabelable(v) for v in (True, False, None, {"a": 1}, 3.0, [1, 2]))
