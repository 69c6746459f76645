"""Milestones of the promises without a number, and the joint Strömstad–Tanum promise."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from layers import ValidationError, load_profile
from promises.milestones import (
    NOTE_MAX_CHARS,
    Milestone,
    MilestoneLog,
    milestone_frame,
    milestone_log_path,
    open_milestone_log,
)
from promises.progress import (
    EJ_PABORJAT,
    GENOMFORT,
    PABORJAT,
    ProgressInputs,
    compute_progress,
    milestone_status,
    milestones_until,
)
from promises.register import load_register, load_register_for_profile
from promises.report import build_report, render_report_html
from walks.store import open_store

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "data" / "stromstad" / "profile.toml"
TANUM = ROOT / "data" / "tanum" / "profile.toml"
REGISTER = ROOT / "data" / "stromstad" / "medborgarloften_2023_2024.toml"


def _inputs(milestones: pd.DataFrame, activities: pd.DataFrame | None = None
            ) -> ProgressInputs:
    from layers.profile import Costs

    acts = activities if activities is not None else pd.DataFrame(
        {"date": [], "promise_id": [], "count": [], "place": [], "lat": [], "lon": [],
         "note": []})
    return ProgressInputs(walks=pd.DataFrame(), activities=acts, before=None, after=None,
                          costs=Costs(), milestones=milestones)


def test_nothing_recorded_is_never_met_even_after_the_year():
    reg = load_register(REGISTER)
    progress = {p.promise.id: p for p in compute_progress(
        reg, 2024, _inputs(milestone_frame([])), as_of=dt.date(2025, 6, 1))}
    for p in reg.promises:
        if p.has_milestones:
            assert progress[p.id].status == EJ_PABORJAT, p.id
            assert not progress[p.id].status.is_met()
            assert progress[p.id].outcome_text == "ej påbörjat"


def test_steps_count_up_to_the_end_of_the_year_and_carry_over():
    ms = milestone_frame([
        Milestone(dt.date(2023, 5, 2), "postnord", "påbörjat", "Kontakt tagen."),
        Milestone(dt.date(2024, 1, 10), "postnord", "genomfört", "Rutin klar."),
        Milestone(dt.date(2023, 3, 1), "narkotika-krog", "påbörjat"),
    ])
    until_2023 = milestones_until(ms, "postnord", 2023)
    assert until_2023["step"].tolist() == ["påbörjat"]
    assert milestone_status(until_2023) == PABORJAT
    assert milestone_status(milestones_until(ms, "postnord", 2024)) == GENOMFORT  # no number: done, never "uppfyllt"
    # started in 2023, still started in 2024 (milestones are cumulative)
    assert milestone_status(milestones_until(ms, "narkotika-krog", 2024)) == PABORJAT
    reg = load_register(REGISTER)
    p = {x.promise.id: x for x in compute_progress(reg, 2024, _inputs(ms),
                                                    as_of=dt.date(2024, 6, 1))}
    assert p["postnord"].outcome_text == "genomfört 2024-01-10"
    assert p["postnord"].milestones == (("2023-05-02", "påbörjat", "Kontakt tagen."),
                                        ("2024-01-10", "genomfört", "Rutin klar."))


def test_milestone_log_validates_and_appends(tmp_path):
    reg = load_register(REGISTER)
    log = MilestoneLog(tmp_path / "milstolpar.csv")
    log.add(Milestone(dt.date(2024, 3, 1), "tidig-upptackt", "påbörjat",
                      "  Arbetsgrupp startad.  "), reg)
    assert [(m.promise_id, m.note) for m in log.milestones()] == [
        ("tidig-upptackt", "Arbetsgrupp startad.")]
    raw = (tmp_path / "milstolpar.csv").read_bytes()
    assert raw.startswith("\ufeffdatum;löfte;steg;notering\r\n".encode())
    with pytest.raises(ValidationError) as err:
        log.add(Milestone(dt.date(2030, 3, 1), "trafikkontroller", "klart",  # type: ignore[arg-type]
                          "x" * (NOTE_MAX_CHARS + 1)), reg)
    text = str(err.value)
    assert "field 'löfte'" in text and "measured by activities" in text
    assert "field 'steg'" in text and "unknown step 'klart'" in text
    assert "field 'datum'" in text and "2030-03-01 is outside" in text
    assert f"{NOTE_MAX_CHARS + 1} characters" in text
    with pytest.raises(ValidationError, match="did you mean 'postnord'"):
        log.add(Milestone(dt.date(2024, 3, 1), "postnrd", "påbörjat"), reg)
    assert len(log.milestones()) == 1      # nothing written by the failed adds


def test_demo_milestones_seed_once_and_only_the_registers_promises(tmp_path):
    reg = load_register(REGISTER)
    prof = dataclasses.replace(load_profile(PROFILE), store=tmp_path / "s" / "walks.gpkg")
    log = open_milestone_log(prof, reg)
    assert len(log.milestones()) == 14
    assert len(open_milestone_log(prof, reg).milestones()) == 14  # seeded once
    # kept in the findings store (schema 3), not as a file beside it
    assert not milestone_log_path(prof).exists()
    with open_store(prof) as store:
        text = store.document("milstolpar.csv")
    assert text is not None and text.startswith("datum;löfte;steg;notering\r\n")
    assert log.where == f"{tmp_path / 's' / 'walks.gpkg'} (milstolpar.csv)"
    tanum = dataclasses.replace(load_profile(TANUM), store=tmp_path / "t" / "walks.gpkg")
    joint = load_register_for_profile(tanum, 2024)
    assert joint is not None and joint.ids == ("samverkan-tanum",)
    t_log = open_milestone_log(tanum, joint)
    assert {m.promise_id for m in t_log.milestones()} == {"samverkan-tanum"}
    real = dataclasses.replace(prof, demo=False, store=tmp_path / "r" / "walks.gpkg")
    assert open_milestone_log(real, reg).frame().empty


def test_tanum_report_has_the_joint_section(tmp_path):
    from walks.service import open_store

    tanum = dataclasses.replace(load_profile(TANUM), store=tmp_path / "walks.gpkg")
    joint = load_register_for_profile(tanum, 2024)
    assert joint is not None
    ms = open_milestone_log(tanum, joint).frame()
    with open_store(tanum) as store:
        data = build_report(tanum, joint, store, _inputs(ms).activities, 2024,
                            as_of=dt.date(2025, 1, 20), draw=False, milestones=ms)
    assert [p.promise.id for p in data.progress] == ["samverkan-tanum"]
    assert data.joint_municipalities == ("Strömstad", "Tanum")
    assert data.municipality == "Tanum"
    page = render_report_html(data)
    assert "Gemensamma löften: Strömstad och Tanum" in page
    assert html.escape(joint.get("samverkan-tanum").text, quote=False) in page
    assert "Gemensam trygghetsvandring och lägesbild med Tanum." in page
    # no lighting inventory of Strömstad leaks into Tanum's report
    assert data.lighting is None and data.led is None


def test_cli_milestone_command(tmp_path):
    from trygga_cli.main import app

    runner = CliRunner()
    common = ["--profile", str(PROFILE), "--store", str(tmp_path / "walks.gpkg")]
    ok = runner.invoke(app, ["promises", "milestone", "tidig-upptackt", "--step", "påbörjat",
                             "--date", "2024-04-02", "--note", "Rutin ses över.", *common])
    assert ok.exit_code == 0, ok.output
    assert "tidig-upptackt påbörjat" in ok.output
    bad = runner.invoke(app, ["promises", "milestone", "patruller", "--step", "genomfört",
                              "--date", "2024-04-02", *common])
    assert bad.exit_code == 2 and "not by milestones" in bad.output
    status = runner.invoke(app, ["promises", "status", "--year", "2024", *common])
    assert status.exit_code == 0, status.output
    line = next(x for x in status.output.splitlines() if "tidig-upptackt" in x)
    assert line.startswith("påbörjat") and "påbörjat 2024-04-02" in line
    listed = runner.invoke(app, ["promises", "list", "--profile", str(PROFILE)])
    assert listed.exit_code == 0
    assert listed.output.count("\n    ") == 21       # one text line per promise
    assert "Exempel" not in listed.output
    tanum = runner.invoke(app, ["promises", "list", "--profile", str(TANUM)])
    assert tanum.exit_code == 0 and "samverkan-tanum" in tanum.output
    assert "trafikkontroller" not in tanum.output
