"""Moderation before publishing, proven for every public output, and who did what.

A resident's finding (a Survey123 form import) waits for a moderator: it must not reach the
public GeoJSON, the standalone public map, the yearly report or the public page until it is
approved; the moderation queue on Åtgärder approves it with an edited public text.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from _server import APP, temp_profile
from shapely.geometry import Point
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from layers import load_profile
from trygga_cli.main import app
from ui.auth import hash_password, local_accounts
from walks.service import open_store

ROOT = Path(__file__).resolve().parents[1]
ACTIONS = str(ROOT / "ui" / "pages" / "atgarder.py")
PUBLIC = "ui/pages/offentlig.py"
MARKER = "Lampan vid Anna Svenssons hus på Skolgatan 4 är trasig"
runner = CliRunner()


def _resident_report(profile: Path) -> str:
    """Import one resident's report (a Survey123 form) into the profile's store."""
    prof = load_profile(profile)
    with open_store(prof) as store:
        x, y = store.findings().geometry.iloc[0].coords[0]
        frame = gpd.GeoDataFrame({
            "source_id": ["survey123:4711"], "category": ["belysning"],
            "raw_category": ["Belysning"], "severity": pd.array([2], dtype="Int64"),
            "description": [MARKER], "internal_note": [""],
            "created": [pd.Timestamp(datetime(2024, 10, 1, 19, 0)).tz_localize(
                "Europe/Stockholm")],
            "photo_paths": [[]], "walk_id": [pd.NA], "channel": ["import:survey123"]},
            index=pd.Index(["2"]), geometry=[Point(x + 30, y + 30)], crs=prof.crs)
        rep = store.import_findings(frame, "formular.csv")
        assert rep.new == 1
        return rep.new_ids[0]


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = temp_profile(tmp_path / "prof")
    monkeypatch.setenv("TRYGGA_PROFILE", str(path))
    monkeypatch.delenv("TRYGGA_MODE", raising=False)
    monkeypatch.delenv("TRYGGA_STORE", raising=False)
    return path


def _outputs(profile: Path, tmp_path: Path) -> dict[str, str]:
    """Every public output as text: GeoJSON, standalone map, yearly report."""
    out: dict[str, str] = {}
    gj = tmp_path / "publik.geojson"
    r = runner.invoke(app, ["walks", "export-public", "--out", str(gj), "--profile",
                            str(profile)])
    assert r.exit_code == 0, r.output
    out["geojson"] = gj.read_text(encoding="utf-8")
    html = tmp_path / "karta" / "karta.html"
    html.parent.mkdir(exist_ok=True)
    r = runner.invoke(app, ["public-map", "--out", str(html), "--profile", str(profile)])
    assert r.exit_code == 0, r.output
    out["map"] = html.read_text(encoding="utf-8")
    rep = tmp_path / "rapport.html"
    r = runner.invoke(app, ["report", "--year", "2024", "--out", str(rep), "--profile",
                            str(profile), "--as-of", "2024-12-31"])
    assert r.exit_code == 0, r.output
    out["report"] = rep.read_text(encoding="utf-8")
    return out


def _public_page_text() -> str:
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    assert not at.exception, at.exception
    at.switch_page(PUBLIC).run()
    assert not at.exception, at.exception
    return "\n".join(str(e.value) for e in [*at.markdown, *at.caption, *at.dataframe])


def test_pending_finding_is_in_no_public_output_until_approved(
        profile: Path, tmp_path: Path) -> None:
    fid = _resident_report(profile)
    before = _outputs(profile, tmp_path / "before")
    for name, text in before.items():
        assert MARKER not in text and fid not in text, name
    assert MARKER not in _public_page_text()
    n_before = len(json.loads(before["geojson"])["features"])

    with open_store(load_profile(profile)) as store:
        store.moderate(fid, 1, "approve", public_text="Trasig lampa vid Skolgatan")
        assert store.get_finding(fid).description_original == MARKER  # kept for staff
    after = _outputs(profile, tmp_path / "after")
    features = json.loads(after["geojson"])["features"]
    assert len(features) == n_before + 1
    assert "Trasig lampa vid Skolgatan" in after["geojson"]
    assert "Trasig lampa vid Skolgatan" in after["map"]
    for text in after.values():
        assert MARKER not in text


def test_moderation_queue_on_the_actions_page(profile: Path) -> None:
    fid = _resident_report(profile)
    at = AppTest.from_file(ACTIONS, default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Väntar på moderering (1)" in e.label for e in at.expander)
    assert at.selectbox(key="mod_pick").value == fid
    at.text_area(key=f"mod_text_{fid}").input("Trasig lampa vid Skolgatan")
    at.form_submit_button(key="mod_approve").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Modereringen är sparad" in " ".join(str(s.value) for s in at.success)
    with open_store(load_profile(profile)) as store:
        f = store.get_finding(fid)
        hist = store.history(fid)
    assert (f.moderation, f.description, f.description_original) == (
        "approved", "Trasig lampa vid Skolgatan", MARKER)
    assert hist[-1].author_role == "moderator" and hist[-1].author_id == "demo"
    assert any("Väntar på moderering (0)" in e.label for e in at.expander)


def test_each_local_account_signs_its_own_changes(profile: Path) -> None:
    accounts = {"anna": hash_password("annas lösenord 1", n=2**10),
                "polis.berg": hash_password("bergs lösenord 2", n=2**10)}
    at = AppTest.from_file(ACTIONS, default_timeout=90)
    at.secrets["trygga"] = {"accounts": accounts}
    at.run()
    at.text_input(key="auth_username").input("anna")
    at.text_input(key="auth_password").input("bergs lösenord 2")  # the other's password
    at.form_submit_button(key="auth_submit").click().run()
    assert "Fel lösenord." in " ".join(str(e.value) for e in at.error)
    at.text_input(key="auth_username").input("polis.berg")
    at.text_input(key="auth_password").input("bergs lösenord 2")
    at.form_submit_button(key="auth_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["auth_user"] == "local:polis.berg"
    with open_store(load_profile(profile)) as store:
        f = store.findings()
    fid = str(f[f["state_label"] == "ny"].index[0])
    at.session_state["act_finding"] = fid
    at.run()
    at.text_area(key="act_measure").input("Polisen följer upp")
    at.form_submit_button(key="act_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with open_store(load_profile(profile)) as store:
        last = store.history(fid)[-1]
    assert (last.author_role, last.author_id) == ("staff", "local:polis.berg")


def test_local_accounts_from_secrets() -> None:
    h = hash_password("x" * 12, n=2**10)
    assert local_accounts({"password_hash": h}) == {"": h}
    assert local_accounts({"accounts": {"anna": h}, "password_hash": h}) == {"anna": h}
    with pytest.raises(ValueError, match="not a plain account name"):
        local_accounts({"accounts": {"anna svensson": h}})


def test_residents_not_fixed_reports_are_reviewed_on_the_actions_page(profile: Path) -> None:
    with open_store(load_profile(profile)) as store:
        f = store.findings()
        fid = str(f[(f["state_type"] == "fixed") & ~f["non_public"]].index[0])
        store.report_not_fixed(fid, "blinkar fortfarande")
    at = AppTest.from_file(ACTIONS, default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("inte åtgärdat” (1)" in e.label for e in at.expander)
    assert at.selectbox(key="nf_pick").value == fid
    at.form_submit_button(key="nf_reopen").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with open_store(load_profile(profile)) as store:
        got = store.get_finding(fid)
        last = store.history(fid)[-1]
    assert (got.state.label, got.not_fixed_reports) == ("bedömd", 0)
    assert last.note.startswith("återöppnad efter invånares rapport")


def test_failed_logins_are_throttled_before_the_password_is_checked(
        profile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.throttle import LoginThrottle

    throttle = LoginThrottle(clock=lambda: 1000.0)  # time stands still: no race
    monkeypatch.setattr("ui.auth.LOGIN_THROTTLE", throttle)
    calls = []
    import ui.auth as auth

    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password",
                        lambda pw, h: calls.append(1) or real(pw, h))
    at = AppTest.from_file(ACTIONS, default_timeout=90)
    at.secrets["trygga"] = {"accounts": {"anna": hash_password("annas lösenord 1", n=2**10)}}
    at.run()
    for i in range(5):
        at.text_input(key="auth_username").input("anna")
        at.text_input(key="auth_password").input(f"fel {i}")
        at.form_submit_button(key="auth_submit").click().run()
    errors = " ".join(str(e.value) for e in at.error)
    assert "För många misslyckade inloggningar. Försök igen om 1 s." in errors
    assert len(calls) == 4  # 3 free failures, a 4th that starts the delay; the 5th is
    # refused without hashing
    assert "auth_user" not in at.session_state
