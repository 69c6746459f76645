"""Deadlines from the profile's rules: due dates, overdue, "åtgärdat i tid"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point
from typer.testing import CliRunner

from walks.deadlines import deadline_days, finding_deadlines, summarize_deadlines

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "data" / "stromstad" / "profile.toml"
RULES = {"default": 90, "belysning": 10, "Trafikverket": 183, "belysning | Trafikverket": 30}
UTC = dt.UTC


@pytest.mark.parametrize(("category", "party", "expected"), [
    ("belysning", "Trafikverket", (30, "belysning | Trafikverket")),   # the pair wins
    ("BELYSNING", None, (10, "belysning")),                           # case-insensitive
    ("belysning", "kommun gata/park", (10, "belysning")),             # category > party
    ("vegetation/buskage", "Trafikverket", (183, "Trafikverket")),    # party > default
    ("vegetation/buskage", None, (90, "default")),
])
def test_the_most_specific_rule_wins(category, party, expected):
    assert deadline_days(category, party, RULES) == expected


def test_no_rule_no_deadline():
    assert deadline_days("belysning", None, {}) == (None, "")


def _findings() -> gpd.GeoDataFrame:
    # created 2024-10-15 21:30 UTC = 23:30 local: the local date counts (Oct 15)
    created = dt.datetime(2024, 10, 15, 21, 30, tzinfo=UTC)
    rows = [
        # id, category, responsible, state_label, state_type, fixed_at, decided deadline
        ("a", "belysning", None, "ny", "open", None, None),                 # due 10-25
        ("b", "belysning", None, "åtgärdad", "fixed",
         dt.datetime(2024, 10, 25, 20, 0, tzinfo=UTC), None),               # on the day
        ("c", "belysning", None, "åtgärdad", "fixed",
         dt.datetime(2024, 10, 25, 22, 30, tzinfo=UTC), None),              # 10-26 local
        ("d", "belysning", "Trafikverket", "planerad", "open", None, None),  # due 11-14
        ("e", "vegetation/buskage", None, "ny", "open", None,
         dt.date(2024, 10, 20)),                                            # decided
        ("f", "belysning", None, "avslutad utan åtgärd", "closed", None, None),
    ]
    return gpd.GeoDataFrame({
        "category": [r[1] for r in rows], "responsible": [r[2] for r in rows],
        "state_label": [r[3] for r in rows], "state_type": [r[4] for r in rows],
        "fixed_at": pd.to_datetime([r[5] for r in rows], utc=True),
        "deadline": [r[6] for r in rows], "created": [created] * len(rows)},
        geometry=[Point(0, 0)] * len(rows), crs="EPSG:3007",
        index=pd.Index([r[0] for r in rows], name="id"))


def test_due_dates_overdue_and_in_time():
    f = _findings()
    before = f.copy()
    dl = finding_deadlines(f, RULES, as_of=dt.date(2024, 10, 26), tz="Europe/Stockholm")
    pd.testing.assert_frame_equal(f, before)                  # never mutates the input
    assert dl.index.equals(f.index)
    assert dl["due_date"].tolist() == [dt.date(2024, 10, 25)] * 3 + [
        dt.date(2024, 11, 14), dt.date(2024, 10, 20), dt.date(2024, 10, 25)]
    assert dl["deadline_rule"].tolist() == ["belysning"] * 3 + [
        "belysning | Trafikverket", "beslutad", "belysning"]
    # overdue: open and after the due date (the day itself is not late)
    assert dl["overdue"].tolist() == [True, False, False, False, True, False]
    assert dl["days_overdue"].tolist() == [1, pd.NA, pd.NA, pd.NA, 6, pd.NA]
    assert dl["fixed_in_time"].tolist() == [pd.NA, True, False, pd.NA, pd.NA, pd.NA]
    on_due_day = finding_deadlines(f, RULES, as_of=dt.date(2024, 10, 25))
    assert not on_due_day.loc["a", "overdue"]
    s = summarize_deadlines(dl)
    assert (s.fixed, s.fixed_in_time, s.overdue_open) == (2, 1, 2)
    assert s.share_in_time == pytest.approx(0.5)
    none_fixed_this_year = summarize_deadlines(dl, pd.Series(False, index=f.index))
    assert none_fixed_this_year.fixed == 0 and none_fixed_this_year.share_in_time is None


def test_empty_findings_give_an_empty_aligned_frame():
    f = _findings().iloc[:0]
    dl = finding_deadlines(f, RULES, as_of=dt.date(2024, 1, 1))
    assert dl.empty and list(dl.columns) == ["due_date", "deadline_rule", "days_allowed",
                                             "overdue", "days_overdue", "fixed_in_time"]


def test_profile_rejects_bad_deadlines(tmp_path):
    from layers import ValidationError, load_profile

    src = PROFILE.read_text(encoding="utf-8")
    src = src.replace('"boundary.geojson"', f'"{PROFILE.parent}/boundary.geojson"')
    src = src.replace('"../demo/', f'"{ROOT / "data" / "demo"}/')
    src = src.replace('"belysning" = 10 ', '"belysning" = 0 ')
    bad = tmp_path / "profile.toml"
    bad.write_text(src, encoding="utf-8")
    with pytest.raises(ValidationError, match=r"deadlines\.belysning.*0 is not a number of "
                                              "days above 0"):
        load_profile(bad)


def test_cli_deadlines_lists_overdue_findings(tmp_path):
    from trygga_cli.main import app

    out = tmp_path / "frister.csv"
    result = CliRunner().invoke(app, ["deadlines", "--store", str(tmp_path / "walks.gpkg"),
                                      "--as-of", "2024-11-01", "--overdue", "--out", str(out)])
    assert result.exit_code == 0, result.output
    # the demo's open lighting findings of the October walk were due 2024-10-25
    lines = [x for x in result.output.splitlines() if x.startswith("2024-10-25")]
    assert lines and all("7 d sen" in x and "belysning" in x for x in lines)
    import csv

    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert len(rows) == len(lines)
    assert {r["rule"] for r in rows} == {"belysning"} and {r["days_overdue"] for r in rows} \
        == {"7"}
    bad = CliRunner().invoke(app, ["deadlines", "--as-of", "2024-13-01",
                                   "--store", str(tmp_path / "walks.gpkg")])
    assert bad.exit_code == 2
