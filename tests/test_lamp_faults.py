"""Lamp faults tied to luminaires: a reported, open lamp fault makes that luminaire dark in
the lighting model (``trygga rank``) until the finding is fixed, and the repair crews get a
fault list per responsible party (CSV/XLSX, read back with openpyxl)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
from _server import temp_profile
from shapely.geometry import Point
from typer.testing import CliRunner

from layers import load_profile
from layers.lighting import mark_out_of_service
from trygga_cli.main import app
from walks import model as m
from walks.service import lamp_faults, open_store

runner = CliRunner()


def test_mark_out_of_service_only_touches_lamps_in_service() -> None:
    lum = gpd.GeoDataFrame(
        {"operating": ["in_service", "removed", "in_service"]},
        index=gpd.pd.Index(["A-1", "A-2", "A-3"], name="luminaire_id"),
        geometry=[Point(0, 0)] * 3, crs="EPSG:3007")
    out, missing = mark_out_of_service(lum, ["A-1", "A-2", "X-9", ""])
    assert out["operating"].tolist() == ["out_of_service", "removed", "in_service"]
    assert missing == ["X-9"]
    assert lum["operating"].tolist() == ["in_service", "removed", "in_service"]  # unchanged
    same, none = mark_out_of_service(lum, [])
    assert same is lum and none == []


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TRYGGA_STORE", raising=False)
    return temp_profile(tmp_path / "prof")


def _report_fault(profile: Path, lamp: str, responsible: str | None) -> str:
    prof = load_profile(profile)
    with open_store(prof) as store:
        f = store.add_finding(m.Finding(
            id=m.new_id(), geometry=Point(101795.0, 6533572.0),
            created=datetime.now(UTC),
            category="belysning", description=f"Lampan {lamp} är släckt", channel="felanmälan",
            luminaire_id=lamp, responsible=responsible))
        return f.id


def test_open_fault_makes_the_lamp_dark_until_fixed(profile: Path, tmp_path: Path) -> None:
    out = tmp_path / "rank"
    base = runner.invoke(app, ["rank", "--profile", str(profile), "--out", str(out / "a"),
                               "--no-raster"])
    assert base.exit_code == 0, base.output
    n0 = json.loads((out / "a" / "summary.json").read_text())["luminaires_out_of_service"]
    fid = _report_fault(profile, "A-010018", "kommun gata/park")
    r = runner.invoke(app, ["rank", "--profile", str(profile), "--out", str(out / "b"),
                            "--no-raster"])
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "b" / "summary.json").read_text())
    assert summary["luminaires_out_of_service"] == n0 + 1
    lum = pyogrio.read_dataframe(out / "b" / "ranking.gpkg", layer="luminaires")
    key = "luminaire_id" if "luminaire_id" in lum.columns else lum.columns[0]
    assert lum.loc[lum[key] == "A-010018", "operating"].tolist() == ["out_of_service"]
    with open_store(load_profile(profile)) as store:
        store.set_state(fid, 1, m.ATGARDAD, "ny lampa", "staff")
    r = runner.invoke(app, ["rank", "--profile", str(profile), "--out", str(out / "c"),
                            "--no-raster"])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "c" / "summary.json").read_text())[
        "luminaires_out_of_service"] == n0


def test_fault_list_per_responsible_party(profile: Path, tmp_path: Path) -> None:
    _report_fault(profile, "A-010018", "kommun gata/park")
    _report_fault(profile, "A-010029", "Trafikverket")
    _report_fault(profile, "A-010030", None)
    with open_store(load_profile(profile)) as store:
        assert lamp_faults(store)["luminaire_id"].tolist() == ["A-010029", "A-010018",
                                                               "A-010030"]
    xlsx = tmp_path / "fel.xlsx"
    r = runner.invoke(app, ["walks", "faults", "--out", str(xlsx), "--profile", str(profile)])
    assert r.exit_code == 0, r.output
    assert "3 open lamp faults" in r.output or "3 öppna felanmälningar" in r.output
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["(ingen ansvarig)", "Trafikverket", "kommun gata-park"]
    ws = wb["kommun gata-park"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Ansvarig", "Armatur-id", "Kategori"]
    assert [c.value for c in ws[2]][:2] == ["kommun gata/park", "A-010018"]
    csv = tmp_path / "fel.csv"
    r = runner.invoke(app, ["walks", "faults", "--out", str(csv), "--profile", str(profile)])
    assert r.exit_code == 0, r.output
    text = csv.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf") and text.count(b"\r\n") == 4
    bad = runner.invoke(app, ["walks", "faults", "--out", str(tmp_path / "fel.pdf"),
                              "--profile", str(profile)])
    assert bad.exit_code == 2 and ".csv or .xlsx" in bad.output


def test_imported_lamp_number_points_the_finding_at_the_luminaire(profile: Path,
                                                                  tmp_path: Path) -> None:
    """A fault form's lamp number (here our CSV template with a 'lampnummer' column, cp1252
    and decimal commas) becomes the finding's luminaire id, so the lamp is on the fault list."""
    csv = tmp_path / "felanmalan.csv"
    csv.write_bytes(("id;kategori;beskrivning;lampnummer;lat;lon\r\n"
                     "1;Belysning;Släckt lampa vid bron;A-010018;58,9371;11,1723\r\n"
                     "2;buskar;Buskar skymmer;;58,9380;11,1690\r\n").encode("cp1252"))
    r = runner.invoke(app, ["walks", "import", str(csv), "--profile", str(profile)])
    assert r.exit_code == 0, r.output
    with open_store(load_profile(profile)) as store:
        faults = lamp_faults(store)
        f = store.findings()
    assert faults["luminaire_id"].tolist() == ["A-010018"]
    assert f.loc[f["description"] == "Buskar skymmer", "luminaire_id"].isna().all()
