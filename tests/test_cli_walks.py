"""`trygga walks …` and `trygga public-map` on a temporary store seeded with the demo."""

import json
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


def test_import_dry_run_then_import_then_reimport(tmp_path):
    store = tmp_path / "w.gpkg"
    csv = _template_csv(tmp_path)
    dry = runner.invoke(app, ["walks", "import", str(csv), "--store", str(store), "--dry-run",
                              "--walk", "demo-2025-1", "--profile", PROFILE])
    assert dry.exit_code == 0, dry.output
    assert "would import 2 new finding(s)" in dry.output
    assert not store.exists() and not list(tmp_path.glob("w.gpkg*"))  # a dry run writes nothing
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
    assert "<script>" not in text and "Vaktmästaren" not in text  # internal note


def test_public_map_is_standalone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "karta.html"
    result = runner.invoke(app, ["public-map", "--out", str(out), "--profile", PROFILE])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert (tmp_path / "karta_filer" / "leaflet" / "leaflet.js").exists()
    assert 'src="karta_filer/leaflet/leaflet.js"' in html
    assert "https://" not in html.replace("https://www.openstreetmap.org/copyright", "")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Vaktmästaren" not in html
    assert '<html lang="sv">' in html
    # built from the demo profile: the page says it is demo data
    assert 'class="trygga-demo-notice"' in html and "Demodata" in html


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
    for path in (a, b):
        r = runner.invoke(app, ["walks", "import", str(path), "--store", str(store),
                                "--walk", "demo-2025-1", "--profile", PROFILE])
        assert r.exit_code == 0, r.output
    f = _findings(store)
    assert int(f["channel"].eq("import:gpx").sum()) == 1
