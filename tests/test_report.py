"""The yearly follow-up report on the demo: key numbers, privacy, escaping, images, PDF,
accessibility (axe-core) and the command line.

The report is built once (module fixture) on a temporary copy of the demo store, to which
a non-public finding, a finding in a staff-only category and an activity whose place holds
a ``<script>`` tag are added first. Key numbers that come from the demo data alone (the
inventories, the activity log, the walks) are pinned; those that come from the lighting
model are checked against the measure functions instead.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from shapely.geometry import Point
from typer.testing import CliRunner

from layers import load_profile
from promises.activities import Activity, open_activity_log
from promises.register import load_register
from promises.report import (
    ReportData,
    ReportError,
    render_report_html,
    render_report_pdf,
    report_for_profile,
)
from trygga_cli.report_cmd import REPORT_HELP, promises_app, report_command
from walks import model as m
from walks.service import open_store

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "data" / "stromstad" / "profile.toml"
REGISTER = ROOT / "data" / "stromstad" / "medborgarloften_2023_2024.toml"
DEMO_FINDINGS = ROOT / "data" / "demo" / "fynd_demo.geojson"
DEMO_ACTIVITIES = ROOT / "data" / "demo" / "aktiviteter_demo.csv"
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"

NON_PUBLIC_TEXT = "Icke-offentligt testfynd 7f3a"
NON_PUBLIC_REASON = "Hemligt skäl 51c2"
STAFF_ONLY_TEXT = "Känslig plats testfynd 9d1e"
SCRIPT_PLACE = "<script>alert('plats')</script> Torget"
#: Internal notes of the demo findings and the demo activity log: none may be printed.
INTERNAL_NOTES = sorted(
    {f["properties"]["internal_note"]
     for f in json.loads(DEMO_FINDINGS.read_text(encoding="utf-8"))["features"]
     if f["properties"].get("internal_note")}
    | {line.split(";")[-1] for line in DEMO_ACTIVITIES.read_text(encoding="utf-8-sig")
       .splitlines()[1:] if line.split(";")[-1]})


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[ReportData, str]:
    folder = tmp_path_factory.mktemp("report")
    prof = dataclasses.replace(load_profile(PROFILE), store=folder / "walks.gpkg")
    reg = load_register(REGISTER)
    tz = dt.timezone(dt.timedelta(hours=2))
    with open_store(prof) as store:
        anchor = store.findings().geometry.iloc[0]
        for text, category, non_public in ((NON_PUBLIC_TEXT, "belysning", True),
                                           (STAFF_ONLY_TEXT, "känslig plats", False)):
            f = store.add_finding(m.Finding(
                id=m.new_id(), geometry=Point(anchor.x + 5, anchor.y + 5),
                created=dt.datetime(2024, 10, 15, 19, 0, tzinfo=tz), category=category,
                description=text, internal_note="Vaktmästaren vet mer.",
                walk_id="demo-2024-1", non_public=non_public))
            store.set_state(f.id, f.version, "avslutad utan åtgärd", note="test",
                            author_role="staff", reason=NON_PUBLIC_REASON)
    log = open_activity_log(prof, reg)
    log.add(Activity(dt.date(2024, 9, 3), "dialogmoten", 1, SCRIPT_PLACE,
                     note="Intern: skickas inte ut"), reg)
    data = report_for_profile(prof, reg, 2024, as_of=dt.date(2025, 3, 1))
    return data, render_report_html(data)


def _progress(data: ReportData) -> dict[str, Any]:
    return {p.promise.id: p for p in data.progress}


def test_report_has_every_promise_with_target_outcome_and_badge(demo):
    data, page = demo
    reg = load_register(REGISTER)
    for promise in reg.promises:
        assert html.escape(promise.text, quote=False) in page, promise.id
    p = _progress(data)
    expected = {
        # promises without a target are done / not done, never "uppfyllt" (issue 14)
        "belysning": "genomfört", "led": "genomfört", "vandringar": "genomfört",
        "skolvandringar": "uppfyllt", "trafikkontroller": "uppfyllt", "patruller": "delvis",
        "skolbesok": "uppfyllt", "grannsamverkan": "delvis", "dialogmoten": "uppfyllt",
        "vnr-konferens": "ej uppfyllt",
        # promises without a number: from the demo milestones, never met by default
        # (a completed milestone is "genomfört": no number, nothing to fulfil)
        "narkotika-unga": "påbörjat", "narkotika-krog": "genomfört",
        "krogar-mot-knark": "påbörjat", "tidig-upptackt": "ej påbörjat",
        "hundsok": "genomfört", "foraldramoten": "påbörjat", "postnord": "genomfört",
        "bedrageri-aldre": "påbörjat", "vnr-socialtjansten": "ej påbörjat",
        "vagledning-vald": "genomfört", "samverkan-tanum": "genomfört"}
    assert {k: v.status.label for k, v in p.items()} == expected
    outcomes = {k: v.outcome for k, v in p.items()
                if k not in ("belysning",) and not v.promise.has_milestones}
    assert outcomes == {"led": 82, "vandringar": 3, "skolvandringar": 2,
                        "trafikkontroller": 92, "patruller": 31, "skolbesok": 34,
                        "grannsamverkan": 1, "dialogmoten": 3, "vnr-konferens": 0}
    assert p["vagledning-vald"].outcome_text == "genomfört 2024-10-16"
    assert p["vagledning-vald"].milestones == (
        ("2024-02-03", "påbörjat", "Arbetet med vägledningen påbörjat."),
        ("2024-10-16", "genomfört", "Vägledningen antagen och införd för chefer."))
    assert p["tidig-upptackt"].milestones == () and p["tidig-upptackt"].outcome_text == \
        "ej påbörjat"
    assert "3 tillfällen 2024 enligt aktivitetsloggen" in p["foraldramoten"].details
    assert data.status_counts == {"uppfyllt": 4, "genomfört": 8, "delvis": 2,
                                  "ej uppfyllt": 1, "påbörjat": 4, "ej påbörjat": 2}
    # the joint section: once in the table of all promises, once in the joint section
    assert [j.promise.id for j in data.joint] == ["samverkan-tanum"]
    assert data.joint_municipalities == ("Strömstad", "Tanum")
    assert "Gemensamma löften: Strömstad och Tanum" in page
    assert page.count('class="badge badge-met"') == 12 + 1
    assert page.count('class="badge badge-partial"') == 2
    assert page.count('class="badge badge-not_met"') == 1 + 2
    assert page.count('class="badge badge-ongoing"') == 4
    assert "80 trafikkontroller per år" in page and "92 trafikkontroller" in page
    assert "2024-10-16 genomfört: Vägledningen antagen och införd för chefer." in page


def test_report_lighting_numbers(demo):
    data, page = demo
    led = data.led
    assert led is not None and data.lighting is not None
    assert led.conversions == 82 and led.converted_from == {"Hg": 82}
    assert led.new_luminaires == 121 and led.removed_luminaires == 0
    assert led.kwh_saved_per_year == pytest.approx(16184.0)
    assert led.sek_saved_per_year == pytest.approx(16184.0 * 1.5)
    assert led.co2_kg_saved_per_year == pytest.approx(16184.0 * 0.045)
    assert "16\u202f184 kWh" in page and "24\u202f276 kr" in page
    lp = data.lighting
    assert lp.km_improved > 0.5  # new crossing and school-path lighting in 2024
    assert lp.km_improved <= lp.km_improved_all + 1e-9
    assert lp.km_improved <= lp.km_near_school + lp.km_near_crossing + sum(
        lp.km_in_areas.values()) + 1e-9
    km_text = f"{lp.km_improved:.1f}".replace(".", ",")
    assert f"{km_text} km" in page
    assert _progress(data)["belysning"].outcome == pytest.approx(lp.km_improved)


def test_report_walks_table(demo):
    data, page = demo
    assert [w.date for w in data.walks] == ["2024-04-17", "2024-10-15", "2024-11-12"]
    assert [w.light for w in data.walks] == ["skymning", "mörker", "mörker"]
    assert [w.participants_total for w in data.walks] == [25, 24, 22]
    assert [w.findings for w in data.walks] == [0, 10, 10]  # public findings only
    assert data.walks[1].place == "Centrum, Strömstiernaskolan"
    walks_table = page[page.index('id="h-walks"'):page.index('id="h-findings"')]
    for text in ("2024-10-15", "Centrum, Strömstiernaskolan", "boende 11", "unga 8",
                 "personer med funktionsnedsättning 2", "mörker", "skymning"):
        assert text in walks_table


def test_report_findings_section(demo):
    data, page = demo
    f = data.findings
    assert f.total == 20  # the non-public and the staff-only finding are not counted
    assert sum(total for _c, _n, total in f.by_category) == 20
    assert f.fixed == 3 and f.share_fixed == pytest.approx(0.15)
    assert len(f.closed) == 5
    assert all(c.reason == "Ingen åtgärd behövs (demo)." for c in f.closed)
    assert f.per_month == {10: 10, 11: 10}
    assert f.median_days_to_fix is not None and f.median_days_to_fix > 0
    assert "Ingen åtgärd behövs (demo)." in page and "15 %" in page


def test_report_privacy(demo):
    _data, page = demo
    assert "Vaktmästaren" not in page
    for note in INTERNAL_NOTES:
        assert html.escape(note, quote=False) not in page, note
        assert note not in page, note
    assert "Intern: skickas inte ut" not in page
    assert NON_PUBLIC_TEXT not in page and NON_PUBLIC_REASON not in page
    assert STAFF_ONLY_TEXT not in page and "känslig plats" not in page
    assert "Samhällsbyggnad" not in page  # walk organiser
    # police activity places are not public; the dialogue meetings' places are
    assert "Västkustvägen" not in page and "Fritidsgården" not in page
    assert "Föreningslokalen i Strömsdalen" in page


def test_report_escapes_text(demo):
    _data, page = demo
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#39;plats&#39;)&lt;/script&gt; Torget" in page
    assert "&amp;lt;" not in page  # escaped once, not twice


def test_report_is_standalone_with_embedded_pngs(demo):
    data, page = demo
    assert page.startswith("<!DOCTYPE html>") and '<html lang="sv">' in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) >= 6 and all(s.startswith("data:image/png;base64,") for s in sources)
    for s in sources:
        assert base64.b64decode(s.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"(href|src)=\"https?:", page)
    assert "<link" not in page
    keys = {c.key for c in (*data.charts, *data.maps)}
    assert keys == {"findings_per_month", "fixes_per_month", "led_conversions",
                    "commute_darkness", "map_before", "map_after"}
    assert all(f'alt="{html.escape(c.alt)}"' in page for c in (*data.charts, *data.maps))


def test_report_pdf(demo):
    data, page = demo
    try:
        pdf = render_report_pdf(page)
    except ReportError as exc:  # WeasyPrint or its Pango libraries missing
        pytest.skip(f"PDF not available here: {exc}")
    assert pdf[:5] == b"%PDF-" and len(pdf) > 50_000


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: install Debian's "
                    "chromium (apt-get install chromium); CI installs it")
@pytest.mark.skipif(not AXE.exists(), reason=f"{AXE} is missing: run ./dev.sh setup")
def test_report_has_no_serious_axe_violations(demo, tmp_path):
    from playwright.sync_api import sync_playwright

    _data, page_html = demo
    path = tmp_path / "rapport.html"
    path.write_text(page_html, encoding="utf-8")
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 1600},
                                          locale="sv-SE")

            def route(r: Any) -> None:
                url = r.request.url
                if url.startswith(("file:", "data:")):
                    r.continue_()
                else:
                    requests.append(url)
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.goto(path.as_uri(), wait_until="load")
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("opts => axe.run(document, opts)", {
                "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a",
                                                     "wcag21aa", "best-practice"]},
                "resultTypes": ["violations"]})
        finally:
            browser.close()
    serious = [f"{v['id']} ({v['impact']}): {v['help']} "
               f"{[n['target'] for n in v['nodes'][:3]]}"
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []
    assert requests == []


# --- command line -----------------------------------------------------------------------

def _cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(promises_app, name="promises")
    app.command("report", help=REPORT_HELP)(report_command)
    return app


runner = CliRunner()


def test_cli_report_log_and_import(tmp_path):
    app = _cli()
    store = tmp_path / "walks.gpkg"
    common = ["--profile", str(PROFILE), "--store", str(store)]
    logged = runner.invoke(app, ["promises", "log", "vnr-konferens", "--date", "2024-11-25",
                                 *common])
    assert logged.exit_code == 0, logged.output
    with open_store(dataclasses.replace(load_profile(PROFILE), store=store)) as st_:
        logged_text = st_.document("aktiviteter.csv")  # the log lives in the store
    assert logged_text is not None and "2024-11-25;vnr-konferens;1" in logged_text
    assert not (tmp_path / "aktiviteter.csv").exists()
    bad = runner.invoke(app, ["promises", "log", "okänt", "--date", "2024-11-25", *common])
    assert bad.exit_code == 2 and "unknown promise 'okänt'" in bad.output
    csv_path = tmp_path / "import.csv"
    csv_path.write_text("datum;löfte;antal\n2024-12-01;grannsamverkan;1\n2024-12-02;nej;1\n",
                        encoding="utf-8")
    imported = runner.invoke(app, ["promises", "import", str(csv_path), *common])
    assert imported.exit_code == 1 and "row 3, column 'löfte'" in imported.output
    csv_path.write_text("datum;löfte;antal\n2024-12-01;grannsamverkan;1\n",
                        encoding="utf-8")
    imported = runner.invoke(app, ["promises", "import", str(csv_path), *common])
    assert imported.exit_code == 0, imported.output
    out = tmp_path / "rapport.html"
    result = runner.invoke(app, ["report", "--year", "2024", "--format", "html", "--out",
                                 str(out), "--as-of", "2025-02-01", *common])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "Uppföljning av medborgarlöftena 2024" in page
    # the logged conference and the imported information meeting turned two promises green
    assert "6 uppfyllt, 8 genomfört, 1 delvis" in result.output
    assert "Vaktmästaren" not in page


def test_cli_report_rejects_bad_format_and_year(tmp_path):
    app = _cli()
    common = ["--profile", str(PROFILE), "--store", str(tmp_path / "walks.gpkg")]
    wrong = runner.invoke(app, ["report", "--year", "2024", "--out", str(tmp_path / "r.doc"),
                                *common])
    assert wrong.exit_code == 2 and "html|pdf" in wrong.output
    outside = runner.invoke(app, ["report", "--year", "2030", "--out",
                                  str(tmp_path / "r.html"), *common])
    assert outside.exit_code == 2 and "2030" in outside.output


def test_cli_promises_list_and_template(tmp_path):
    app = _cli()
    listed = runner.invoke(app, ["promises", "list", "--profile", str(PROFILE)])
    assert listed.exit_code == 0 and "trafikkontroller" in listed.output
    out = tmp_path / "mall.csv"
    made = runner.invoke(app, ["promises", "template", "--out", str(out)])
    assert made.exit_code == 0
    assert out.read_bytes().startswith("\ufeffdatum;löfte;antal".encode())


def test_report_has_commute_darkness_per_school(demo):
    data, page = demo
    rows = {r.school: r for r in data.school_darkness}
    assert len(rows) == 7 and "Bojarskolan" in rows
    assert rows["Bojarskolan"].school_day == "08:20–14:40, 25 min resa"
    assert rows["Strömstad gymnasium"].school_day == "08:40–16:00, 40 min resa"
    # dark in the winter, light in the summer, never more than the trips themselves
    bojar = rows["Bojarskolan"].hours
    assert bojar[11] > 0 and bojar[5] == 0 and max(bojar) <= 50 / 60
    # the late-ending gymnasium is darker on the way home in December than Bojarskolan
    assert rows["Strömstad gymnasium"].hours[11] > bojar[11]
    assert "Mörk skolväg per skola 2024" in page
    assert "<th scope=\"row\">Strömstad gymnasium</th>" in page


def test_report_counts_fixed_in_time(demo):
    data, page = demo
    d = data.deadlines
    assert d is not None
    # the demo's fix dates come 3-8 weeks after the walk (varying with the seeded ids), so
    # 1-3 of its 3 fixes fall in 2024: the vegetation fix always does, within its 60 days;
    # a lighting fix never meets the 10 days
    assert d.fixed == sum(data.findings.fixes_per_month.values())
    assert 1 <= d.fixed_in_time <= d.fixed <= 3
    assert d.overdue_open == 12            # all 12 open public findings are late on 1 March
    assert "åtgärdat i tid" in page
    assert f"({d.fixed_in_time} av {d.fixed} åtgärdade 2024)" in page
