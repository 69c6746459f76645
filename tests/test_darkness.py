"""Commute darkness: NOAA sun position against astral, Strömstad's months."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from gis.darkness import commute_darkness_by_month, solar_elevation_deg

LAT, LON = 58.937, 11.172  # Strömstad
ROOT = Path(__file__).resolve().parents[1]


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


# --- per school ---------------------------------------------------------------------------

def _schools(**rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame({"latitude": 58.937, "longitude": 11.172,
                         "start": [r[0] for r in rows.values()],
                         "end": [r[1] for r in rows.values()],
                         "travel_min": [r[2] for r in rows.values()]},
                        index=pd.Index(list(rows), name="school"))


def test_school_commute_windows_are_the_trips_around_the_school_day():
    from gis.darkness import school_commute_windows

    assert school_commute_windows("08:10", "14:20", 25) == (("07:45", "08:10"),
                                                            ("14:20", "14:45"))
    with pytest.raises(ValueError, match="ends before it starts"):
        school_commute_windows("08:10", "08:10", 25)
    with pytest.raises(ValueError, match="travel_min"):
        school_commute_windows("08:10", "14:20", 0)


def test_school_darkness_agrees_with_the_kommun_wide_windows():
    """A school day 08:15–14:30 with 60 min before and 150 min after is exactly the
    default windows (07:15–08:15, 14:30–17:00): hours = share × 3.5 h, month by month."""
    from gis.darkness import commute_darkness_by_school

    # two trips of different length: give them as two schools and add them up
    schools = _schools(morning=("08:15", "14:30", 60.0), afternoon=("08:15", "14:30", 150.0))
    per = commute_darkness_by_school(schools, "Europe/Stockholm", 2025)
    wide = commute_darkness_by_month(58.937, 11.172, "Europe/Stockholm", 2025)
    hours = (per.loc["morning", "dark_morning_h"].to_numpy()
             + per.loc["afternoon", "dark_afternoon_h"].to_numpy())
    assert hours == pytest.approx(wide["share_dark"].to_numpy() * 3.5, abs=1e-9)
    assert per.loc["morning", "commute_h"].iloc[0] == pytest.approx(2.0)
    assert per.index.names == ["school", "month"]
    assert per.index.get_level_values(0).unique().tolist() == ["morning", "afternoon"]


def test_each_school_uses_its_own_times():
    from gis.darkness import commute_darkness_by_school

    per = commute_darkness_by_school(_schools(early=("07:45", "13:30", 30.0),
                                              late=("08:45", "16:00", 30.0)),
                                     "Europe/Stockholm", 2024)
    dec_early, dec_late = per.loc[("early", 12)], per.loc[("late", 12)]
    # in December the early school's morning trip is darker, the late one's trip home
    assert dec_early["dark_morning_h"] > dec_late["dark_morning_h"]
    assert dec_late["dark_afternoon_h"] > dec_early["dark_afternoon_h"]
    # a December trip of 30 minutes can be dark for at most half an hour
    assert 0 < dec_early["dark_morning_h"] <= 0.5
    assert per.loc[("early", 6), "dark_h"] == 0.0
    assert (per["dark_h"] == per["dark_morning_h"] + per["dark_afternoon_h"]).all()


def test_school_darkness_errors_name_the_school():
    from gis.darkness import commute_darkness_by_school

    with pytest.raises(ValueError, match="school 'Norr': school day 09:00–08:00 ends"):
        commute_darkness_by_school(_schools(Norr=("09:00", "08:00", 30.0)))
    with pytest.raises(ValueError, match="lacks latitude"):
        commute_darkness_by_school(pd.DataFrame({"start": ["08:00"]}))


def test_profile_school_day_falls_back_to_default(tmp_path):
    from layers import ValidationError, load_profile
    from layers.profile import DEFAULT_SCHOOL_DAY

    p = load_profile(ROOT / "data" / "stromstad" / "profile.toml")
    assert p.school_day("bojarskolan") == ("08:20", "14:40", 25.0)
    assert p.school_day("Koster skola") == ("08:15", "14:30", 30.0)     # "default"
    bare = load_profile(ROOT / "data" / "tanum" / "profile.toml")
    assert bare.school_day("Tanumskolan") == DEFAULT_SCHOOL_DAY
    src = (ROOT / "data" / "tanum" / "profile.toml").read_text(encoding="utf-8")
    src = src.replace('"boundary.geojson"', f'"{ROOT / "data" / "tanum"}/boundary.geojson"')
    src = src.replace('"../', f'"{ROOT / "data"}/')
    bad = tmp_path / "p.toml"
    bad.write_text(src + '\n[school_times]\nTanumskolan = { start = "8.15", end = "07:00", '
                   'travel_min = 0, bus = 1 }\n', encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_profile(bad)
    text = str(err.value)
    assert "school_times.Tanumskolan.start" in text and "'8.15' is not a time" in text
    assert "school_times.Tanumskolan.travel_min" in text
    assert "school_times.Tanumskolan.bus" in text
