"""The Brå/Boverket walk cycle: förmöte, walk, återkopplingsmöte, protocol on time, and a
follow-up walk compared with the earlier one (in the CLI and the yearly report)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from _server import temp_profile
from shapely.geometry import LineString, Point
from typer.testing import CliRunner

from layers import load_profile
from trygga_cli.main import app
from walks import model as m
from walks.backends.memory import MemoryBackend
from walks.cycle import compare_walks, decided_mask, walk_cycles
from walks.service import open_store
from walks.store import FindingStore

CRS_ = "EPSG:3007"
X0, Y0 = 102_000.0, 6_535_000.0
START = datetime(2024, 10, 1, 16, 0, tzinfo=UTC)  # 18:00 in Strömstad
runner = CliRunner()


def _walk(store: FindingStore, wid: str, **kw: object) -> m.Walk:
    return store.add_walk(m.Walk(id=wid, title=f"Vandring {wid}", start=START, light="mörker",
                                 route=LineString([(X0, Y0), (X0 + 300, Y0)]),
                                 stops=(m.Stop(Point(X0, Y0), "Start"),), **kw))  # type: ignore[arg-type]


def _finding(store: FindingStore, wid: str, i: int) -> m.Finding:
    return store.add_finding(m.Finding(id=m.new_id(), geometry=Point(X0 + 10 * i, Y0),
                                       created=START, category="belysning", walk_id=wid,
                                       description=f"Fynd {i}"))


def test_protocol_due_boundary_and_decided_findings() -> None:
    store = FindingStore(MemoryBackend(CRS_), actor_id="t")
    w = _walk(store, "a")
    f1, f2, f3 = (_finding(store, "a", i) for i in range(3))
    store.set_state(f1.id, 1, m.ATGARDAD, "klart", "staff")
    store.update_finding(f2.id, 1, measure="Byt armatur", responsible="kommun gata/park",
                         deadline="2024-12-01")
    store.update_finding(f3.id, 1, measure="Byt armatur")  # no who/when: undecided
    assert decided_mask(store.findings()).sum() == 2
    store.set_walk_state(w.id, 1, "genomförd")
    due = date(2024, 10, 29)  # 4 weeks after the walk (local date 2024-10-01)

    def row(today: date):  # type: ignore[no-untyped-def]
        return walk_cycles(store.walks(), store.findings(), today, protocol_weeks=4,
                           tz="Europe/Stockholm").loc["a"]
    assert row(due)["protocol_due"] == due and not row(due)["protocol_overdue"]
    late = row(due + timedelta(days=1))
    assert late["protocol_overdue"] and (late["findings"], late["decided"],
                                         late["undecided"]) == (3, 2, 1)
    store.set_walk_state(w.id, 2, "protokoll publicerat")
    done = row(due + timedelta(days=10))
    assert not done["protocol_overdue"] and done["protocol_published"] is not None
    planned = _walk(store, "b")
    assert not walk_cycles(store.walks(), store.findings(), due + timedelta(days=60)).loc[
        planned.id, "protocol_overdue"]  # a planned walk has no protocol yet


def test_follow_up_walk_compared_in_cli_and_report(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRYGGA_STORE", raising=False)
    prof_path = temp_profile(tmp_path / "prof")
    prof = load_profile(prof_path)
    with open_store(prof) as store:
        a = _walk(store, "skee-2024", invited=("boende", "unga"), focus="belysning")
        fs = [_finding(store, a.id, i) for i in range(5)]
        for f in fs[:2]:
            store.set_state(f.id, 1, m.ATGARDAD, "klart", "staff",
                            fixed_at=datetime(2024, 10, 20, tzinfo=UTC))
        store.set_state(fs[2].id, 1, m.AVSLUTAD_UTAN_ATGARD, "nej", "staff",
                        reason="privat mark", public_note="Privat mark.")
        store.set_walk_state(a.id, 1, "genomförd")
    common = ["--profile", str(prof_path)]
    r = runner.invoke(app, ["walks", "meeting", a.id, "--premeeting", "2024-09-20",
                            "--invite", "boende,unga,polis", "--focus", "belysning, skolväg",
                            *common])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["walks", "meeting", a.id, "--invite", "Anna Svensson", *common])
    assert r.exit_code == 2 and "unknown group" in r.output
    r = runner.invoke(app, ["walks", "cycle", *common])
    assert r.exit_code == 0 and "skee-2024" in r.output
    assert "FÖRSENAT" in r.output or "OVERDUE" in r.output  # held in 2024, never published
    r = runner.invoke(app, ["walks", "follow-up", a.id, "--when", "2024-11-12T18:00",
                            "--id", "skee-2024-b", *common])
    assert r.exit_code == 0, r.output
    with open_store(prof) as store:
        b = store.get_walk("skee-2024-b")
        assert (b.follows, b.route, b.invited) == (a.id, a.route, ("boende", "unga", "polis"))
        _finding(store, b.id, 9)
        store.set_walk_state(b.id, 1, "genomförd")
        c = compare_walks(store.walks(), store.findings(), b.id)
    assert (c.fixed, c.closed, c.remaining, c.new, c.total) == (2, 1, 2, 1, 5)
    assert c.remaining_by_category == {"belysning": 2}
    r = runner.invoke(app, ["walks", "compare", b.id, *common])
    assert r.exit_code == 0, r.output
    assert "2 av 5 fynd åtgärdade" in r.output or "2 of 5 findings fixed" in r.output
    r = runner.invoke(app, ["walks", "compare", a.id, *common])
    assert r.exit_code == 2 and "follows no earlier walk" in r.output
    rep = tmp_path / "rapport.html"
    r = runner.invoke(app, ["report", "--year", "2024", "--out", str(rep), "--as-of",
                            "2024-12-31", *common])
    assert r.exit_code == 0, r.output
    html = rep.read_text(encoding="utf-8")
    assert ("Uppföljning av ”Vandring skee-2024”: 2 av 5 fynd åtgärdade, 1 avslutade utan "
            "åtgärd, 2 kvar.") in html
