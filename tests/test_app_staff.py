"""AppTest of the staff pages (Trygghetsvandringar, Åtgärder) and the staff login.

The pages run on a temporary copy of the Strömstad demo profile whose store lives in a
temporary folder, so the repository's data folder is never written. The profile copy is
shared by the module (the layers cache is keyed on its path) and every test starts with a
fresh store (seeded with the demo findings on first use).
"""

from __future__ import annotations

import hashlib
import io
import shutil
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from PIL import ExifTags, Image
from pyproj import Transformer
from shapely.geometry import LineString, Point
from streamlit.testing.v1 import AppTest

from layers import load_profile
from ui.auth import hash_password, verify_password
from ui.page_actions import overdue_mask
from ui.page_walks import ClickedPoint, edited_stops, save_upload
from walks.planning import WalkPlan
from walks.service import open_store
from walks.store import GeoPackageStore

ROOT = Path(__file__).resolve().parents[1]
WALKS = str(ROOT / "ui" / "pages" / "vandringar.py")
ACTIONS = str(ROOT / "ui" / "pages" / "atgarder.py")
FIXTURE_CSV = ROOT / "tests" / "fixtures" / "walks" / "fynd_mall_cp1252.csv"


def _profile_copy(folder: Path, demo: bool = True) -> Path:
    """The demo profile in *folder*, with its input paths made absolute."""
    src = (ROOT / "data" / "stromstad" / "profile.toml").read_text(encoding="utf-8")
    src = src.replace('"boundary.geojson"', f'"{ROOT / "data" / "stromstad"}/boundary.geojson"')
    src = src.replace('"../demo/', f'"{ROOT / "data" / "demo"}/')
    if not demo:
        src = src.replace("demo = true", "demo = false")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "profile.toml"
    path.write_text(src, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def profile_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _profile_copy(tmp_path_factory.mktemp("staff"))


@pytest.fixture
def demo(profile_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh store for each test (the profile, and so the layer cache, is shared)."""
    folder = profile_file.parent
    for f in folder.glob("walks.gpkg*"):
        f.unlink()
    shutil.rmtree(folder / "photos", ignore_errors=True)
    monkeypatch.setenv("TRYGGA_PROFILE", str(profile_file))
    monkeypatch.setattr("ui.page_walks.UPLOAD_DIR", tmp_path / "uploads")
    return profile_file


def _store(profile_file: Path) -> GeoPackageStore:
    """The test's store, seeded with the demo findings like the pages see it."""
    return open_store(load_profile(profile_file))


def _app(page: str) -> AppTest:
    return AppTest.from_file(page, default_timeout=90)


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(elements) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(e.value) for e in elements)


def _frame_with(at: AppTest, column: str):  # type: ignore[no-untyped-def]
    """The first table on the page that has *column*."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _lonlat(profile_file: Path, x: float, y: float) -> ClickedPoint:
    crs = load_profile(profile_file).crs
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    return ClickedPoint(lon, lat)


# --------------------------------------------------------------------------------------
# Pages load
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("page", "title"), [(WALKS, "Trygghetsvandringar"),
                                             (ACTIONS, "Åtgärder")])
def test_page_loads_with_demo_notice(demo: Path, page: str, title: str) -> None:
    at = _ok(_app(page).run())
    assert at.title[0].value == title
    assert "Demo, ingen inloggning." in _texts(at.sidebar.info)


def test_every_walk_section_loads_and_a_plan_is_saved(demo: Path) -> None:
    at = _ok(_app(WALKS).run())
    for section in ("list", "plan"):       # record and import have their own tests
        _ok(at.radio(key="walk_section").set_value(section).run())
    _ok(at.button(key="plan_go").click().run())
    assert not at.error, _texts(at.error)
    assert at.metric[1].label == "Stopp" and int(at.metric[1].value) >= 2
    _ok(at.form_submit_button(key="plan_submit").click().run())
    with _store(demo) as store:
        walks = store.walks()
        assert len(walks) == 1
        walk = store.get_walk(str(walks.index[0]))
    assert walk.state.label == "planerad" and walk.school == "Strömstiernaskolan"
    assert len(walk.stops) >= 2 and walk.route is not None
    # The new walk is selected, and its protocol can be downloaded.
    assert at.selectbox(key="walk_current").value == walk.id
    assert at.get("download_button")
    assert "Internt protokoll" not in _texts(at.warning)
    _ok(at.toggle(key="proto_internal").set_value(True).run())  # the staff version
    assert "Internt protokoll: dela det inte" in _texts(at.warning)


# --------------------------------------------------------------------------------------
# Recording findings
# --------------------------------------------------------------------------------------

def _record(click: ClickedPoint, category: str, description: str) -> AppTest:
    at = _app(WALKS)
    at.session_state["walk_section"] = "record"
    at.session_state["walk_click"] = click       # what a map click leaves in the state
    _ok(at.run())
    at.selectbox(key="rec_category").set_value(category)
    at.radio(key="rec_severity").set_value(3)
    at.text_area(key="rec_description").input(description)
    at.text_area(key="rec_note").input("Intern: ring driften")
    return _ok(at.form_submit_button(key="rec_submit").click().run())


def test_click_and_form_create_a_finding(demo: Path) -> None:
    with _store(demo) as store:
        before = store.findings()
        school = store.findings().geometry.iloc[0]
    x, y = school.x + 400.0, school.y + 300.0   # away from the demo findings
    at = _record(_lonlat(demo, x, y), "trygg/positiv plats",
                 "Fin ny <b>plats</b>")
    assert not at.error, _texts(at.error)
    assert "sparat" in _texts(at.success)
    with _store(demo) as store:
        after = store.findings()
    new = after.loc[after.index.difference(before.index)]
    assert len(new) == 1
    row = new.iloc[0]
    assert row["description"] == "Fin ny <b>plats</b>"
    assert row["internal_note"] == "Intern: ring driften"
    assert row["severity"] == 3 and row["channel"] == "app"
    assert row.geometry.x == pytest.approx(x, abs=0.01)
    assert row.geometry.y == pytest.approx(y, abs=0.01)
    assert at.session_state["walk_click"] is None      # the form is ready for the next one


def test_duplicate_is_linked_instead_of_added(demo: Path) -> None:
    with _store(demo) as store:
        f = store.findings()
        target = f[(f["category"] == "vegetation/buskage") & (f["state_label"] == "ny")].iloc[0]
        target_id = str(target.name)
        history_before = len(store.history(target_id))
    p = target.geometry
    at = _record(_lonlat(demo, p.x + 10, p.y), "vegetation/buskage",
                 "Buskarna skymmer sikten")
    assert "inom 50 m" in _texts(at.warning)
    _ok(at.radio(key="rec_link_target").set_value(target_id).run())
    _ok(at.button(key="rec_link").click().run())
    with _store(demo) as store:
        assert len(store.findings()) == len(f)                     # nothing added
        history = store.history(target_id)
    assert len(history) == history_before + 1
    assert "Buskarna skymmer sikten" in history[-1].note


def _jpeg_with_gps(lat: float, lon: float) -> bytes:
    def dms(v: float) -> tuple[float, float, float]:
        d, m = int(v), (v - int(v)) * 60
        return float(d), float(int(m)), round((m - int(m)) * 60, 4)

    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", dms(lat)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", dms(lon)
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_photo_without_click_proposes_its_exif_position(demo: Path) -> None:
    at = _app(WALKS)
    at.session_state["walk_section"] = "record"
    _ok(at.run())
    assert "Klicka på kartan" in _texts(at.warning)
    data = _jpeg_with_gps(58.9373, 11.1720)
    at.file_uploader(key="rec_photo_upload").set_value(("../IMG_1.JPG", data, "image/jpeg"))
    _ok(at.run())
    assert "fotots GPS" in _texts(at.info)
    at.selectbox(key="rec_category").set_value("trygg/positiv plats")
    _ok(at.form_submit_button(key="rec_submit").click().run())
    assert not at.error, _texts(at.error)
    with _store(demo) as store:
        f = store.findings()
    row = f[f["channel"] == "app"].iloc[0]
    assert row["photos"] == [hashlib.sha256(data).hexdigest()]
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3007", always_xy=True).transform(
        11.1720, 58.9373)
    assert row.geometry.distance(Point(x, y)) < 1.0


def _three_stop_plan() -> WalkPlan:
    """A plan with three stops on a straight 200 m route (EPSG:3007)."""
    stops = gpd.GeoDataFrame(
        {"stop_no": [1, 2, 3], "kind": ["start", "segment", "finding"],
         "reason": ["Skolan", "Mörk gångväg", "Trasig lampa"], "segment_id": [None] * 3,
         "finding_id": [None] * 3, "distance_along_m": [0.0, 100.0, 200.0]},
        geometry=[Point(0, 0), Point(100, 0), Point(200, 0)], crs="EPSG:3007")
    return WalkPlan(route=LineString([(0, 0), (200, 0)]), length_m=200.0, stops=stops,
                    school="Skolan", light="mörker", target_length_m=200.0, source="ranking")


def test_edited_stops_drop_and_reorder() -> None:
    plan = _three_stop_plan()
    table = pd.DataFrame({"order": [1, 3, 2], "keep": [True, False, True],
                          "kind": ["", "", ""], "label": ["Start", "x", "Lampan"],
                          "along_m": [0, 100, 200]})
    out = edited_stops(plan, table)
    assert [s.label for s in out] == ["Start", "Lampan"]
    assert [s.point.x for s in out] == [0.0, 200.0]


def test_edited_stops_are_rerouted_and_saved_so() -> None:
    """Reordering or removing stops reroutes the plan (the saved walk gets the new route);
    the plan's own stops keep its route; a failed reroute keeps it and says why."""
    from ui.page_walks import rerouted
    from walks.model import Stop
    from walks.planning import Reroute

    plan = _three_stop_plan()
    stops = plan.stops
    asked: list[tuple[tuple[float, float], ...]] = []

    def reroute(xy: tuple[tuple[float, float], ...]) -> Reroute:
        asked.append(xy)
        line = LineString([*xy, xy[0]])
        return Reroute(route=line, length_m=line.length, along_m=(0.0,) * len(xy))

    own = tuple(Stop(g, "") for g in stops.geometry)
    same, note = rerouted(plan, own, reroute)
    assert same is plan and note is None and asked == []
    swapped = (own[0], own[2], own[1])
    new, note = rerouted(plan, swapped, reroute)
    assert asked == [((0.0, 0.0), (200.0, 0.0), (100.0, 0.0))]
    assert list(new.route.coords) == [(0, 0), (200, 0), (100, 0), (0, 0)]
    assert new.length_m == 400.0 and note is not None and "400 m" in note

    def fails(xy: tuple[tuple[float, float], ...]) -> Reroute:
        raise ValueError("stop 2 cannot be reached")

    kept, note = rerouted(plan, swapped, fails)
    assert kept is plan and note is not None and "stop 2 cannot be reached" in note


def test_click_outside_the_municipality_is_refused(demo: Path) -> None:
    with _store(demo) as store:
        n = len(store.findings())
    at = _record(ClickedPoint(18.07, 59.33), "belysning", "Stockholm")
    assert "utanför kommunen" in _texts(at.error)
    with _store(demo) as store:
        assert len(store.findings()) == n


def test_import_preview_then_commit(demo: Path, tmp_path: Path) -> None:
    with _store(demo) as store:
        n = len(store.findings())
    at = _ok(_app(WALKS).run())
    _ok(at.radio(key="walk_section").set_value("import").run())
    at.file_uploader(key="imp_upload").set_value(
        ("../../fynd.csv", FIXTURE_CSV.read_bytes(), "text/csv"))
    _ok(at.run())
    assert len(at.dataframe[0].value) == 3                  # the preview, nothing stored
    with _store(demo) as store:
        assert len(store.findings()) == n
    _ok(at.button(key="imp_commit").click().run())
    with _store(demo) as store:
        assert len(store.findings()) == n + 3
    uploaded = tmp_path / "uploads"  # UPLOAD_DIR of the demo fixture
    assert uploaded.is_dir()
    assert [p for p in uploaded.rglob("*")] == []  # the upload was removed after use
    assert "Importen är klar" in _texts(at.success)


def test_upload_is_saved_under_its_content_hash(tmp_path: Path) -> None:
    saved = save_upload(b"x;y\n", "../../../etc/passwd.CSV", tmp_path)
    assert saved is not None and saved.parent == tmp_path
    assert saved.name.endswith(".csv") and len(saved.stem) == 64
    assert save_upload(b"x", "evil.exe", tmp_path) is None


def test_click_payload_is_parsed_at_once() -> None:
    assert ClickedPoint.from_payload({"last_clicked": {"lat": 58.9, "lng": 371.2}}) == \
        ClickedPoint(pytest.approx(11.2), 58.9)  # type: ignore[arg-type]
    assert ClickedPoint.from_payload({"last_clicked": None}) is None
    assert ClickedPoint.from_payload(None) is None
    p = ClickedPoint(11.17, 58.94).to_point("EPSG:3007")
    assert 50_000 < p.x < 200_000 and 6_400_000 < p.y < 6_700_000      # easting, northing


# --------------------------------------------------------------------------------------
# Triage
# --------------------------------------------------------------------------------------

def _select_new_finding(demo: Path) -> tuple[AppTest, str]:
    with _store(demo) as store:
        f = store.findings()
    fid = str(f[(f["category"] == "skadegörelse/klotter/nedskräpning")
                & (f["state_label"] == "ny")].index[0])
    at = _app(ACTIONS)
    at.session_state["act_finding"] = fid
    _ok(at.run())
    assert at.selectbox(key="act_finding").value == fid
    return at, fid


def test_triage_sets_state_and_adds_history(demo: Path) -> None:
    at, fid = _select_new_finding(demo)
    with _store(demo) as store:
        n_before = len(store.history(fid))
    at.selectbox(key="act_state").set_value("bedömd")
    at.text_area(key="act_measure").input("Sanera klottret")
    at.date_input(key="act_deadline").set_value(date.today() + timedelta(days=30))
    at.text_input(key="act_note").input("Bedömd på plats")
    _ok(at.form_submit_button(key="act_submit").click().run())
    assert "sparad" in _texts(at.success)
    with _store(demo) as store:
        f = store.get_finding(fid)
        history = store.history(fid)
    assert f.state.label == "bedömd" and f.measure == "Sanera klottret"
    assert f.deadline == date.today() + timedelta(days=30)
    assert len(history) == n_before + 2           # the fields, then the state
    assert history[-1].state_after == "bedömd" and history[-1].author_role == "staff"
    assert len(_frame_with(at, "Roll")) == n_before + 2          # the history table


def test_closing_without_reason_is_refused(demo: Path) -> None:
    at, fid = _select_new_finding(demo)
    with _store(demo) as store:
        version = store.get_finding(fid).version
    at.selectbox(key="act_state").set_value("avslutad utan åtgärd")
    _ok(at.form_submit_button(key="act_submit").click().run())
    assert "Ange ett skäl" in _texts(at.error)
    with _store(demo) as store:
        assert store.get_finding(fid).version == version


def test_conflict_is_shown_not_overwritten(demo: Path) -> None:
    at, fid = _select_new_finding(demo)
    with _store(demo) as store:          # someone else saves first
        other = store.get_finding(fid)
        store.update_finding(fid, other.version, measure="Annans åtgärd", note="annan")
    at.text_area(key="act_measure").input("Min åtgärd")
    _ok(at.form_submit_button(key="act_submit").click().run())
    assert "Någon annan har ändrat fyndet" in _texts(at.error)
    with _store(demo) as store:
        assert store.get_finding(fid).measure == "Annans åtgärd"


def test_overdue_findings_are_shown_first(demo: Path) -> None:
    with _store(demo) as store:
        f = store.findings()
        opened = f[f["state_type"] == "open"].index
        store.update_finding(str(opened[0]), int(f.loc[opened[0], "version"]),
                             deadline=date.today() - timedelta(days=3))
        store.update_finding(str(opened[1]), int(f.loc[opened[1], "version"]),
                             deadline=date.today() + timedelta(days=3))
        f = store.findings()
    assert overdue_mask(f, date.today()).tolist() == [i == opened[0] for i in f.index]
    at = _ok(_app(ACTIONS).run())
    assert "1 öppna fynd har passerat sitt slutdatum" in _texts(at.error)
    assert len(at.dataframe[0].value) == 1               # the overdue table comes first
    assert _frame_with(at, "Försenad").iloc[0, 0] == "⚠"  # and leads the triage table


# --------------------------------------------------------------------------------------
# Login
# --------------------------------------------------------------------------------------

def test_password_login_refuses_a_wrong_password(demo: Path) -> None:
    at = _app(WALKS)
    at.secrets["trygga"] = {"password_hash": hash_password("rätt lösenord 123", n=2**10)}
    _ok(at.run())
    assert at.title[0].value == "Inloggning för personal"
    assert at.text_input(key="auth_password").proto.type == 1          # PASSWORD
    at.text_input(key="auth_password").input("fel")
    _ok(at.form_submit_button(key="auth_submit").click().run())
    assert "Fel lösenord." in _texts(at.error)
    assert "Trygghetsvandringar" not in [t.value for t in at.title]
    at.text_input(key="auth_password").input("rätt lösenord 123")
    _ok(at.form_submit_button(key="auth_submit").click().run())
    assert at.title[0].value == "Trygghetsvandringar"
    assert at.session_state["auth_role"] == "staff"


def test_real_data_without_secrets_is_refused(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYGGA_PROFILE", str(_profile_copy(tmp_path, demo=False)))
    at = _ok(_app(ACTIONS).run())
    assert "python -m ui.auth hash" in _texts(at.error)
    assert not at.title or at.title[0].value != "Åtgärder"


def test_password_hash_round_trip() -> None:
    h = hash_password("korrekt häst", n=2**10)
    assert verify_password("korrekt häst", h) and not verify_password("fel", h)
    with pytest.raises(ValueError, match="python -m ui.auth hash"):
        verify_password("x", "md5$abc")
