"""AppTest: the Uppföljning page shows every promise with its milestones, the joint
section, records a milestone, and works for Tanum (joint promises only)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from layers import load_profile
from promises.milestones import open_milestone_log

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGE = "ui/pages/uppfoljning.py"


def _html_table(at: AppTest, css_class: str) -> pd.DataFrame:
    """The page's HTML table of class *css_class* (cards on a phone) as a frame."""
    block = next(m.value for m in at.markdown if f'class="{css_class}"' in m.value)
    return pd.read_html(io.StringIO(block))[0]


def _copy(folder: Path, kommun: str) -> Path:
    """The demo profile of *kommun* in *folder*, with its input paths made absolute."""
    src = (ROOT / "data" / kommun / "profile.toml").read_text(encoding="utf-8")
    src = src.replace('"boundary.geojson"', f'"{ROOT / "data" / kommun}/boundary.geojson"')
    src = src.replace('"../demo/', f'"{ROOT / "data" / "demo"}/')
    src = src.replace('"../stromstad/', f'"{ROOT / "data" / "stromstad"}/')
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "profile.toml"
    path.write_text(src, encoding="utf-8")
    return path


def _run(profile: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("TRYGGA_PROFILE", str(profile))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["followup_year"] = 2024
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_followup_page_lists_every_promise_and_records_a_milestone(tmp_path, monkeypatch):
    profile = _copy(tmp_path / "s", "stromstad")
    at = _run(profile, monkeypatch)
    table = _html_table(at, "trygga-promises")
    assert len(table) == 21
    row = table.loc[table["Löfte"].str.startswith("Strömstads kommun ska som arbetsgivare")]
    assert row["Status"].item() == "genomfört"  # a completed milestone; no number to fulfil
    assert "2024-10-16 genomfört: Vägledningen antagen" in row["Detaljer"].item()
    joint = _html_table(at, "trygga-joint")
    assert len(joint) == 1 and joint["Löfte"].str.contains("Tanums kommun").all()
    assert any(s.value.startswith("Gemensamma löften: Strömstad och Tanum")
               for s in at.subheader)
    # "åtgärdat i tid" and the commute darkness per school, as in the printed report
    assert any(c.value.startswith("Åtgärdat i tid: ") for c in at.caption)
    dark = next(d.value for d in at.dataframe if "Skoldag" in d.value.columns)
    assert len(dark) == 7 and "Bojarskolan" in dark["Skola"].tolist()
    # record a milestone for a promise that has none yet
    # the milestone form comes after the activity form (both have a "Löfte" list)
    form_select = [s for s in at.selectbox if s.label == "Löfte"][-1]
    assert all("(80)" not in str(o) for o in form_select.options)   # no numbered promises
    form_select.set_value(next(o for o in form_select.options if "tidig upptäckt" in str(o)))
    next(r for r in at.radio if r.label == "Steg").set_value("påbörjat")
    next(t for t in at.text_input if t.label.startswith("Offentlig notering")).input(
        "Arbetsgrupp startad.")
    at.button[[i for i, b in enumerate(at.button) if b.label == "Spara"][-1]].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    saved = open_milestone_log(load_profile(profile)).milestones()  # in the store
    assert [(m.promise_id, m.step, m.note) for m in saved
            if m.promise_id == "tidig-upptackt"] == [("tidig-upptackt", "påbörjat",
                                                      "Arbetsgrupp startad.")]


def test_followup_page_for_tanum_shows_the_joint_promise(tmp_path, monkeypatch):
    profile = _copy(tmp_path / "t", "tanum")
    at = _run(profile, monkeypatch)
    table = _html_table(at, "trygga-promises")
    assert table["Löfte"].tolist() == [
        "Utveckla samverkan mellan Strömstads kommun och Tanums kommun kring det "
        "trygghetsskapande- och brottsförebyggande arbetet i gemensamma frågor."]
    assert table["Status"].tolist() == ["genomfört"]
