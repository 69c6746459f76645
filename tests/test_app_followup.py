"""AppTest: the Uppföljning page shows every promise with its milestones, the joint
section, records a milestone, and works for Tanum (joint promises only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from promises.milestones import MilestoneLog

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "ui" / "pages" / "uppfoljning.py")


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
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["followup_year"] = 2024
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_followup_page_lists_every_promise_and_records_a_milestone(tmp_path, monkeypatch):
    profile = _copy(tmp_path / "s", "stromstad")
    at = _run(profile, monkeypatch)
    table = next(d.value for d in at.dataframe if "Detaljer" in d.value.columns)
    assert len(table) == 21
    row = table.loc[table["Löfte"].str.startswith("Strömstads kommun ska som arbetsgivare")]
    assert row["Status"].item() == "uppfyllt"
    assert "2024-10-16 genomfört: Vägledningen antagen" in row["Detaljer"].item()
    joint = [d.value for d in at.dataframe if "Detaljer" not in d.value.columns
             and "Löfte" in d.value.columns]
    assert len(joint) == 1 and joint[0]["Löfte"].str.contains("Tanums kommun").all()
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
    saved = MilestoneLog(tmp_path / "s" / "milstolpar.csv").milestones()
    assert [(m.promise_id, m.step, m.note) for m in saved
            if m.promise_id == "tidig-upptackt"] == [("tidig-upptackt", "påbörjat",
                                                      "Arbetsgrupp startad.")]


def test_followup_page_for_tanum_shows_the_joint_promise(tmp_path, monkeypatch):
    profile = _copy(tmp_path / "t", "tanum")
    at = _run(profile, monkeypatch)
    table = next(d.value for d in at.dataframe if "Detaljer" in d.value.columns)
    assert table["Löfte"].tolist() == [
        "Utveckla samverkan mellan Strömstads kommun och Tanums kommun kring det "
        "trygghetsskapande- och brottsförebyggande arbetet i gemensamma frågor."]
    assert table["Status"].tolist() == ["uppfyllt"]
