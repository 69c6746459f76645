"""`trygga walks …` and `trygga public-map` on a temporary store seeded with the demo."""

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from trygga_cli.main import app
from walks.store import GeoPackageStore

ROOT = Path(__file__).resolve().parents[1]
PROFILE = str(ROOT / "data/stromstad/profile.toml")
runner = CliRunner()


def _findings(store: Path):
    # Read through the store, never with GDAL in the same process: two SQLite libraries in
    # one process break each other's POSIX locks on the same file.
    return GeoPackageStore(store, "EPSG:3007").findings()


def _template_csv(tmp_path: Path) -> Path:
    # Our own CSV template, Swedish Excel dialect (cp1252, ;, decimal comma).
    text = ("id;kategori;allvarlighetsgrad;beskrivning;intern_anteckning;datum;lat;lon\r\n"
            "1;Belysning;3;Mörkt vid bron <script>x</script>;ring Åsa;2025-10-20 18:30;"
            "58,9371;11,1723\r\n"
            "2;buskar;2;Buskar skymmer sikten;;2025-10-20 18:40;58,9380;11,1690\r\n")
    path = tmp_path / "fynd.csv"
    path.write_bytes(text.encode("cp1252"))
    return path


def _add_walk(store: Path, walk_id: str) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from walks.model import Walk

    GeoPackageStore(store, "EPSG:3007").add_walk(Walk(
        id=walk_id, title="Trygghetsvandring", start=datetime(
            2025, 10, 20, 18, 0, tzinfo=ZoneInfo("Europe/Stockholm"))))


def test_import_dry_run_then_import_then_reimport(tmp_path):
    store = tmp_path / "w.gpkg"
    csv = _template_csv(tmp_path)
    dry = runner.invoke(app, ["walks", "import", str(csv), "--store", str(store), "--dry-run",
                              "--profile", PROFILE])
    assert dry.exit_code == 0, dry.output
    assert "would import 2 new finding(s)" in dry.output
    assert not store.exists() and not list(tmp_path.glob("w.gpkg*"))  # a dry run writes nothing
    _add_walk(store, "demo-2025-1")  # --walk must name a walk of the store
    first = runner.invoke(app, ["walks", "import", str(csv), "--store", str(store),
                                "--walk", "demo-2025-1", "--profile", PROFILE])
    assert first.exit_code == 0, first.output
    assert "imported 2 new finding(s)" in first.output and "would" not in first.output
    after = _findings(store)
    before = int(after["channel"].eq("import:geojson").sum())  # the seeded demo findings
    assert before > 0 and len(after) == before + 2
    again = runner.invoke(app, ["walks", "import", str(csv), "--store", str(store),
                                "--walk", "demo-2025-1", "--profile", PROFILE])
    assert again.exit_code == 0
    assert len(_findings(store)) == before + 2  # no duplicates


def test_import_outside_municipality_is_refused_by_row(tmp_path):
    store = tmp_path / "w.gpkg"
    path = tmp_path / "fel.csv"
    path.write_bytes(("id;kategori;beskrivning;lat;lon\r\n"
                      "1;belysning;ok;58,9371;11,1723\r\n"
                      "2;belysning;Stockholm;59,3293;18,0686\r\n").encode("cp1252"))
    result = runner.invoke(app, ["walks", "import", str(path), "--store", str(store),
                                 "--profile", PROFILE])
    assert result.exit_code == 1
    assert "fel.csv" in result.output and "3" in result.output  # spreadsheet row 3
    findings = _findings(store)
    assert not findings["description"].isin(["ok", "Stockholm"]).any()  # all or nothing


def test_export_public_has_only_allowed_fields(tmp_path):
    store = tmp_path / "w.gpkg"
    out = tmp_path / "publik.geojson"
    result = runner.invoke(app, ["walks", "export-public", "--store", str(store), "--out",
                                 str(out), "--profile", PROFILE])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["features"]
    keys = set().union(*(f["properties"] for f in data["features"]))
    assert keys <= {"id", "category", "description", "state_label", "state_type", "date",
                    "fixed_date", "state_date", "public_note", "public_photo"}
    text = out.read_text(encoding="utf-8")
    assert "Vaktmästaren" not in text  # internal note


def test_public_geojson_holds_the_raw_text_and_the_map_escapes_it(tmp_path):
    """Data files carry the text as written; escaping happens where HTML is rendered."""
    import pyogrio

    store = str(tmp_path / "db" / "w.gpkg")
    out = tmp_path / "publik.geojson"
    result = runner.invoke(app, ["walks", "export-public", "--store", store, "--out",
                                 str(out), "--profile", PROFILE])
    assert result.exit_code == 0, result.output
    raw = 'Testfynd för visning av specialtecken: <script>alert(1)</script> & "citat".'
    data = json.loads(out.read_text(encoding="utf-8"))
    assert raw in [f["properties"]["description"] for f in data["features"]]
    assert "&lt;" not in out.read_text(encoding="utf-8")
    assert "&amp;" not in out.read_text(encoding="utf-8")
    read = pyogrio.read_dataframe(out)  # GDAL, an independent reader
    assert raw in read["description"].tolist()
    page = tmp_path / "karta.html"
    result = runner.invoke(app, ["public-map", "--out", str(page), "--store", store,
                                 "--profile", PROFILE])
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;citat&quot;" in html


def test_public_map_is_one_self_contained_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "karta.html"
    result = runner.invoke(app, ["public-map", "--out", str(out), "--store",
                                 str(tmp_path / "db" / "w.gpkg"), "--profile", PROFILE])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "karta.html"]
    assert "<script src=" not in html and "<link rel=\"stylesheet\"" not in html
    leaflet_js = (ROOT / "static/vendor/leaflet/leaflet.js").read_text(encoding="utf-8")
    assert leaflet_js[:2000] in html  # Leaflet itself, inline
    assert "url(images/" not in html and "url(data:image/png;base64," in html
    assert html.startswith("<!DOCTYPE html>")
    assert '<meta name="generator" content="trygga-strak public-map">' in html[:4096]
    # no file is loaded from anywhere (Leaflet's own comments hold links, which is fine)
    assert re.findall(r"<(?:script|link|img)\b[^>]*(?:src|href)=", html) == []
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Vaktmästaren" not in html
    assert '<html lang="sv">' in html
    # built from the demo profile: the page says it is demo data
    assert 'class="trygga-demo-notice"' in html and "Demodata" in html


def test_public_map_never_deletes_what_it_did_not_create(tmp_path):
    """The old ``<name>_filer/`` folder beside the output is left alone (it used to be
    deleted recursively), and a foreign file of the output's name is not replaced."""
    store = str(tmp_path / "db" / "w.gpkg")
    folder = tmp_path / "karta_filer"
    folder.mkdir()
    (folder / "viktigt.txt").write_text("mitt eget", encoding="utf-8")
    out = tmp_path / "karta.html"
    out.write_text("<html>kommunens egen sida</html>", encoding="utf-8")
    refused = runner.invoke(app, ["public-map", "--out", str(out), "--store", store,
                                  "--profile", PROFILE])
    assert refused.exit_code == 2
    assert "--force" in refused.output and "karta.html" in refused.output
    assert out.read_text(encoding="utf-8") == "<html>kommunens egen sida</html>"
    forced = runner.invoke(app, ["public-map", "--out", str(out), "--store", store,
                                 "--profile", PROFILE, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "trygga-strak public-map" in out.read_text(encoding="utf-8")
    again = runner.invoke(app, ["public-map", "--out", str(out), "--store", store,
                                "--profile", PROFILE])
    assert again.exit_code == 0, again.output  # our own file: replaced without --force
    assert (folder / "viktigt.txt").read_text(encoding="utf-8") == "mitt eget"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "karta.html",
                                                          "karta_filer"]  # no temp files


def test_public_map_write_is_atomic(tmp_path, monkeypatch):
    """A failure while writing leaves the previous map whole and no temporary file."""
    import os

    store = str(tmp_path / "w.gpkg")
    out = tmp_path / "karta.html"
    assert runner.invoke(app, ["public-map", "--out", str(out), "--store", store,
                               "--profile", PROFILE]).exit_code == 0
    before = out.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device", str(dst))
    monkeypatch.setattr(os, "replace", broken_replace)
    result = runner.invoke(app, ["public-map", "--out", str(out), "--store", store,
                                 "--profile", PROFILE])
    assert result.exit_code == 2 and "No space left on device" in result.output
    assert "Traceback" not in result.output
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")) == []


def test_plan_then_protocol_form(tmp_path):
    store = tmp_path / "w.gpkg"
    result = runner.invoke(app, ["walks", "plan", "--school", "Bojarskolan", "--store",
                                 str(store), "--out", str(tmp_path / "plan"), "--when",
                                 "2025-11-20T18:00", "--dark", "--profile", PROFILE])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plan.gpkg").exists() and (tmp_path / "plan.geojson").exists()
    walks = GeoPackageStore(store, "EPSG:3007").walks()
    assert len(walks) == 1
    walk_id = str(walks.index[0])
    out = tmp_path / "form.html"
    result = runner.invoke(app, ["walks", "protocol", walk_id, "--store", str(store), "--out",
                                 str(out), "--profile", PROFILE])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Trygghetsvandring Bojarskolan (kväll)" in html
    assert "data:image/png;base64," in html


def test_protocol_of_unknown_walk(tmp_path):
    result = runner.invoke(app, ["walks", "protocol", "finns-inte", "--store",
                                 str(tmp_path / "w.gpkg"), "--out", str(tmp_path / "p.html"),
                                 "--profile", PROFILE])
    assert result.exit_code == 2
    assert "finns-inte" in result.output


def test_import_to_an_unknown_walk_is_refused_and_stores_nothing(tmp_path):
    store = tmp_path / "w.gpkg"
    csv = _template_csv(tmp_path)
    assert runner.invoke(app, ["walks", "list", "--store", str(store), "--profile",
                               PROFILE]).exit_code == 0  # store created, demo seeded
    before = _findings(store)
    for extra in ([], ["--dry-run"]):
        result = runner.invoke(app, ["walks", "import", str(csv), "--store", str(store),
                                     "--walk", "finns-inte", "--profile", PROFILE, *extra])
        assert result.exit_code == 2, result.output
        assert "finns-inte" in result.output and "walks list" in result.output
        assert "Traceback" not in result.output
    after = _findings(store)
    assert len(after) == len(before)
    assert not after["description"].str.contains("Mörkt vid bron").any()


def test_plan_twice_for_the_same_school_and_day_gets_a_new_walk_id(tmp_path):
    store = tmp_path / "w.gpkg"
    args = ["walks", "plan", "--school", "Bojarskolan", "--store", str(store), "--out",
            str(tmp_path / "plan"), "--when", "2025-11-20T18:00", "--profile", PROFILE]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "bojarskolan-2025-11-20-2" in second.output
    assert sorted(GeoPackageStore(store, "EPSG:3007").walks().index) == [
        "bojarskolan-2025-11-20", "bojarskolan-2025-11-20-2"]
    assert (tmp_path / "plan.gpkg").exists() and (tmp_path / "plan.geojson").exists()


def test_protocol_for_participants_and_the_internal_one(tmp_path):
    store = tmp_path / "w.gpkg"
    _add_walk(store, "demo-2024-1")
    shared = tmp_path / "protokoll.html"
    result = runner.invoke(app, ["walks", "protocol", "demo-2024-1", "--store", str(store),
                                 "--out", str(shared), "--profile", PROFILE])
    assert result.exit_code == 0, result.output
    internal = tmp_path / "internt.html"
    result = runner.invoke(app, ["walks", "protocol", "demo-2024-1", "--internal", "--store",
                                 str(store), "--out", str(internal), "--profile", PROFILE])
    assert result.exit_code == 0, result.output
    assert "dela det inte med deltagarna" in result.output.lower() or \
        "do not share it" in result.output
    public_html = shared.read_text(encoding="utf-8")
    staff_html = internal.read_text(encoding="utf-8")
    assert public_html.count('<tr class="finding">') >= 5
    for staff_only in ("kommun gata/park", "Intern anteckning", "INTERNT", "Ansvarig"):
        assert staff_only not in public_html and staff_only in staff_html
    demo = json.loads((ROOT / "data/demo/fynd_demo.geojson").read_text(encoding="utf-8"))
    notes = {f["properties"]["internal_note"] for f in demo["features"]
             if f["properties"]["walk_id"] == "demo-2024-1" and f["properties"]["internal_note"]}
    assert not any(n in public_html for n in notes)
    assert any(n in staff_html for n in notes)


def test_real_import_never_says_dry_run_and_says_when_all_were_duplicates(tmp_path):
    store = tmp_path / "w.gpkg"
    csv = _template_csv(tmp_path)
    args = ["walks", "import", str(csv), "--store", str(store), "--profile", PROFILE]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "Torrkörning" not in first.output and "dry run" not in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "every row was already in the store" in again.output
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert "Torrkörning, inget sparas / dry run" in dry.output


def test_gpx_waypoint_with_and_without_time_imports_once(tmp_path):
    store = tmp_path / "w.gpkg"
    gpx = ('<?xml version="1.0"?><gpx version="1.1" creator="t" '
           'xmlns="http://www.topografix.com/GPX/1/1"><wpt lat="58.9371" lon="11.1723">'
           '{time}<name>Lampa 7</name><type>Belysning</type></wpt></gpx>')
    a, b = tmp_path / "a.gpx", tmp_path / "b.gpx"
    a.write_text(gpx.format(time="<time>2025-10-20T17:30:00Z</time>"), encoding="utf-8")
    b.write_text(gpx.format(time=""), encoding="utf-8")
    _add_walk(store, "demo-2025-1")
    for path in (a, b):
        r = runner.invoke(app, ["walks", "import", str(path), "--store", str(store),
                                "--walk", "demo-2025-1", "--profile", PROFILE])
        assert r.exit_code == 0, r.output
    f = _findings(store)
    assert int(f["channel"].eq("import:gpx").sum()) == 1
