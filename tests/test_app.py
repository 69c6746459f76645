"""AppTest: every page of the app runs on the demo data and says that it is demo data."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


@pytest.fixture(scope="module", autouse=True)
def _demo_copy(tmp_path_factory: pytest.TempPathFactory):
    """The pages run on a temporary copy of the demo profile, so the store and the
    activity log they create on first use are not written into ``data/stromstad``."""
    from _server import temp_profile

    profile = temp_profile(tmp_path_factory.mktemp("app"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRYGGA_PROFILE", str(profile))
        yield profile


def _run(page: str | None = None, **env) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    if page:
        at.switch_page(page)
    return at.run()


def test_map_page_is_default_and_shows_demo_notice():
    at = _run()
    assert not at.exception, at.exception
    assert any("Demodata" in w.value for w in at.warning)
    assert at.title[0].value == "Karta & prioritering"
    # Lazy tabs: the overview opens first; a table runs only when its tab is open.
    assert [tb.label for tb in at.tabs] == ["Översikt", "Segment", "Åtgärdspaket",
                                            "LED-byten"]
    assert len(at.dataframe) == 0
    assert at.metric[0].label == "km obelyst nära skola"
    # the overview says where the school routes start: the demo's homes
    assert any("räknade från 3\u202f190 bostadshus" in c.value for c in at.caption)
    for label, first_col in (("Segment", "Rang"), ("Åtgärdspaket", "Rang"),
                             ("LED-byten", "Prioritet")):
        at.session_state["map_tab"] = label
        at.run()
        assert not at.exception, at.exception
        assert len(at.dataframe) == 1
        assert at.dataframe[0].value.columns[0] == first_col


def test_weights_change_the_ranking():
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["map_tab"] = "Segment"
    at.run()
    before = at.dataframe[0].value.iloc[:20, 1].tolist()
    at.slider(key="w_school").set_value(0.0)
    at.slider(key="w_lighting_status").set_value(5.0)
    at.run()
    assert not at.exception
    after = at.dataframe[0].value.iloc[:20, 1].tolist()
    assert before != after


def test_english_toggle():
    at = _run()
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Map & priorities"


@pytest.mark.parametrize("page", ["ui/pages/uppfoljning.py", "ui/pages/lager.py"])
def test_other_pages_load(page):
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception


def test_public_mode_hides_staff_pages(monkeypatch):
    monkeypatch.setenv("TRYGGA_MODE", "public")
    at = _run()
    assert not at.exception
    assert at.title[0].value == "Offentlig karta"
    # The staff pages are not registered at all, so no URL or switch can reach them.
    with pytest.raises(ValueError, match=r"Known pages: \['.*offentlig\.py', "
                                         r"'.*uppfoljning\.py'\]"):
        at.switch_page("ui/pages/karta.py")
    for staff_page in ("vandringar", "atgarder", "lager"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"ui/pages/{staff_page}.py")
    # Session-state tricks do not register it either.
    at.session_state["lang"] = "en"
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("ui/pages/karta.py")


def test_map_tables_send_200_rows_by_default_and_all_on_request():
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["map_tab"] = "Segment"
    at.run()
    seg = at.dataframe[0].value
    assert len(seg) == 200
    assert any("200 av" in c.value for c in at.caption)
    at.selectbox(key="table_rows_seg").set_value(0).run()
    assert not at.exception
    assert len(at.dataframe[0].value) > 200
    assert not any("200 av" in c.value for c in at.caption)


def test_lux_overlay_toggle_and_darkness_table():
    at = _run()
    html_blocks = [h.proto.body for h in at.get("html")]
    assert any("trygga-darkness" in b and "<th scope=\"row\"" in b for b in html_blocks)
    def map_script() -> str:
        return at.get("component_instance")[0].proto.json_args

    assert "data:image/png;base64," not in map_script()
    assert "data-trygga-lines" in map_script()          # the canvas segment layer
    box = next(c for c in at.sidebar.checkbox if c.label == "Visa belysningsmodell (lux)")
    box.check().run()
    assert not at.exception, at.exception
    assert "data:image/png;base64," in map_script()
    assert "Modellerad belysning" in map_script()       # its legend


def test_map_page_shows_commute_darkness_per_school():
    at = _run()
    assert not at.exception, at.exception
    assert any(e.label == "Mörk skolväg per skola (timmar per skoldag)" for e in at.expander)
    from lxml import html as lxml_html

    block = next(h.proto.body for h in at.get("html") if "trygga-school-darkness" in h.proto.body)
    table = lxml_html.fromstring(block)
    head = [th.text_content() for th in table.findall(".//thead//th")]
    assert head[:3] == ["Skola", "Skoldag", "jan"] and head[-1] == "dec"
    rows = {tr.findtext("th"): [td.text_content() for td in tr.findall("td")]
            for tr in table.findall(".//tbody/tr")}
    assert len(rows) == 7 and rows["Bojarskolan"][0] == "08:20–14:40"
    assert float(rows["Bojarskolan"][6]) == 0.0 and float(rows["Bojarskolan"][12]) > 0


def test_led_table_follows_its_stated_order():
    """gis.led's rule: mercury first, then high-pressure sodium near a school, a crossing or
    in a priority area, then other sodium, then the rest; the table keeps that order."""
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["map_tab"] = "LED-byten"
    at.session_state["table_rows_led"] = 0
    at.run()
    assert not at.exception, at.exception
    df = at.dataframe[0].value
    assert list(df.columns[:6]) == ["Prioritet", "Armatur-id", "Gata eller plats",
                                    "Ljuskälla", "Effekt i dag (W)", "Effekt med LED (W)"]
    assert df["Prioritet"].tolist() == list(range(1, len(df) + 1))
    src = df["Ljuskälla"]
    reason = df["Motivering"]
    near = reason.str.contains(", nära skola|, vid övergångsställe|, i ", regex=True)
    tier = (src.eq("Kvicksilver").map({True: 1, False: 0})
            .where(src.eq("Kvicksilver"),
                   src.eq("Högtrycksnatrium").map({True: 3, False: 4}) - near.astype(int)
                   * src.eq("Högtrycksnatrium").astype(int)))
    assert sorted(set(tier)) == [1, 2, 3, 4]
    assert tier.is_monotonic_increasing
    # a street or place for almost every luminaire, and savings with Swedish thousands
    assert df["Gata eller plats"].ne("").mean() > 0.9
    assert df["Besparing (kWh/år)"].str.fullmatch(r"\d{1,3}(\u202f\d{3})*").all()


def test_followup_page_in_english_translates_headers_and_statuses():
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.switch_page("ui/pages/uppfoljning.py").run()
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Follow-up"
    import re

    page = next(m.value for m in at.markdown if 'class="trygga-promises"' in m.value)
    heads = re.findall(r'<th scope="col">([^<]*)</th>', page)
    assert heads[:4] == ["Promise", "Area", "Responsible", "Target"]
    statuses = set(re.findall(r'<td data-label="Status">([^<]*)</td>', page))
    assert statuses <= {"met", "done", "partly met", "not met", "not done", "ongoing",
                        "started", "not started", "no data"}, statuses
    assert "done" in statuses  # promises without a target: never "met"/"uppfyllt"
    assert {m.label for m in at.metric} >= {"Km with better lighting", "Median days to fix"}


def test_package_table_says_where_why_and_how_much():
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["map_tab"] = "Åtgärdspaket"
    at.run()
    assert not at.exception, at.exception
    df = at.dataframe[0].value
    assert list(df.columns) == [
        "Rang", "Gata eller plats", "Närmaste skola", "Avstånd till skola (m)",
        "Prioriterat område", "Status", "Belysning i medel (lx)", "Längd (m)",
        "Nya ljuspunkter (st)", "Kostnad (kr)", "Rang efter nytta per krona", "Motivering"]
    assert df["Rang"].tolist()[:5] == [1, 2, 3, 4, 5]
    assert df["Närmaste skola"].ne("").all()
    assert df["Gata eller plats"].ne("").mean() > 0.9
    # 56 000 kr per new light point (the profile), written the Swedish way
    first = df.iloc[0]
    assert first["Kostnad (kr)"] == f"{first['Nya ljuspunkter (st)'] * 56:d}\u202f000"
    assert set(df["Status"]) <= {"Obelyst", "Underbelyst", "Gammal teknik (Hg/HPS)",
                                 "Tillräckligt belyst", "Okänd"}
