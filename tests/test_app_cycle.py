"""AppTest: the follow-up cycle in the app: the walk cycle on Trygghetsvandringar (overdue
protocol, förmöte and feedback meeting, a follow-up walk), a lamp fault recorded against the
nearest luminaire, the fault list on Åtgärder, and a resident's "not fixed" on the public
page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from _server import APP, temp_profile
from pyproj import Transformer
from shapely.geometry import LineString, Point
from streamlit.testing.v1 import AppTest

from layers import load_profile
from ui.page_walks import ClickedPoint, nearest_luminaires
from walks import model as m
from walks.service import open_store

ROOT = Path(__file__).resolve().parents[1]
WALKS = str(ROOT / "ui" / "pages" / "vandringar.py")
ACTIONS = str(ROOT / "ui" / "pages" / "atgarder.py")


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = temp_profile(tmp_path / "prof")
    monkeypatch.setenv("TRYGGA_PROFILE", str(path))
    monkeypatch.delenv("TRYGGA_MODE", raising=False)
    monkeypatch.delenv("TRYGGA_STORE", raising=False)
    return path


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_walk_cycle_section(profile: Path) -> None:
    with open_store(load_profile(profile)) as store:
        x, y = store.findings().geometry.iloc[0].coords[0]
        w = store.add_walk(m.Walk(id="kv-2024", title="Kvällsvandring", light="mörker",
                                  start=datetime(2024, 10, 1, 16, tzinfo=UTC),
                                  route=LineString([(x, y), (x + 200, y)])))
        store.set_walk_state(w.id, 1, "genomförd")
    at = AppTest.from_file(WALKS, default_timeout=90)
    at.session_state["walk_section"] = "cycle"
    at.session_state["walk_current"] = "kv-2024"
    _ok(at.run())
    assert any("inte publicerade inom 4 veckor" in str(e.value) for e in at.error)
    at.date_input(key="cyc_pre").set_value(datetime(2024, 9, 20).date())
    at.multiselect(key="cyc_invited").set_value(["boende", "unga"])
    at.text_input(key="cyc_focus").input("belysning vid skolan")
    _ok(at.form_submit_button(key="cyc_save").click().run())
    with open_store(load_profile(profile)) as store:
        got = store.get_walk("kv-2024")
    assert got.invited == ("boende", "unga") and got.focus == "belysning vid skolan"
    assert got.premeeting_at is not None and got.premeeting_at.date().isoformat() == "2024-09-20"
    at.date_input(key="cyc_follow_date").set_value(datetime(2024, 11, 12).date())
    _ok(at.form_submit_button(key="cyc_follow_btn").click().run())
    with open_store(load_profile(profile)) as store:
        follow = store.get_walk("kv-2024-uppfoljning-2024-11-12")
    assert follow.follows == "kv-2024" and follow.route == got.route


def test_lamp_fault_against_the_nearest_luminaire_and_the_fault_list(profile: Path) -> None:
    prof = load_profile(profile)
    from layers.loader import load_layers

    lum = load_layers(prof).luminaires
    target = lum.geometry.iloc[0]
    near = nearest_luminaires(lum, Point(target.x + 3, target.y + 4))
    first = next(iter(near))
    assert first == str(lum.index[0]) and " · 5 m" in near[first]
    lon, lat = Transformer.from_crs(prof.crs, "EPSG:4326", always_xy=True).transform(
        target.x + 3, target.y + 4)
    at = AppTest.from_file(WALKS, default_timeout=90)
    at.session_state["walk_section"] = "record"
    at.session_state["walk_click"] = ClickedPoint(lon, lat)
    _ok(at.run())
    at.selectbox(key="rec_category").set_value("belysning")
    at.text_area(key="rec_description").input("Lampan är släckt")
    at.selectbox(key="rec_lamp").set_value(first)
    _ok(at.form_submit_button(key="rec_submit").click().run())
    with open_store(prof) as store:
        f = store.findings()
    assert f.loc[f["description"] == "Lampan är släckt", "luminaire_id"].tolist() == [first]
    actions = _ok(AppTest.from_file(ACTIONS, default_timeout=90).run())
    assert any(e.label.startswith("Felanmälda armaturer (1)") for e in actions.expander)
    assert any(b.label.startswith("Felanmälningslista") for b in actions.get("download_button"))


def test_resident_says_not_fixed_on_the_public_page(profile: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    at.switch_page("ui/pages/offentlig.py").run()
    _ok(at)
    fid = at.selectbox(key="pub_nf_pick").value
    at.text_input(key="pub_nf_comment").input("Blinkar fortfarande")
    _ok(at.form_submit_button(key="pub_nf_send").click().run())
    assert any("Tack!" in str(s.value) for s in at.success)
    with open_store(load_profile(profile)) as store:
        got = store.get_finding(fid)
        last = store.history(fid)[-1]
    assert got.not_fixed_reports == 1 and got.state.is_fixed()
    assert (last.author_role, last.note) == ("public", "invånare: inte åtgärdat — "
                                                       "Blinkar fortfarande")
    _ok(at.form_submit_button(key="pub_nf_send").click().run())  # the same again
    assert any("redan" in str(i.value) for i in at.info)
    with open_store(load_profile(profile)) as store:
        assert store.get_finding(fid).not_fixed_reports == 1


def test_app_ranking_counts_a_reported_lamp_as_dark(profile: Path) -> None:
    from layers.loader import load_layers
    from ui.page_public import store_token
    from ui.st_cache import inputs_key, st_lamp_fault_ids, st_ranking

    prof = load_profile(profile)
    lum = load_layers(prof).luminaires
    lamp = str(lum.index[lum["operating"].astype(str).eq("in_service")][0])
    at = _ok(AppTest.from_file(str(APP), default_timeout=90).run())  # the map page
    with open_store(prof) as store:
        store.add_finding(m.Finding(id=m.new_id(), geometry=lum.geometry.loc[lamp],
                                    created=datetime.now(UTC), category="belysning",
                                    description="Släckt", channel="felanmälan",
                                    luminaire_id=lamp))
    faults = st_lamp_fault_ids(str(profile), store_token(profile))
    assert faults == (lamp,)
    key = inputs_key(profile)
    weights = tuple(sorted(vars(prof.weights).items()))
    base = st_ranking(str(profile), key, weights, prof.lighting.school_class)
    dark = st_ranking(str(profile), key, weights, prof.lighting.school_class, faults)
    assert (dark.summary(prof)["luminaires_out_of_service"]
            == base.summary(prof)["luminaires_out_of_service"] + 1)
    _ok(at.run())  # the page reranks with the fault, without errors


def test_app_ranking_scores_open_findings_as_trygga_rank_does(profile: Path) -> None:
    """The map page's ranking gets the store's open findings, so its findings component
    (and every score) equals the command line's ``rank(findings=open_findings(store))``."""
    from gis.ranking import rank
    from layers.loader import load_layers
    from ui.page_public import store_token
    from ui.st_cache import inputs_key, st_open_findings, st_ranking, st_route_counts
    from walks.service import open_findings

    prof = load_profile(profile)
    layers = load_layers(prof)
    with open_store(prof) as store:
        expected = open_findings(store)
    assert len(expected) > 0  # the demo store has open findings
    rows = st_open_findings(str(profile), store_token(profile))
    assert len(rows) == len(expected)
    key = inputs_key(profile)
    weights = tuple(sorted(vars(prof.weights).items()))
    got = st_ranking(str(profile), key, weights, prof.lighting.school_class, (), rows).segments
    cli = rank(layers.paths, layers.luminaires, layers.schools, layers.crossings,
               layers.priority_areas, prof, findings=expected,
               route_counts=st_route_counts(str(profile), key),
               origins=layers.route_origins(), walkable=layers.walkable).segments
    assert got["findings_count"].sum() > 0
    assert got["findings_count"].equals(cli["findings_count"])
    assert got["c_findings"].to_numpy() == pytest.approx(cli["c_findings"].to_numpy())
    assert list(got.index) == list(cli.index)  # the same order, ties included
    none = st_ranking(str(profile), key, weights, prof.lighting.school_class).segments
    assert none["findings_count"].sum() == 0  # without them the component is empty
