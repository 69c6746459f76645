"""AppTest: Åtgärder shows the profile's deadlines and the responsibility suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app_followup import _copy

ROOT = Path(__file__).resolve().parents[1]
ACTIONS = str(ROOT / "ui" / "pages" / "atgarder.py")


def test_actions_page_shows_rule_deadlines_and_overdue(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRYGGA_PROFILE", str(_copy(tmp_path, "stromstad")))
    at = AppTest.from_file(ACTIONS, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    # the demo's findings are from 2024: every open one is past its category's limit
    section = next(e for e in at.expander if "passerat tidsgränsen i profilen" in e.label)
    assert section.label.startswith("12 öppna fynd")
    triage = next(d.value for d in at.dataframe if "Senast åtgärdat (regel)" in d.value.columns
                  and "Försenad" in d.value.columns)
    lighting = triage[triage["Kategori"] == "belysning"]
    assert set(lighting["Senast åtgärdat (regel)"]) <= {"2024-10-25", "2024-11-22"}
    assert "Förslag: ansvarig" in triage.columns
