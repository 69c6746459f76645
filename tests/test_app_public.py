"""AppTest: the residents' page "Offentlig karta" on a temporary copy of the demo store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _server import APP, INTERNAL_NOTES, NON_PUBLIC_TEXT, ROOT, seed_store, temp_profile
from google.protobuf import text_format
from streamlit.testing.v1 import AppTest

PAGE = "ui/pages/offentlig.py"
STAFF_PAGES = ("ui/pages/karta.py", "ui/pages/lager.py")
CAPTION = re.compile(r"<caption>[^<(]*\((\d+)\)</caption>")


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> Path:
    """A temporary demo profile whose store has one finding marked non-public."""
    path = temp_profile(tmp_path_factory.mktemp("public"))
    seed_store(path)
    return path


@pytest.fixture
def app_env(profile, monkeypatch) -> Path:
    monkeypatch.setenv("TRYGGA_PROFILE", str(profile))
    monkeypatch.delenv("TRYGGA_MODE", raising=False)
    return profile


def _public_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    assert not at.exception, at.exception
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _nodes(child)


def _rendered_text(at: AppTest) -> str:
    """Every element's protobuf as UTF-8 text: markdown, widgets and the map component."""
    parts = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            parts.append(text_format.MessageToString(proto, as_utf8=True))
    return "\n".join(parts)


def _table(at: AppTest) -> str:
    tables = [m.value for m in at.markdown if "trygga-public-list" in m.value]
    assert len(tables) == 1
    return tables[0]


def _count(at: AppTest) -> int:
    m = CAPTION.search(_table(at))
    assert m, _table(at)
    return int(m.group(1))


def _expected_view(profile: Path):
    from layers import load_profile
    from walks.public import public_view
    from walks.service import open_store

    prof = load_profile(profile)
    with open_store(prof) as store:
        return public_view(store.findings(include_hidden=False), categories=store.categories,
                           tz=prof.timezone)


def test_public_page_loads_on_the_demo(app_env):
    at = _public_page()
    assert at.title[0].value == "Offentlig karta"
    assert any("Demodata" in w.value for w in at.warning)
    view = _expected_view(app_env)
    assert 0 < len(view) < 20             # non-public finding left out
    assert _count(at) == len(view)
    assert [m.label for m in at.metric] == ["Andel LED-armaturer", "Armaturer med LED",
                                            "Kvar att byta till LED"]
    assert any("årsrapporten" in i.value for i in at.info)


def test_filters_narrow_the_list(app_env):
    view = _expected_view(app_env)
    at = _public_page()
    at.radio(key="pub_state").set_value("fixed").run()
    assert not at.exception
    n_fixed = int(view["state_type"].eq("fixed").sum())
    assert 0 < n_fixed < len(view)
    assert _count(at) == n_fixed
    assert "Inte åtgärdad ännu" not in _table(at)

    at.radio(key="pub_state").set_value("all")
    at.multiselect(key="pub_cats").set_value(["vegetation/buskage"]).run()
    assert _count(at) == int(view["category"].eq("vegetation/buskage").sum())

    at.multiselect(key="pub_cats").set_value([])
    years = at.selectbox(key="pub_year").options
    assert "2024" in years
    at.selectbox(key="pub_year").set_value("2024").run()
    assert _count(at) == int(view["date"].str.startswith("2024").sum())


def test_empty_filter_says_so(app_env):
    at = _public_page()
    at.radio(key="pub_state").set_value("fixed")
    at.multiselect(key="pub_cats").set_value(["gångväg/tillgänglighet"]).run()
    assert not [m for m in at.markdown if "trygga-public-list" in m.value]
    assert any("Inga synpunkter" in m.value for m in at.markdown)


def test_list_works_without_the_map(app_env):
    at = _public_page()
    at.toggle(key="pub_show_map").set_value(False).run()
    assert not at.exception
    assert "streamlit_folium" not in _rendered_text(at)
    assert _count(at) > 0


def test_no_internal_text_and_no_live_script(app_env):
    at = _public_page()
    at.toggle(key="pub_show_led").set_value(True).run()
    text = _rendered_text(at)
    assert "streamlit_folium" in text      # the map component is part of the checked text
    assert "Vaktmästaren" in " ".join(INTERNAL_NOTES)
    for note in INTERNAL_NOTES:
        assert note not in text
    assert NON_PUBLIC_TEXT not in text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _table(at)


def test_english_toggle(app_env):
    at = _public_page()
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Public map"
    assert "<th scope=\"col\">Description</th>" in _table(at)


def test_public_mode_registers_only_public_pages(app_env, monkeypatch):
    monkeypatch.setenv("TRYGGA_MODE", "public")
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    assert not at.exception, at.exception
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Offentlig karta"
    for page in STAFF_PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page|Known pages"):
            at.switch_page(page)
    # Session-state tricks register nothing either.
    at.session_state["lang"] = "en"
    at.session_state["page"] = STAFF_PAGES[0]
    at.run()
    assert not at.exception
    for page in STAFF_PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page|Known pages"):
            at.switch_page(page)


def test_public_led_layer_is_the_conversions_of_the_period():
    """Only luminaires converted to LED since the register's first inventory (82 in the
    demo, as the report counts them), not every LED luminaire."""
    import warnings

    from ui.page_public import st_converted_led
    from ui.st_cache import inputs_key

    profile = ROOT / "data" / "stromstad" / "profile.toml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        led = st_converted_led(str(profile), inputs_key(profile))
        from layers import load_profile
        from layers.loader import load_layers

        lum = load_layers(load_profile(profile)).luminaires
    assert led is not None
    assert len(led) == 82
    assert lum.loc[led.index, "light_source"].eq("LED").all()
    assert int(lum["light_source"].eq("LED").sum()) > 3 * len(led)


def test_cards_table_escapes_and_labels_every_cell():
    import pandas as pd

    from ui.html_tables import cards_table_html

    out = cards_table_html(pd.DataFrame({"Löfte": ["<b>x</b> & y"], "Mål (st)": [2]}),
                           "Löften", "trygga-promises")
    assert "\n" not in out
    assert '<td data-label="Löfte">&lt;b&gt;x&lt;/b&gt; &amp; y</td>' in out
    assert '<td data-label="Mål (st)">2</td>' in out
    assert "@media (max-width:640px)" in out and "td::before" in out
