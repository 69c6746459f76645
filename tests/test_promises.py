"""promises: the register, the activity log and every progress measure, on hand-checked data.

Each measure gets a tiny hand-made fixture whose answer can be checked by hand: two
rankings of four segments for the kilometres improved, two inventories of four luminaires
for the LED savings, a handful of walks for the (school) walk promises, and a small
activity log for the counted promises. Nothing here ranks the demo town.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from gis.ranking import improved_km
from layers import load_profile
from layers._common import ValidationError
from layers.profile import Costs
from promises.activities import (
    Activity,
    ActivityImportError,
    ActivityLog,
    activity_log_path,
    open_activity_log,
)
from promises.progress import (
    DELVIS,
    EJ_GENOMFORT,
    EJ_UPPFYLLT,
    GENOMFORT,
    PAGAR,
    UNDERLAG_SAKNAS,
    UPPFYLLT,
    ProgressInputs,
    compute_progress,
    fmt_number,
    held_walks,
    led_progress,
    lighting_progress,
    promise_status,
    school_walks,
)
from promises.register import load_register
from promises.snapshots import RankingSnapshot

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT / "data" / "stromstad" / "medborgarloften_2023_2024.toml"
PROFILE = ROOT / "data" / "stromstad" / "profile.toml"
TZ = ZoneInfo("Europe/Stockholm")
CRS = "EPSG:3007"

MINI = '''
title = "Testlöften"
municipality = "Testby"
period_start = 2024
period_end = 2024

[[promise]]
id = "kontroller"
text = "Minst 10 kontroller."
area = "Trafik"
owner = "polisen"
measure = "activities"
target = 10
unit = "kontroller"

[[promise]]
id = "moten"
text = "Två möten."
area = "Dialog"
owner = "kommunen"
measure = "activities"
target = 2
unit = "möten"

[[promise]]
id = "konferens"
text = "En konferens."
area = "VNR"
owner = "båda"
measure = "activities"
target = 1

[[promise]]
id = "lagesbild"
text = "Ta fram en lägesbild."
area = "Samverkan"
owner = "båda"
measure = "done"

[[promise]]
id = "skolvandringar"
text = "Två vandringar vid utsedda skolor."
area = "Fysisk miljö"
owner = "båda"
measure = "school_walks"
target = 2
schools = ["Norrskolan", "Söderskolan"]

[[promise]]
id = "belysning"
text = "Bättre belysning."
area = "Fysisk miljö"
owner = "kommunen"
measure = "lighting_km"
'''


def _write(tmp_path: Path, text: str, name: str = "reg.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- register ---------------------------------------------------------------------------

def test_stromstad_register_loads():
    reg = load_register(REGISTER)
    assert reg.period_start == 2023 and reg.period_end == 2024
    assert len(reg.promises) == 21 and len(set(reg.ids)) == 21
    assert reg.get("trafikkontroller").target == 80.0
    assert reg.get("patruller").target == 40.0
    assert reg.get("skolbesok").target == 30.0
    assert reg.get("grannsamverkan").target == 2.0
    assert reg.get("dialogmoten").target == 2.0
    assert reg.get("vnr-konferens").target == 1.0
    assert reg.get("skolvandringar").target == 2.0
    light = reg.get("belysning")
    assert light.measure == "lighting_km" and light.areas == ("Strömsdalen",)
    assert (light.school_distance_m, light.crossing_distance_m) == (300.0, 50.0)
    assert reg.get("led").measure == "led_conversions"
    assert {p.owner for p in reg.promises} == {"polisen", "kommunen", "båda"}
    assert not [p.id for p in reg.promises if p.measure == "done"]
    assert [p.id for p in reg.promises if p.measure == "milestones"] == [
        "narkotika-unga", "narkotika-krog", "krogar-mot-knark", "tidig-upptackt", "hundsok",
        "foraldramoten", "postnord", "bedrageri-aldre", "vnr-socialtjansten",
        "vagledning-vald", "samverkan-tanum"]
    assert reg.get("vnr-konferens").partners == ("Fyrbodals kommuner",
                                                 "Brottsofferjouren Fyrbodal")
    assert reg.get("postnord").responsible_label == "Polisen, med PostNord"
    assert [p.id for p in reg.joint_promises] == ["samverkan-tanum"]
    assert reg.joint_for("tanum").ids == ("samverkan-tanum",)
    assert reg.joint_for("tanum").inventories == ()
    # police activity places are not public by default; the dialogue meetings' are
    assert not reg.get("trafikkontroller").places_public
    assert reg.get("dialogmoten").places_public
    before, after = reg.snapshots_for(2024)
    assert before is not None and after is not None
    assert before.date == dt.date(2023, 12, 31) and after.date == dt.date(2024, 12, 31)
    assert before.path.name == "belysning_demo_2023.csv"
    assert reg.snapshots_for(2023)[0] is None
    assert reg.demo_activities is not None and reg.demo_activities.exists()


def test_register_reports_every_problem_naming_the_key(tmp_path):
    text = MINI.replace('target = 10\n', 'tagret = 10\n', 1) \
        .replace('target = 2\nunit = "möten"', 'target = "2"\nunit = "möten"') \
        .replace('owner = "båda"\nmeasure = "activities"', 'owner = "alla"\nmeasure = "activities"') \
        .replace('measure = "done"', 'measure = "klart"') \
        .replace('schools = ["Norrskolan", "Söderskolan"]',
                 'schools = ["Norrskolan", "Söderskolan"]\nareas = ["Centrum"]')
    text = "periodstart = 2020\n" + text + '\n[[promise]]\nid = "moten"\ntext = "x"\n' \
        'area = "x"\nowner = "kommunen"\nmeasure = "walks"\n'
    with pytest.raises(ValidationError) as err:
        load_register(_write(tmp_path, text))
    msg = str(err.value)
    assert "key 'periodstart': unknown key" in msg and "did you mean 'period_start'" in msg
    assert "key 'promise[1].tagret': unknown key" in msg and "promise[1].target" in msg
    assert "key 'promise[2].target': wrong type str" in msg
    assert "key 'promise[3].owner': unknown owner 'alla'" in msg
    assert "key 'promise[4].measure': unknown measure 'klart'" in msg
    assert "key 'promise[5].areas': this key does not apply" in msg
    assert "key 'promise[7].id': duplicate id 'moten'" in msg
    assert len(err.value.problems) == 7


def test_register_rejects_missing_keys_and_bad_values(tmp_path):
    text = ('title = "x"\nmunicipality = "x"\nperiod_start = 2025\nperiod_end = 2024\n'
            '[[promise]]\nid = "a b"\ntext = "x"\narea = "x"\nowner = "polisen"\n'
            'measure = "done"\ntarget = 3\n'
            '[[promise]]\ntext = "y"\narea = "y"\nowner = "polisen"\nmeasure = "activities"\n'
            'target = -1\n'
            '[[inventory]]\ndate = 2024-12-31\nfile = "finns_inte.csv"\n')
    with pytest.raises(ValidationError) as err:
        load_register(_write(tmp_path, text))
    msg = str(err.value)
    assert "key 'period_end': period ends (2024) before it starts (2025)" in msg
    assert "key 'promise[1].id': id 'a b' has characters" in msg
    assert "key 'promise[1].target': a 'done' promise has no numeric target" in msg
    assert "key 'promise[2].id': required key is missing" in msg
    assert "key 'promise[2].target': target -1 is not positive" in msg
    assert "key 'inventory[1].file': file not found" in msg


def test_register_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ValidationError, match="register file not found"):
        load_register(tmp_path / "saknas.toml")
    with pytest.raises(ValidationError, match="not valid TOML"):
        load_register(_write(tmp_path, "title = \n"))


# --- status badges ------------------------------------------------------------------------

@pytest.mark.parametrize(("outcome", "target", "over", "expected"), [
    (2, 2, True, UPPFYLLT),          # exactly 2 walks at designated schools: met
    (3, 2, False, UPPFYLLT),         # met before the year is over
    (1, 2, True, DELVIS),            # half the target
    (31, 40, True, DELVIS),
    (19, 40, True, EJ_UPPFYLLT),     # under half
    (0, 1, True, EJ_UPPFYLLT),
    (10, 80, False, PAGAR),          # year still running
    (0, None, True, EJ_GENOMFORT),   # no target: done / not done, never "uppfyllt"
    (1, None, True, GENOMFORT),
    (0, None, False, PAGAR),
    (None, 2, True, UNDERLAG_SAKNAS),
    (float("nan"), None, True, UNDERLAG_SAKNAS),
])
def test_promise_status(outcome, target, over, expected):
    assert promise_status(outcome, target, over=over) == expected


def test_partial_share_is_configurable():
    assert promise_status(1, 2, over=True, partial_share=0.75) == EJ_UPPFYLLT
    assert promise_status(30, 40, over=True, partial_share=0.75) == DELVIS


def test_statuses_have_types():
    assert UPPFYLLT.is_met() and DELVIS.is_partial() and EJ_UPPFYLLT.is_not_met()
    assert PAGAR.is_ongoing() and not UNDERLAG_SAKNAS.is_met()


# --- lighting: km improved ----------------------------------------------------------------

def _ranking(statuses: list[str]) -> gpd.GeoDataFrame:
    """Four 500 m segments: near a school, at a crossing, in Strömsdalen, elsewhere."""
    ids = ["s1", "s2", "s3", "s4"]
    geoms = [LineString([(0, 1000.0 * i), (500, 1000.0 * i)]) for i in range(4)]
    df = gpd.GeoDataFrame({
        "lighting_status": statuses,
        "length_m": [500.0, 500.0, 500.0, 500.0],
        "school_distance_m": [120.0, 900.0, 900.0, 900.0],
        "crossing_distance_m": [400.0, 20.0, 400.0, 400.0],
        "priority_area": ["", "", "Strömsdalen", ""],
    }, geometry=geoms, crs=CRS, index=pd.Index(ids, name="segment_id"))
    return df


def test_km_improved_on_two_hand_made_rankings():
    before = _ranking(["unlit", "underlit", "unlit", "underlit"])
    after = _ranking(["ok", "ok", "underlit", "ok"])
    # s1 (school) and s2 (crossing) improved in the zone; s4 improved outside it
    assert improved_km(before, after) == pytest.approx(1.5)
    lp = lighting_progress(before, after, school_distance_m=300, crossing_distance_m=50,
                           areas=("Strömsdalen",))
    assert lp.km_improved == pytest.approx(1.0)
    assert lp.km_near_school == pytest.approx(0.5)
    assert lp.km_near_crossing == pytest.approx(0.5)
    assert lp.km_in_areas == {"Strömsdalen": pytest.approx(0.0)}
    assert lp.km_improved_all == pytest.approx(1.5)
    assert set(lp.improved_ids) == {"s1", "s2"}
    assert lp.km_dark_before == pytest.approx(1.5) and lp.km_dark_after == pytest.approx(0.5)
    # the area counts when it improves; lit_old_technology -> ok is not an improvement
    after2 = _ranking(["lit_old_technology", "underlit", "ok", "ok"])
    lp2 = lighting_progress(before, after2, areas=("Strömsdalen",))
    assert lp2.km_improved == pytest.approx(0.5) and lp2.improved_ids == ("s3",)
    assert lp2.km_in_areas["Strömsdalen"] == pytest.approx(0.5)


def test_km_improved_ignores_segments_missing_in_one_ranking():
    before = _ranking(["unlit", "unlit", "unlit", "unlit"]).drop(index="s1")
    after = _ranking(["ok", "ok", "ok", "ok"])
    lp = lighting_progress(before, after)
    assert lp.km_improved == pytest.approx(0.5)  # only s2 (crossing) in the zone


# --- LED conversions ----------------------------------------------------------------------

def test_led_conversions_and_savings_by_hand():
    idx = pd.Index(["a", "b", "c", "d"], name="luminaire_id")
    before = pd.DataFrame({"light_source": ["HPS", "Hg", "LED", "HPS"],
                           "wattage_w": [70.0, None, 30.0, 100.0]}, index=idx)
    after = pd.DataFrame({"light_source": ["LED", "LED", "LED", "HPS", "LED"],
                          "wattage_w": [30.0, None, 30.0, 100.0, 24.0]},
                         index=pd.Index(["a", "b", "c", "d", "e"], name="luminaire_id"))
    costs = Costs(burning_hours_per_year=4000, electricity_sek_per_kwh=1.5,
                  co2_kg_per_kwh=0.045, led_power_w=25)
    led = led_progress(before, after, costs)
    assert led.conversions == 2
    assert led.converted_from == {"HPS": 1, "Hg": 1}
    # a: 70 W × 1.12 − 30 W = 48.4 W; b: 125 W (Hg default) × 1.1 − 25 W = 112.5 W
    kwh = (48.4 + 112.5) * 4000 / 1000
    assert led.kwh_saved_per_year == pytest.approx(kwh)
    assert led.sek_saved_per_year == pytest.approx(kwh * 1.5)
    assert led.co2_kg_saved_per_year == pytest.approx(kwh * 0.045)
    assert (led.new_luminaires, led.new_led, led.removed_luminaires) == (1, 1, 0)
    assert led.sources_before == {"HPS": 2, "Hg": 1, "LED": 1}
    assert led.led_share_after == pytest.approx(4 / 5)
    assert led.unknown_type_conversions == 0


def test_led_conversion_of_an_unknown_lamp_claims_no_saving():
    idx = pd.Index(["a", "u"], name="luminaire_id")
    before = pd.DataFrame({"light_source": ["HPS", "unknown"], "wattage_w": [70.0, 70.0]},
                          index=idx)
    after = pd.DataFrame({"light_source": ["LED", "LED"], "wattage_w": [30.0, 30.0]},
                         index=idx)
    costs = Costs(burning_hours_per_year=4000)
    led = led_progress(before, after, costs)
    assert (led.conversions, led.unknown_type_conversions) == (2, 1)
    assert led.kwh_saved_per_year == pytest.approx((70 * 1.12 - 30) * 4000 / 1000)  # a only


# --- walks ----------------------------------------------------------------------------------

def _walks(rows: list[tuple[str, str, str | None, str]]) -> pd.DataFrame:
    """Walks frame like FindingStore.walks(): (id, local start, school, state label)."""
    return pd.DataFrame({
        "title": [r[0] for r in rows],
        "start": [pd.Timestamp(r[1], tz=TZ).tz_convert("UTC") for r in rows],
        "light": "mörker", "area": "Centrum",
        "school": [r[2] for r in rows],
        "participants": [{"boende": 5, "polis": 1} for _ in rows],
        "state_label": [r[3] for r in rows],
    }, index=pd.Index([f"w{i}" for i in range(len(rows))], name="walk_id"))


WALKS = _walks([
    ("Vid Norrskolan", "2024-10-15 18:00", "Norrskolan", "protokoll publicerat"),
    ("Vid Söderskolan", "2024-11-12 17:00", "Söderskolan", "genomförd"),
    ("Vid Söderskolan, planerad", "2024-12-10 17:00", "Söderskolan", "planerad"),
    ("Vid Västerskolan", "2024-09-01 18:00", "Västerskolan", "genomförd"),
    ("Nyårsvandring", "2023-12-31 23:30", "Norrskolan", "genomförd"),  # 2023 locally
    ("I centrum", "2024-04-17 19:30", None, "genomförd"),
])


def test_held_and_school_walks():
    held = held_walks(WALKS, 2024)
    assert list(held.index) == ["w5", "w3", "w0", "w1"]  # by start; planned and 2023 out
    at_schools = school_walks(WALKS, 2024, ["Norrskolan", "söderskolan"])
    assert sorted(at_schools.index) == ["w0", "w1"]  # exactly 2 at designated schools
    assert len(school_walks(WALKS, 2023, ["Norrskolan"])) == 1


def _inputs(activities: pd.DataFrame, walks: pd.DataFrame = WALKS,
            before: RankingSnapshot | None = None,
            after: RankingSnapshot | None = None) -> ProgressInputs:
    return ProgressInputs(walks=walks, activities=activities, before=before, after=after,
                          costs=Costs(), designated_schools=("Norrskolan",))


def _log(rows: list[tuple[str, str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame({"date": [dt.date.fromisoformat(r[0]) for r in rows],
                         "promise_id": [r[1] for r in rows],
                         "count": pd.array([r[2] for r in rows], dtype="int64"),
                         "place": [r[3] for r in rows], "lat": None, "lon": None,
                         "note": "intern"})


LOG = _log([
    ("2024-02-01", "kontroller", 4, "Storgatan"), ("2024-03-01", "kontroller", 6, "Hamnen"),
    ("2023-12-30", "kontroller", 5, ""),             # previous year
    ("2024-05-05", "moten", 1, "Stadshuset"),
])


def test_progress_of_every_measure(tmp_path):
    reg = load_register(_write(tmp_path, MINI))
    snap_b = RankingSnapshot("före", None, _ranking(["unlit"] * 4),
                             gpd.GeoDataFrame({"light_source": ["HPS"], "wattage_w": [70.0]},
                                              geometry=[Point(0, 0)], crs=CRS,
                                              index=pd.Index(["a"], name="luminaire_id")))
    snap_a = RankingSnapshot("efter", None, _ranking(["ok", "unlit", "unlit", "unlit"]),
                             snap_b.luminaires.assign(light_source="LED", wattage_w=30.0))
    progress = {p.promise.id: p for p in compute_progress(
        reg, 2024, _inputs(LOG, before=snap_b, after=snap_a), as_of=dt.date(2025, 1, 15))}
    assert progress["kontroller"].outcome == 10 and progress["kontroller"].status == UPPFYLLT
    assert progress["kontroller"].outcome_text == "10 kontroller"
    assert progress["kontroller"].target_text == "10 kontroller per år"
    assert progress["kontroller"].places == ()            # police places are not public
    assert progress["moten"].outcome == 1 and progress["moten"].status == DELVIS
    assert progress["moten"].places == ("Stadshuset",)    # the kommun's places are
    assert progress["konferens"].outcome == 0 and progress["konferens"].status == EJ_UPPFYLLT
    assert progress["lagesbild"].status == EJ_GENOMFORT
    assert progress["lagesbild"].outcome_text == "inte genomfört"
    # the promise's own schools: Norrskolan and Söderskolan -> exactly 2 -> met
    assert progress["skolvandringar"].outcome == 2
    assert progress["skolvandringar"].status == UPPFYLLT
    assert progress["belysning"].outcome == pytest.approx(0.5)  # s1, near a school
    assert progress["belysning"].outcome_text == "0,5 km"
    # before the year is over, unmet targets are "pågår"
    running = {p.promise.id: p.status for p in compute_progress(
        reg, 2024, _inputs(LOG), as_of=dt.date(2024, 6, 1))}
    assert running["moten"] == PAGAR and running["konferens"] == PAGAR
    assert running["kontroller"] == UPPFYLLT
    assert running["belysning"] == UNDERLAG_SAKNAS      # no snapshots
    with pytest.raises(ValueError, match="covers 2024–2024, not 2023"):
        compute_progress(reg, 2023, _inputs(LOG), as_of=dt.date(2025, 1, 1))


def test_school_walks_default_to_the_profile_schools(tmp_path):
    reg = load_register(_write(tmp_path, MINI.replace(
        'schools = ["Norrskolan", "Söderskolan"]\n', '')))
    p = {x.promise.id: x for x in compute_progress(reg, 2024, _inputs(LOG),
                                                   as_of=dt.date(2025, 1, 1))}
    assert p["skolvandringar"].outcome == 1 and p["skolvandringar"].status == DELVIS


def test_fmt_number_is_swedish():
    assert fmt_number(16184.0) == "16\u202f184"
    assert fmt_number(2.054, 1) == "2,1"


# --- activity log ---------------------------------------------------------------------------

BAD_CSV = (
    "datum;löfte;antal;plats;lat;lon;anteckning\r\n"
    "2024-03-01;kontroller;2;Storgatan;;;ok\r\n"          # row 2: fine
    "2024-13-01;kontroller;1;;;;\r\n"                     # row 3: bad date
    "2024-03-02;kontrol;1;;;;\r\n"                        # row 4: unknown promise
    "2024-03-03;kontroller;0;;;;\r\n"                     # row 5: count 0
    "2024-03-04;skolvandringar;1;;;;\r\n"                 # row 6: measured from data
    "2023-03-04;moten;1;;58,9;;\r\n"                      # row 7: outside period, lat only
    "2024-03-05;moten;1,5;;;;\r\n"                        # row 8: not whole
)


def test_activity_csv_import_reports_bad_rows_and_writes_nothing(tmp_path):
    reg = load_register(_write(tmp_path, MINI))
    csv_path = tmp_path / "aktiviteter.csv"
    csv_path.write_bytes(BAD_CSV.encode("cp1252"))
    log = ActivityLog(tmp_path / "logg" / "aktiviteter.csv")
    dry = log.import_csv(csv_path, reg, dry_run=True)
    assert dry.new == 1 and not dry.ok
    where = {(p.row, p.column) for p in dry.problems}
    assert where == {("3", "datum"), ("4", "löfte"), ("5", "antal"), ("6", "löfte"),
                     ("7", "datum"), ("7", "lon"), ("8", "antal")}
    text = "\n".join(str(p) for p in dry.problems)
    assert "aktiviteter.csv, row 4, column 'löfte': unknown promise 'kontrol'" in text
    assert "did you mean 'kontroller'?" in text
    assert "measured from data (school_walks)" in text
    assert "outside the register's period 2024–2024" in text
    with pytest.raises(ActivityImportError) as err:
        log.import_csv(csv_path, reg)
    assert len(err.value.report.problems) == 7
    assert not log.path.exists()  # all or nothing


def test_activity_csv_import_then_reimport_adds_nothing(tmp_path):
    reg = load_register(_write(tmp_path, MINI))
    csv_path = tmp_path / "ok.csv"
    csv_path.write_text("date,promise,count,place,note\n"
                        "2024-03-01,kontroller,2,Storgatan,kväll\n"
                        "2024-03-01,kontroller,2,Storgatan,kväll\n"   # same twice: both new
                        "2024-06-01,LAGESBILD,,,\n", encoding="utf-8")
    log = ActivityLog(tmp_path / "aktiviteter.csv")
    first = log.import_csv(csv_path, reg)
    assert (first.new, first.duplicates) == (3, 0)
    again = log.import_csv(csv_path, reg)
    assert (again.new, again.duplicates) == (0, 3)
    frame = log.frame()
    assert frame["count"].tolist() == [2, 2, 1]
    assert frame["promise_id"].tolist() == ["kontroller", "kontroller", "lagesbild"]
    raw = log.path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # Swedish Excel dialect


def test_activity_csv_unknown_and_missing_columns(tmp_path):
    reg = load_register(_write(tmp_path, MINI))
    csv_path = tmp_path / "fel.csv"
    csv_path.write_text("när;vad;antal\n2024-01-01;kontroller;1\n", encoding="utf-8")
    report = ActivityLog(tmp_path / "a.csv").import_csv(csv_path, reg, dry_run=True)
    cols = {p.column for p in report.problems}
    assert {"när", "vad", "datum", "löfte"} <= cols


def test_activity_log_add_validates_and_appends(tmp_path):
    reg = load_register(_write(tmp_path, MINI))
    log = ActivityLog(tmp_path / "aktiviteter.csv")
    log.add(Activity(dt.date(2024, 5, 1), "moten", 1, "Stadshuset", 58.937, 11.172,
                     "anteckning"), reg)
    log.add(Activity(dt.date(2024, 5, 2), "moten"), reg)
    with pytest.raises(ValidationError, match="field 'antal'.*whole number"):
        log.add(Activity(dt.date(2024, 5, 3), "moten", 0), reg)
    with pytest.raises(ValidationError, match="field 'löfte': unknown promise 'okänt'"):
        log.add(Activity(dt.date(2024, 5, 3), "okänt"), reg)
    acts = log.activities()
    assert len(acts) == 2
    assert acts[0].lat == pytest.approx(58.937) and acts[0].lon == pytest.approx(11.172)
    assert acts[0].note == "anteckning"


def test_demo_activity_log_is_seeded_into_the_store_once(tmp_path):
    import dataclasses

    reg = load_register(REGISTER)
    prof = dataclasses.replace(load_profile(PROFILE), store=tmp_path / "walks.gpkg")
    assert activity_log_path(prof) == tmp_path / "aktiviteter.csv"  # the old place
    log = open_activity_log(prof, reg)
    assert not activity_log_path(prof).exists()  # kept in the store now
    assert len(open_activity_log(prof, reg).activities()) == len(log.activities())  # once
    totals = log.frame().groupby("promise_id")["count"].sum().to_dict()
    assert totals == {"trafikkontroller": 92, "patruller": 31, "skolbesok": 34,
                      "grannsamverkan": 1, "dialogmoten": 2, "foraldramoten": 3,
                      "bedrageri-aldre": 4, "hundsok": 2}
    # a real (non-demo) profile starts with an empty log
    real = dataclasses.replace(prof, demo=False, store=tmp_path / "real" / "walks.gpkg")
    assert open_activity_log(real, reg).frame().empty


def test_an_old_log_file_moves_into_the_store_once(tmp_path):
    """A log file beside a store of an older version (cp1252, as Excel saves it) becomes
    the store's log on first use; the file is renamed so it is never read twice."""
    import dataclasses

    reg = load_register(_write(tmp_path, MINI))
    prof = dataclasses.replace(load_profile(PROFILE), demo=False,
                               store=tmp_path / "s" / "walks.gpkg")
    legacy = activity_log_path(prof)
    legacy.parent.mkdir()
    legacy.write_bytes("datum;löfte;antal;plats;lat;lon;anteckning\r\n"
                       "2024-03-01;kontroller;2;Strömsdalen;;;kväll\r\n".encode("cp1252"))
    log = open_activity_log(prof, reg)
    assert [(a.promise_id, a.count, a.place) for a in log.activities()] == [
        ("kontroller", 2, "Strömsdalen")]
    assert not legacy.exists() and legacy.with_name("aktiviteter.csv.flyttad").exists()
    log.add(Activity(dt.date(2024, 5, 2), "moten"), reg)
    again = open_activity_log(prof, reg)
    assert [a.promise_id for a in again.activities()] == ["kontroller", "moten"]
    # a file that turns up again later does not overwrite the store's log
    legacy.write_bytes(b"datum;l\xf6fte;antal\r\n2024-04-01;kontroller;9\r\n")
    assert [a.promise_id for a in open_activity_log(prof, reg).activities()] == [
        "kontroller", "moten"]


def test_demo_activities_validate_against_the_register(tmp_path):
    reg = load_register(REGISTER)
    log = ActivityLog(tmp_path / "aktiviteter.csv")
    report = log.import_csv(ROOT / "data" / "demo" / "aktiviteter_demo.csv", reg)
    assert report.ok and report.new == len(pd.read_csv(
        ROOT / "data" / "demo" / "aktiviteter_demo.csv", sep=";", encoding="utf-8-sig"))


def test_demo_inventory_2023_differs_only_by_the_2024_work():
    cur = pd.read_csv(ROOT / "data/demo/belysning_demo.csv", sep=";", encoding="cp1252",
                      dtype=str, keep_default_na=False).set_index("Armatur-ID")
    old = pd.read_csv(ROOT / "data/demo/belysning_demo_2023.csv", sep=";", encoding="cp1252",
                      dtype=str, keep_default_na=False).set_index("Armatur-ID")
    assert old.index.isin(cur.index).all()
    new = cur.index.difference(old.index)
    assert len(new) == 121 and (cur.loc[new, "Ljuskälla"] == "LED").all()
    common = cur.loc[old.index]
    changed = (common != old).any(axis=1)
    assert changed.sum() == 82
    assert (old.loc[changed, "Ljuskälla"] == "Kvicksilver").all()
    assert (common.loc[changed, "Ljuskälla"] == "LED").all()
    assert (common.loc[changed, "Installationsår"] == "2024").all()


def test_register_paths_are_relative_to_its_folder(tmp_path):
    # the register resolves its paths against its own folder: a copy elsewhere must
    # name absolute paths (as the test profiles do)
    copy = tmp_path / "reg.toml"
    shutil.copy(REGISTER, copy)
    with pytest.raises(ValidationError, match=r"inventory\[1\]\.file"):
        load_register(copy)


# --- snapshots from `trygga rank` output -----------------------------------------------------

def test_snapshot_from_ranking_gpkg_round_trips(tmp_path):
    from gis.outputs import write_ranking_gpkg
    from promises.snapshots import is_ranking_file, snapshot_from_ranking

    segs = _ranking(["ok", "unlit", "underlit", "ok"])
    lums = gpd.GeoDataFrame({"light_source": ["LED", "HPS"], "wattage_w": [30.0, None]},
                            geometry=[Point(0, 0), Point(10, 0)], crs=CRS,
                            index=pd.Index(["a", "b"], name="luminaire_id"))
    out = tmp_path / "rank"
    out.mkdir()
    write_ranking_gpkg(out / "ranking.gpkg", {"segments": segs, "luminaires": lums})
    assert is_ranking_file(out) and is_ranking_file(out / "ranking.gpkg")
    assert not is_ranking_file(ROOT / "data" / "demo" / "belysning_demo.csv")
    snap = snapshot_from_ranking(out, CRS, date=dt.date(2024, 12, 31))
    assert snap.label == "ranking.gpkg" and snap.date == dt.date(2024, 12, 31)
    assert list(snap.segments.index) == ["s1", "s2", "s3", "s4"]
    assert snap.segments["lighting_status"].tolist() == ["ok", "unlit", "underlit", "ok"]
    assert snap.segments["priority_area"].tolist() == ["", "", "Strömsdalen", ""]
    assert snap.luminaires.loc["a", "light_source"] == "LED"
    lp = lighting_progress(_ranking(["unlit"] * 4), snap.segments, areas=("Strömsdalen",))
    assert lp.km_improved == pytest.approx(0.5)
