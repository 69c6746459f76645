"""Commute darkness: NOAA sun position against astral, Strömstad's months."""

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from gis.darkness import commute_darkness_by_month, solar_elevation_deg

LAT, LON = 58.937, 11.172  # Strömstad


@pytest.fixture(scope="module")
def stromstad():
    return commute_darkness_by_month(LAT, LON)


def test_elevation_matches_astral():
    astral_sun = pytest.importorskip("astral.sun")
    from astral import Observer

    obs = Observer(LAT, LON)
    instants = [dt.datetime(2025, m, d, h, mi, tzinfo=dt.UTC)
                for m, d in ((1, 3), (3, 20), (6, 21), (9, 23), (12, 21))
                for h, mi in ((6, 30), (11, 15), (15, 45), (22, 0))]
    expected = np.array([astral_sun.elevation(obs, t, with_refraction=False) for t in instants])
    naive = np.array([t.replace(tzinfo=None) for t in instants], dtype="datetime64[s]")
    assert solar_elevation_deg(naive, LAT, LON) == pytest.approx(expected, abs=0.1)
    # tz-aware input is converted, not misread as local time
    aware = pd.DatetimeIndex(instants).tz_convert("Europe/Stockholm")
    assert solar_elevation_deg(aware, LAT, LON) == pytest.approx(expected, abs=0.1)


def test_shape_and_index(stromstad):
    assert list(stromstad.index) == list(range(1, 13))
    assert stromstad.index.name == "month"
    assert list(stromstad.columns) == ["share_dark", "share_dark_morning", "share_dark_afternoon"]
    assert ((stromstad >= 0) & (stromstad <= 1)).all().all()


def test_stromstad_months(stromstad):
    assert stromstad.loc[6, "share_dark"] == 0.0
    assert stromstad.loc[6, "share_dark_morning"] == 0.0
    assert stromstad.loc[12, "share_dark_morning"] > 0.8
    dec, octo, aug = (stromstad.loc[m, "share_dark"] for m in (12, 10, 8))
    assert dec > octo > aug
    assert stromstad.loc[12, "share_dark"] > stromstad.loc[11, "share_dark"]
    # the combined share weights the 60 min morning and 150 min afternoon windows
    dec_row = stromstad.loc[12]
    assert dec_row["share_dark"] == pytest.approx(
        (60 * dec_row["share_dark_morning"] + 150 * dec_row["share_dark_afternoon"]) / 210)


def test_december_morning_matches_astral_dawn(stromstad):
    """Dark minutes of 07:15–08:15 = minutes before civil dawn, averaged over weekdays."""
    astral_sun = pytest.importorskip("astral.sun")
    from astral import Observer

    tz = ZoneInfo("Europe/Stockholm")
    obs = Observer(LAT, LON)
    shares = []
    for day in range(1, 32):
        date = dt.date(2025, 12, day)
        if date.weekday() >= 5:
            continue
        dawn = astral_sun.dawn(obs, date, tzinfo=tz, depression=6)
        start = dt.datetime(2025, 12, day, 7, 15, tzinfo=tz)
        dark_min = (dawn - start).total_seconds() / 60
        shares.append(min(max(dark_min, 0), 60) / 60)
    assert stromstad.loc[12, "share_dark_morning"] == pytest.approx(np.mean(shares), abs=0.03)


def test_daylight_saving_is_applied():
    """Stockholm is UTC+1 in January and UTC+2 in July (zoneinfo, DST aware)."""
    windows = (("15:30", "17:30"), ("22:00", "23:59"))  # dusk in January / in July
    se = commute_darkness_by_month(LAT, LON, "Europe/Stockholm", windows=windows)
    cet = commute_darkness_by_month(LAT, LON, "Etc/GMT-1", windows=windows)  # fixed UTC+1
    cest = commute_darkness_by_month(LAT, LON, "Etc/GMT-2", windows=windows)  # fixed UTC+2
    assert 0 < se.loc[1, "share_dark"] < 1 and 0 < se.loc[7, "share_dark"] < 1
    assert se.loc[1, "share_dark"] == pytest.approx(cet.loc[1, "share_dark"])
    assert se.loc[1, "share_dark"] != pytest.approx(cest.loc[1, "share_dark"])
    assert se.loc[7, "share_dark"] == pytest.approx(cest.loc[7, "share_dark"])
    assert se.loc[7, "share_dark"] != pytest.approx(cet.loc[7, "share_dark"])


def test_only_morning_windows_leave_afternoon_nan():
    d = commute_darkness_by_month(LAT, LON, windows=(("07:15", "08:15"),))
    assert d["share_dark_afternoon"].isna().all()
    assert d["share_dark"].equals(d["share_dark_morning"])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"timezone": "Europe/Strömstad"}, "unknown time zone"),
    ({"windows": (("08:15", "07:15"),)}, "ends before it starts"),
    ({"windows": (("7.15", "08:15"),)}, "is not HH:MM"),
    ({"step_min": 0}, "step_min must be positive"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        commute_darkness_by_month(LAT, LON, **kwargs)
