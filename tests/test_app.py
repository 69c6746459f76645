"""The Streamlit app starts on the demo data and says that it is demo data."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def test_app_lists_layers_with_demo_notice():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("Demodata" in w.value for w in at.warning)
    table = at.dataframe[0].value
    assert list(table["lager"]) == ["boundary", "paths", "luminaires", "schools", "crossings",
                                    "priority_areas"]
    assert (table["antal"] > 0).all()
    assert set(table["CRS"]) == {"EPSG:3007"}
