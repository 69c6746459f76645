"""Tests for walks.store: the GeoPackage findings store.

Covers the GeoPackage itself (QGIS/pyogrio can read it, right CRS, spatial index kept),
optimistic concurrency (ConflictError), append-only history, all-or-nothing imports
(including a process SIGKILLed mid-transaction), de-duplication on re-import, and
8 concurrent writer processes.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import os
import shutil
import signal
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from PIL import Image
from pyproj import CRS
from shapely.geometry import LineString, Point

from layers._common import ValidationError
from walks import model as m
from walks.store import (
    ConflictError,
    GeoPackageStore,
    ImportRejectedError,
    from_gpkg_blob,
    gpkg_blob,
)

CRS_ = "EPSG:3007"
X0, Y0 = 102_000.0, 6_535_000.0  # Strömstad, SWEREF 99 12 00 (EPSG:3007)
NOW = datetime(2025, 10, 15, 18, 0, tzinfo=UTC)
CTX = mp.get_context("fork")


def make_finding(i: int = 0, **kw: object) -> m.Finding:
    base: dict[str, object] = dict(
        id=m.new_id(), geometry=Point(X0 + i, Y0 + i), created=NOW, category="belysning",
        severity=2, description=f"Mörkt vid lampa {i}", internal_note="intern",
        walk_id="demo-1")
    base.update(kw)
    return m.Finding(**base)  # type: ignore[arg-type]


def import_frame(n: int, *, start: int = 0, desc_len: int = 0, **cols: object
                 ) -> gpd.GeoDataFrame:
    """A frame in the importers' contract (walks.store.IMPORT_COLUMNS)."""
    rows = range(start, start + n)
    df = pd.DataFrame({
        "source_id": [f"qfield:demo:{i}" for i in rows],
        "category": ["belysning"] * n,
        "raw_category": ["Lighting"] * n,
        "severity": pd.array([2] * n, dtype="Int64"),
        "description": [f"Fynd {i} " + "x" * desc_len for i in rows],
        "internal_note": [""] * n,
        "created": pd.Series([pd.Timestamp("2025-10-15 18:00", tz="Europe/Stockholm")] * n),
        "photo_paths": [[] for _ in rows],
        "walk_id": ["demo-1"] * n,
        "channel": ["import:qfield"] * n,
    }, index=pd.Index([str(i + 2) for i in rows]))
    for k, v in cols.items():
        df[k] = v  # type: ignore[call-overload]
    return gpd.GeoDataFrame(df, geometry=[Point(X0 + i, Y0 + i) for i in rows], crs=CRS_)


@pytest.fixture(scope="module")
def empty_store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty store created once; tests copy it (creating one takes ~0.1 s)."""
    path = tmp_path_factory.mktemp("template") / "walks.gpkg"
    GeoPackageStore(path, CRS_).close()
    return path


@pytest.fixture
def store(tmp_path: Path, empty_store_file: Path) -> GeoPackageStore:
    shutil.copyfile(empty_store_file, tmp_path / "walks.gpkg")
    return GeoPackageStore(tmp_path / "walks.gpkg", CRS_)


def count_rows(path: Path, table: str = "findings") -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    finally:
        con.close()


# --- the GeoPackage ---------------------------------------------------------------------

def test_geopackage_opens_with_pyogrio_in_the_store_crs(store: GeoPackageStore) -> None:
    f = store.add_finding(make_finding())
    store.add_walk(m.Walk("demo-1", "Kvällsvandring", NOW,
                          route=LineString([(X0, Y0), (X0 + 100, Y0 + 50)])))
    layers = dict(pyogrio.list_layers(store.path))
    assert layers["findings"] == "Point" and layers["walks"] == "LineString"
    gdf = pyogrio.read_dataframe(store.path, layer="findings")
    assert CRS.from_user_input(gdf.crs) == CRS.from_user_input(CRS_)
    assert list(gdf["uuid"]) == [f.id]
    assert pyogrio.read_info(store.path, layer="findings")["features"] == 1
    assert gdf.geometry.iloc[0].equals(f.geometry)
    assert gdf["state_label"].iloc[0] == "ny"
    # the R-tree spatial index GDAL created is maintained by our writes
    inside = pyogrio.read_dataframe(store.path, layer="findings",
                                    bbox=(X0 - 1, Y0 - 1, X0 + 1, Y0 + 1))
    outside = pyogrio.read_dataframe(store.path, layer="findings",
                                     bbox=(0, 0, 10, 10))
    assert len(inside) == 1 and len(outside) == 0
    walks = pyogrio.read_dataframe(store.path, layer="walks")
    assert walks["walk_id"].tolist() == ["demo-1"]
    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_gpkg_blob_round_trip() -> None:
    for g in (Point(1.5, 2.5), LineString([(0, 0), (3, 4)]), Point()):
        blob = gpkg_blob(g, 3007)
        assert blob is not None and blob[:2] == b"GP"
        assert from_gpkg_blob(blob).equals(g) or (g.is_empty and from_gpkg_blob(blob).is_empty)
    assert gpkg_blob(None, 3007) is None


def test_reopening_in_another_crs_is_an_error(store: GeoPackageStore) -> None:
    with pytest.raises(ValidationError, match="crs.*EPSG:3007, not EPSG:3006"):
        GeoPackageStore(store.path, "EPSG:3006")


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs=CRS_).to_file(other)
    with pytest.raises(ValidationError, match="not a findings store"):
        GeoPackageStore(other, CRS_)


def test_from_profile_uses_profile_store_and_crs(tmp_path: Path) -> None:
    from layers.profile import load_profile
    profile = load_profile("data/stromstad/profile.toml")
    profile = type(profile)(**{**profile.__dict__, "store": tmp_path / "p.gpkg"})
    s = GeoPackageStore.from_profile(profile)
    assert s.path == tmp_path / "p.gpkg" and s.crs == "EPSG:3007"


# --- findings, states, history ----------------------------------------------------------

def test_add_and_read_back(store: GeoPackageStore) -> None:
    f = make_finding(deadline=None, responsible="kommun gata/park")
    store.add_finding(f)
    assert store.get_finding(f.id) == f
    frame = store.findings()
    assert frame.index.tolist() == [f.id] and frame.index.name == "id"
    assert frame.crs == CRS_
    assert frame.loc[f.id, "state_type"] == "open"
    assert frame.loc[f.id, "created"] == pd.Timestamp(NOW)
    with pytest.raises(ValidationError, match="already exists"):
        store.add_finding(f)
    with pytest.raises(KeyError, match="no finding"):
        store.get_finding(m.new_id())


def test_unknown_category_is_refused_by_the_store(store: GeoPackageStore) -> None:
    with pytest.raises(ValidationError, match="field 'category'"):
        store.add_finding(make_finding(category="lampor"))


def test_conflict_second_editor_gets_a_clear_error(store: GeoPackageStore) -> None:
    f = store.add_finding(make_finding())
    anna_copy = store.get_finding(f.id)  # both staff load version 1
    bo_copy = store.get_finding(f.id)
    assert anna_copy.version == bo_copy.version == 1
    updated = store.update_finding(f.id, anna_copy.version, author_role="staff",
                                   measure="Byt armatur", responsible="kommun gata/park")
    assert updated.version == 2
    with pytest.raises(ConflictError, match=r"changed by staff at .* \(you have version 1, "
                                            r"the store has version 2\).*reload"):
        store.update_finding(f.id, bo_copy.version, author_role="staff", measure="Annat")
    with pytest.raises(ConflictError, match="reload"):
        store.set_state(f.id, bo_copy.version, m.BEDOMD, "bedömd", "staff")
    assert store.get_finding(f.id).measure == "Byt armatur"  # first update won
    assert len(store.history(f.id)) == 2


def test_closing_without_reason_is_refused_and_writes_nothing(store: GeoPackageStore) -> None:
    f = store.add_finding(make_finding())
    with pytest.raises(ValidationError, match="closed_reason.*requires a reason"):
        store.set_state(f.id, 1, "avslutad utan åtgärd", "stänger", "staff")
    with pytest.raises(ValidationError, match="requires a reason"):
        store.set_state(f.id, 1, m.AVSLUTAD_UTAN_ATGARD, "stänger", "staff", reason="  ")
    assert store.get_finding(f.id).version == 1
    closed = store.set_state(f.id, 1, m.AVSLUTAD_UTAN_ATGARD, "stänger", "staff",
                             reason="Privat mark, fastighetsägaren informerad")
    assert closed.state.is_closed() and closed.closed_reason.startswith("Privat mark")


def test_fixed_sets_fixed_at_and_reopening_clears_it(store: GeoPackageStore) -> None:
    f = store.add_finding(make_finding())
    fixed = store.set_state(f.id, 1, m.ATGARDAD, "lampan bytt", "staff")
    assert fixed.state.is_fixed() and fixed.fixed_at is not None
    assert store.findings().loc[f.id, "fixed_at"] == pd.Timestamp(fixed.fixed_at)
    reopened = store.set_state(f.id, 2, m.NY, "trasig igen", "staff")
    assert reopened.fixed_at is None and reopened.state.is_open()


def test_history_is_append_only(store: GeoPackageStore) -> None:
    f = store.add_finding(make_finding(description="Jävla mörkt här"))
    store.update_finding(f.id, 1, author_role="moderator", note="modererad",
                         description="Mörkt här")
    store.set_state(f.id, 2, m.BEDOMD, "bedömd", "staff")
    hist = store.history(f.id)
    assert [(h.state_before, h.state_after, h.version_after) for h in hist] == [
        (None, "ny", 1), ("ny", "ny", 2), ("ny", "bedömd", 3)]
    assert hist[1].changes["description"] == {"before": "Jävla mörkt här",
                                              "after": "Mörkt här"}
    # the moderated public text keeps its original
    g = store.get_finding(f.id)
    assert g.description == "Mörkt här" and g.description_original == "Jävla mörkt här"
    con = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE finding_updates SET note = 'ändrad'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM finding_updates")
    con.close()
    assert len(store.history(f.id)) == 3


def test_update_refuses_non_editable_fields(store: GeoPackageStore) -> None:
    f = store.add_finding(make_finding())
    with pytest.raises(ValidationError, match="field 'version'.*cannot be edited"):
        store.update_finding(f.id, 1, version=7)
    with pytest.raises(ValidationError, match="field 'severity'"):
        store.update_finding(f.id, 1, severity=9)
    with pytest.raises(ValidationError, match="field 'deadline'"):
        store.update_finding(f.id, 1, deadline="snart")
    g = store.update_finding(f.id, 1, deadline="2025-12-31", non_public=True)
    assert g.deadline is not None and g.deadline.isoformat() == "2025-12-31"
    assert g.non_public
    assert f.id not in store.findings(include_hidden=False).index
    assert f.id in store.findings().index


def test_walks_round_trip_and_state(store: GeoPackageStore) -> None:
    w = m.Walk("skola-2025", "Vandring vid skolan", NOW, light="skymning",
               school="Strömstiernaskolan", route=LineString([(X0, Y0), (X0 + 50, Y0)]),
               stops=(m.Stop(Point(X0, Y0), "Start"), m.Stop(Point(X0 + 50, Y0), "Slut")),
               organiser="Samhällsbyggnad", participants={"boende": 6, "polis": 1})
    store.add_walk(w)
    assert store.get_walk(w.id) == w
    frame = store.walks()
    assert frame.index.tolist() == [w.id]
    assert frame.loc[w.id, "participants"] == {"boende": 6, "polis": 1}
    with pytest.raises(ValidationError, match="field 'id'.*already exists"):
        store.add_walk(w)
    held = store.set_walk_state(w.id, 1, "genomförd")
    assert held.state.is_held() and held.version == 2
    with pytest.raises(ConflictError, match="walk skola-2025 was changed"):
        store.set_walk_state(w.id, 1, m.WALK_PUBLICERAD)
    with pytest.raises(ValidationError, match="cannot go back"):
        store.set_walk_state(w.id, 2, "planerad")
    assert store.set_walk_state(w.id, 2, m.WALK_PUBLICERAD).state.is_published()


# --- import -----------------------------------------------------------------------------

def test_import_and_reimport_creates_no_duplicates(store: GeoPackageStore) -> None:
    gdf = import_frame(5)
    first = store.import_findings(gdf, "fynd.gpkg")
    assert (first.new, first.duplicates, first.problems) == (5, 0, ())
    again = store.import_findings(gdf, "fynd.gpkg")
    assert (again.new, again.duplicates) == (0, 5)
    assert {r.finding_id for r in again.rows} == set(first.new_ids)
    assert len(store.findings()) == 5
    # a duplicate row inside the same frame is skipped too
    doubled = pd.concat([import_frame(1, start=10), import_frame(1, start=10)])
    rep = store.import_findings(doubled, "dubbel.csv")
    assert (rep.new, rep.duplicates) == (1, 1)
    hist = store.history(first.new_ids[0])
    assert hist[0].author_role == "import" and "fynd.gpkg" in hist[0].note


def test_import_changed_content_is_new_with_a_note(store: GeoPackageStore) -> None:
    store.import_findings(import_frame(2), "fynd.gpkg")
    edited = import_frame(2)
    edited.loc["2", "description"] = "Redigerad i fält"
    rep = store.import_findings(edited, "fynd.gpkg")
    assert (rep.new, rep.duplicates, rep.changed) == (1, 1, 1)
    assert any(n.column == "source_id" and "imported before" in n.message for n in rep.notes)


def test_import_defaults_and_mapping_are_notes(store: GeoPackageStore) -> None:
    gdf = import_frame(3)
    gdf["severity"] = pd.array([pd.NA, 3, 1], dtype="Int64")
    gdf["category"] = ["belysning", "bushes", "ufo"]
    gdf["created"] = pd.Series([pd.NaT, gdf["created"].iloc[1], gdf["created"].iloc[2]],
                               index=gdf.index)
    gdf["walk_id"] = [pd.NA, "demo-1", None]
    rep = store.import_findings(gdf, "fynd.csv")
    assert rep.new == 3 and rep.ok
    frame = store.findings().set_index("source_id")
    assert frame.loc["qfield:demo:0", "severity"] == 2
    assert frame.loc["qfield:demo:1", "category"] == "vegetation/buskage"
    assert frame.loc["qfield:demo:2", "category"] == "övrigt"
    assert pd.isna(frame.loc["qfield:demo:0", "walk_id"])
    assert frame.loc["qfield:demo:0", "channel"] == "import:qfield"
    notes = {(n.row, n.column) for n in rep.notes}
    assert {("2", "severity"), ("2", "created"), ("3", "category"), ("4", "category")} <= notes


def test_import_is_all_or_nothing_and_reports_every_problem(store: GeoPackageStore) -> None:
    store.import_findings(import_frame(2, start=100), "old.gpkg")
    gdf = import_frame(4)
    gdf["severity"] = pd.array([2, 7, 2, 2], dtype="Int64")
    gdf["created"] = [pd.Timestamp("2025-10-15 18:00", tz="UTC"), pd.NaT,
                      pd.Timestamp("2025-10-15 18:00"), pd.NaT]  # row 4: naive time
    gdf.loc["5", "geometry"] = None
    gdf["photo_paths"] = [[], [], [], ["relative/DCIM/a.jpg"]]
    with pytest.raises(ImportRejectedError) as info:
        store.import_findings(gdf, "fynd.csv")
    problems = {(p.row, p.column) for p in info.value.report.problems}
    assert problems == {("3", "severity"), ("4", "created"), ("5", "geometry"),
                        ("5", "photo_paths")}
    assert "fynd.csv, row 3, column 'severity'" in str(info.value)
    assert count_rows(store.path) == 2  # nothing from the bad file
    # a dry run reports the same problems and never raises or writes
    dry = store.import_findings(gdf, "fynd.csv", dry_run=True)
    assert dry.dry_run and not dry.ok and dry.new == 1
    assert [r.action for r in dry.rows].count("error") == 3
    assert [(r.row, r.action) for r in dry.rows] == [
        ("2", "new"), ("3", "error"), ("4", "error"), ("5", "error")]
    assert count_rows(store.path) == 2


def test_dry_run_writes_nothing(store: GeoPackageStore) -> None:
    rep = store.import_findings(import_frame(3), "fynd.gpkg", dry_run=True)
    assert rep.new == 3 and rep.dry_run
    assert count_rows(store.path) == 0
    assert "would import 3 new" in rep.summary()


def test_import_missing_columns_and_other_crs(store: GeoPackageStore) -> None:
    gdf = import_frame(2).drop(columns=["category"])
    with pytest.raises(ImportRejectedError, match="column 'category': required column"):
        store.import_findings(gdf, "x.csv")
    wgs = import_frame(2).to_crs("EPSG:4326")
    rep = store.import_findings(wgs, "x.geojson")
    assert rep.new == 2
    got = store.findings().sort_values("source_id").geometry.iloc[0]
    assert got.x == pytest.approx(X0, abs=0.01) and got.y == pytest.approx(Y0, abs=0.01)


def test_import_with_photos(store: GeoPackageStore, tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 20, 30)).save(buf, "JPEG")
    photo = tmp_path / "DCIM" / "IMG_1.jpg"
    photo.parent.mkdir()
    photo.write_bytes(buf.getvalue())
    gdf = import_frame(1)
    gdf["photo_paths"] = [[str(photo)]]
    rep = store.import_findings(gdf, "qfield.gpkg")
    frame = store.findings()
    (sha,) = frame["photos"].iloc[0]
    (public_sha,) = frame["public_photos"].iloc[0]
    assert store.photo_file(sha).read_bytes() == photo.read_bytes()
    assert store.photo_file(public_sha, public=True).exists()
    assert rep.new == 1
    assert store.import_findings(gdf, "qfield.gpkg").duplicates == 1


def test_a_photo_changed_during_the_import_stores_no_row(store: GeoPackageStore,
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The photo hash is part of the finding's content key: if the file changes between
    the check and the copy, the import stops with the row and field named, and nothing
    references a photo that was not stored."""
    import walks.store as ws

    def jpeg(colour: tuple[int, int, int]) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (40, 30), colour).save(buf, "JPEG")
        return buf.getvalue()

    photo = tmp_path / "DCIM" / "IMG_2.jpg"
    photo.parent.mkdir()
    photo.write_bytes(jpeg((10, 20, 30)))
    gdf = import_frame(1)
    gdf["photo_paths"] = [[str(photo)]]
    real = ws.prepare_import

    def prepare_then_swap(*args: object, **kw: object) -> object:
        prep = real(*args, **kw)  # type: ignore[arg-type]
        photo.write_bytes(jpeg((200, 20, 30)))  # the phone app rewrites the file
        return prep

    monkeypatch.setattr(ws, "prepare_import", prepare_then_swap)
    with pytest.raises(ValidationError) as err:
        store.import_findings(gdf, "qfield.gpkg")
    (problem,) = err.value.problems
    assert (problem.source, problem.column) == ("qfield.gpkg", "photo_paths")
    assert "IMG_2.jpg changed while it was being imported" in problem.message
    assert problem.row != ""
    assert store.findings().empty


def test_demo_findings_import(store: GeoPackageStore) -> None:
    demo = gpd.read_file("data/demo/fynd_demo.geojson").to_crs(CRS_)
    gdf = gpd.GeoDataFrame({
        "source_id": demo["id"], "category": demo["category"], "raw_category": demo["category"],
        "severity": demo["severity"].astype("Int64"), "description": demo["description"],
        "internal_note": demo["internal_note"], "created": demo["created"],
        "photo_paths": [[] for _ in range(len(demo))], "walk_id": demo["walk_id"],
        "channel": "import:geojson"}, geometry=demo.geometry, crs=CRS_)
    rep = store.import_findings(gdf, "fynd_demo.geojson")
    assert rep.new == len(demo) == 20 and rep.ok and not rep.notes


# --- processes --------------------------------------------------------------------------

def _killed_import_child(path: str, started: mp.synchronize.Event) -> None:
    store = GeoPackageStore(path, CRS_)

    def hook() -> None:
        started.set()
        time.sleep(60)  # the parent SIGKILLs us here, inside the open transaction

    store.import_findings(import_frame(2000, start=1000, desc_len=3000), "big.gpkg",
                          on_transaction=hook)


def test_killed_import_leaves_no_partial_rows(store: GeoPackageStore) -> None:
    before = store.import_findings(import_frame(3), "small.gpkg")
    started = CTX.Event()
    child = CTX.Process(target=_killed_import_child, args=(str(store.path), started))
    child.start()
    try:
        assert started.wait(30), "child never reached the transaction"
        wal = Path(f"{store.path}-wal")
        # the uncommitted transaction did reach the disk (cache spilled into the WAL)
        assert wal.exists() and wal.stat().st_size > 1_000_000
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.join(10)
    assert child.exitcode == -signal.SIGKILL
    reopened = GeoPackageStore(store.path, CRS_)
    frame = reopened.findings()
    assert sorted(frame.index) == sorted(before.new_ids)  # no partial rows, old rows intact
    assert count_rows(store.path, "finding_updates") == 3
    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    assert len(pyogrio.read_dataframe(store.path, layer="findings")) == 3
    # the lock died with the process: writing works at once
    assert reopened.import_findings(import_frame(2, start=50), "next.gpkg").new == 2


def _writer_child(path: str, worker: int, n: int) -> None:
    store = GeoPackageStore(path, CRS_, busy_timeout_s=60)
    for i in range(n):
        store.add_finding(make_finding(worker * 1000 + i, channel=f"test:{worker}"))


def test_eight_concurrent_writers_lose_no_rows(store: GeoPackageStore) -> None:
    procs = [CTX.Process(target=_writer_child, args=(str(store.path), w, 200))
             for w in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 8
    assert count_rows(store.path) == 1600
    assert count_rows(store.path, "finding_updates") == 1600
    frame = store.findings()
    assert frame.index.is_unique and len(frame) == 1600
    assert frame["channel"].value_counts().tolist() == [200] * 8


def test_fix_recorded_afterwards_keeps_its_date(store: GeoPackageStore) -> None:
    f = store.add_finding(make_finding())
    done = datetime(2024, 11, 3, 9, 30, tzinfo=UTC)
    with pytest.raises(ValidationError, match="fixed_at.*timezone-aware"):
        store.set_state(f.id, 1, m.ATGARDAD, "lampan bytt", "staff",
                        fixed_at=datetime(2024, 11, 3, 9, 30))
    with pytest.raises(ValidationError, match="not in the future"):
        store.set_state(f.id, 1, m.ATGARDAD, "lampan bytt", "staff",
                        fixed_at=datetime(2999, 1, 1, tzinfo=UTC))
    fixed = store.set_state(f.id, 1, m.ATGARDAD, "lampan bytt", "staff", fixed_at=done)
    assert fixed.fixed_at == done
    assert store.findings().loc[f.id, "fixed_at"] == pd.Timestamp(done)
