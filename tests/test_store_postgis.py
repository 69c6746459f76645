"""PostGIS-only store behaviour: errors that name the fix, the schema QGIS reads, the
append-only history in the database, concurrency between processes, kill -9, and the
``trygga store`` / ``trygga walks moderate`` commands.

Runs on the throwaway cluster ``./dev.sh test`` starts (``TRYGGA_TEST_PG``); never skipped
in CI.
"""

from __future__ import annotations

import dataclasses
import datetime
import multiprocessing as mp
import os
import signal
import socket
import sqlite3
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from _server import temp_profile
from test_store_contract import CRS_, finding, import_frame
from typer.testing import CliRunner

from layers import load_profile
from walks import model as m
from walks.backends.postgis import PostGISBackend
from walks.store import (
    ConflictError,
    FindingStore,
    GeoPackageStore,
    SchemaTooOldError,
    StoreError,
    open_store,
)

CTX = mp.get_context("fork")
ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "data" / "stromstad" / "profile.toml"


def pg_store(dsn: str, schema: str, actor_id: str = "local:test") -> FindingStore:
    backend = PostGISBackend(dsn, CRS_, schema=schema)
    backend.init()
    return FindingStore(backend, actor_id=actor_id)


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


# --- clear errors ------------------------------------------------------------------------

def test_unreachable_server_says_so() -> None:
    backend = PostGISBackend(f"postgresql://postgres@127.0.0.1:{_free_port()}/trygga", CRS_,
                             connect_timeout_s=2)
    with pytest.raises(StoreError, match=r"cannot reach the PostgreSQL server .*Fix: check "
                                         r"that the server runs"):
        FindingStore(backend)


def test_wrong_password_says_so(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute("DROP ROLE IF EXISTS trygga_pw")
        con.execute("CREATE ROLE trygga_pw LOGIN PASSWORD 'rätt-lösenord-123'")
    host = pg_dsn.split("@", 1)[1]
    old = os.environ.get("PGPASSWORD")
    os.environ["PGPASSWORD"] = "fel"
    try:
        backend = PostGISBackend(f"postgresql://trygga_pw@{host}", CRS_)
        with pytest.raises(StoreError, match=r"refused the login.*PGPASSWORD"):
            FindingStore(backend)
    finally:
        if old is None:
            os.environ.pop("PGPASSWORD", None)
        else:
            os.environ["PGPASSWORD"] = old


def test_password_in_the_setting_is_refused() -> None:
    with pytest.raises(StoreError, match="holds a password.*PGPASSWORD"):
        PostGISBackend("postgresql://anna:hemligt@db.kommun.se/trygga", CRS_)
    with pytest.raises(StoreError, match="holds a password"):
        PostGISBackend("host=db dbname=trygga password=hemligt", CRS_)


def test_missing_postgis_extension_says_what_to_do(pg_dsn: str) -> None:
    db = f"nopostgis_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{db}"')
    try:
        url = pg_dsn.rsplit("/", 1)[0] + f"/{db}"
        with pytest.raises(StoreError, match="no PostGIS extension.*postgresql-15-postgis-3"):
            FindingStore(PostGISBackend(url, CRS_))
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as con:
            con.execute(f'DROP DATABASE "{db}" WITH (FORCE)')


def test_not_initialised_and_too_old_schema(pg_dsn: str, pg_schema: str) -> None:
    backend = PostGISBackend(pg_dsn, CRS_, schema=pg_schema)
    with pytest.raises(StoreError, match="no trygga tables yet.*trygga store init"):
        FindingStore(backend)
    backend.init()
    FindingStore(backend).add_finding(finding())
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute(f"UPDATE \"{pg_schema}\".trygga_meta SET value = '1' "
                    "WHERE key = 'schema_version'")
    with pytest.raises(SchemaTooOldError, match="schema version 1.*run `trygga store upgrade`"):
        FindingStore(backend)
    assert backend.upgrade() == 1
    assert len(FindingStore(backend).findings()) == 1  # data kept
    other = PostGISBackend(pg_dsn, "EPSG:3006", schema=pg_schema)
    with pytest.raises(StoreError, match="is in EPSG:3007, not EPSG:3006"):
        FindingStore(other)


def test_geopackage_of_schema_1_needs_an_upgrade(tmp_path: Path) -> None:
    """A store written by the previous trygga (schema 1) is refused, then upgraded."""
    path = tmp_path / "walks.gpkg"
    s = GeoPackageStore(path, CRS_)
    f = s.add_finding(finding())
    s.close()
    con = sqlite3.connect(path)  # turn it back into a schema-1 file
    from walks.backends.gpkg import _ADDED

    for table, col, _type in _ADDED[2]:
        con.execute(f'ALTER TABLE "{table}" DROP COLUMN "{col}"')
    con.execute("DROP INDEX findings_import_key_idx")
    con.execute("UPDATE trygga_meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(SchemaTooOldError, match="run `trygga store upgrade`"):
        GeoPackageStore(path, CRS_)
    assert GeoPackageStore(path, CRS_, check_schema=False).backend.upgrade() == 1
    s = GeoPackageStore(path, CRS_)
    got = s.get_finding(f.id)
    assert got.moderation == "approved"  # was public before moderation existed
    assert got.description == f.description


def test_geopackage_of_schema_2_gets_the_documents_table(tmp_path: Path) -> None:
    """Schema 3 adds the documents table (the promise logs); a schema-2 file is refused,
    then upgraded, and the table is a GeoPackage attributes table GDAL lists."""
    path = tmp_path / "walks.gpkg"
    s = GeoPackageStore(path, CRS_)
    f = s.add_finding(finding())
    s.close()
    con = sqlite3.connect(path)
    con.execute("DROP TABLE documents")
    con.execute("DELETE FROM gpkg_contents WHERE table_name = 'documents'")
    con.execute("UPDATE trygga_meta SET value = '2' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(SchemaTooOldError, match="schema version 2.*run `trygga store upgrade`"):
        GeoPackageStore(path, CRS_)
    assert GeoPackageStore(path, CRS_, check_schema=False).backend.upgrade() == 2
    s = GeoPackageStore(path, CRS_)
    assert s.get_finding(f.id).description == f.description
    assert s.update_document("aktiviteter.csv", lambda _old: "datum;löfte\r\n")
    s.close()
    import pyogrio

    layers = {name: geom for name, geom in pyogrio.list_layers(path)}
    assert "documents" in layers and layers["documents"] is None  # non-spatial
    docs = pyogrio.read_dataframe(path, layer="documents")
    assert docs["name"].tolist() == ["aktiviteter.csv"]


def test_postgis_of_schema_2_gets_the_documents_table(pg_dsn: str, pg_schema: str) -> None:
    backend = PostGISBackend(pg_dsn, CRS_, schema=pg_schema)
    backend.init()
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute(f'DROP TABLE "{pg_schema}".documents')
        con.execute(f"UPDATE \"{pg_schema}\".trygga_meta SET value = '2' "
                    "WHERE key = 'schema_version'")
    with pytest.raises(SchemaTooOldError, match="schema version 2"):
        FindingStore(backend)
    assert backend.upgrade() == 2
    store = FindingStore(backend)
    assert store.update_document("milstolpar.csv", lambda _old: "datum;löfte;steg\r\n")
    assert store.document("milstolpar.csv") == "datum;löfte;steg\r\n"


def _log_writer(profile_file: str, store: str, schema: str, worker: int, n: int) -> None:
    from promises.activities import Activity, open_activity_log
    from promises.register import load_register, register_for_profile

    prof = dataclasses.replace(load_profile(profile_file), store=store, store_schema=schema,
                               demo=False)
    reg_file = register_for_profile(prof)
    assert reg_file is not None
    reg = load_register(reg_file)
    log = open_activity_log(prof, reg)
    for i in range(n):
        log.add(Activity(datetime.date(2024, 3, 1 + i), "trafikkontroller", 1,
                         note=f"w{worker}-{i}"), reg)


@pytest.mark.parametrize("kind", ["gpkg", "postgis"])
def test_four_processes_logging_activities_lose_nothing(kind: str, tmp_path: Path,
                                                        request: pytest.FixtureRequest) -> None:
    """The activity log lives in the store: four writers (app instances, the command
    line) adding to it at once keep every entry, on a GeoPackage and on PostGIS."""
    from promises.activities import open_activity_log

    if kind == "postgis":
        dsn = request.getfixturevalue("pg_dsn")
        schema = request.getfixturevalue("pg_schema")
        PostGISBackend(dsn, CRS_, schema=schema).init()
        target = dsn
    else:
        target, schema = str(tmp_path / "walks.gpkg"), "trygga"
    procs = [CTX.Process(target=_log_writer, args=(str(PROFILE), target, schema, w, 10))
             for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0] * 4
    prof = dataclasses.replace(load_profile(PROFILE), store=target, store_schema=schema,
                               demo=False)
    notes = sorted(a.note for a in open_activity_log(prof).activities())
    assert notes == sorted(f"w{w}-{i}" for w in range(4) for i in range(10))


def test_open_store_chooses_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        pg_dsn: str, pg_schema: str) -> None:
    prof = load_profile(PROFILE)
    gp = open_store(dataclasses.replace(prof, store=str(tmp_path / "x.gpkg")))
    assert isinstance(gp, GeoPackageStore) and (tmp_path / "x.gpkg").exists()
    with pytest.raises(StoreError, match="neither a file path nor a PostgreSQL address"):
        open_store(dataclasses.replace(prof, store="http://db.kommun.se/trygga"))
    assert not list(Path.cwd().glob("http*"))  # no local file named like the URL
    PostGISBackend(pg_dsn, CRS_, schema=pg_schema).init()
    monkeypatch.setenv("TRYGGA_STORE", pg_dsn)
    pg = open_store(dataclasses.replace(prof, store_schema=pg_schema))
    assert isinstance(pg.backend, PostGISBackend)
    assert "hemligt" not in pg.label and pg.label.endswith(f"(schema {pg_schema})")


# --- what QGIS and the database see ------------------------------------------------------

def test_qgis_layers_and_append_only_history(pg_dsn: str, pg_schema: str) -> None:
    store = pg_store(pg_dsn, pg_schema)
    f = store.add_finding(finding())
    store.add_walk(m.Walk(id="w1", title="Vandring", start=finding().created, light="mörker"))
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        cols = con.execute(
            "SELECT f_table_name, f_geometry_column, srid, type FROM geometry_columns "
            "WHERE f_table_schema = %s ORDER BY 1", (pg_schema,)).fetchall()
        assert cols == [("findings", "geom", 3007, "POINT"),
                        ("walks", "geom", 3007, "LINESTRING")]
        pks = con.execute(
            "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu USING (constraint_name, table_schema) "
            "WHERE tc.table_schema = %s AND tc.constraint_type = 'PRIMARY KEY' "
            "AND tc.table_name IN ('findings', 'walks') ORDER BY 1", (pg_schema,)).fetchall()
        assert pks == [("findings", "fid"), ("walks", "fid")]
        gist = con.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND "
                           "indexname = 'findings_geom_idx'", (pg_schema,)).fetchone()
        assert gist is not None and "USING gist" in gist[0]
        x, y = con.execute(f'SELECT ST_X(geom), ST_Y(geom) FROM "{pg_schema}".findings '
                           "WHERE uuid = %s", (f.id,)).fetchone()
        assert (x, y) == (f.geometry.x, f.geometry.y)
        assert con.execute(f'SELECT time AT TIME ZONE \'UTC\' = %s FROM "{pg_schema}".'
                           "finding_updates", (None,)).fetchone() is not None
        for stmt in (f'UPDATE "{pg_schema}".finding_updates SET note = \'x\'',
                     f'DELETE FROM "{pg_schema}".finding_updates',
                     f'TRUNCATE "{pg_schema}".finding_updates CASCADE'):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                con.execute(stmt)
    assert len(store.history(f.id)) == 1


# --- processes ---------------------------------------------------------------------------

def _writer(dsn: str, schema: str, worker: int, n: int) -> None:
    store = FindingStore(PostGISBackend(dsn, CRS_, schema=schema), actor_id=f"w{worker}")
    for i in range(n):
        store.add_finding(finding(worker * 1000 + i, channel=f"test:{worker}"))


def test_eight_processes_by_500_findings_lose_nothing(pg_dsn: str, pg_schema: str) -> None:
    store = pg_store(pg_dsn, pg_schema)
    procs = [CTX.Process(target=_writer, args=(pg_dsn, pg_schema, w, 500)) for w in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0] * 8
    frame = store.findings()
    assert len(frame) == 4000 and frame.index.is_unique
    assert frame["channel"].value_counts().tolist() == [500] * 8
    assert sorted(frame["created_by"].unique()) == [f"w{w}" for w in range(8)]
    with store.backend.reading() as t:
        assert len(t.updates(None)) == 4000


def _stale_editor(dsn: str, schema: str, fid: str, me: int, rounds: int,
                  barrier: mp.synchronize.Barrier, results: mp.Queue) -> None:  # type: ignore[type-arg]
    store = FindingStore(PostGISBackend(dsn, CRS_, schema=schema), actor_id=f"editor{me}")
    for r in range(rounds):
        version = store.get_finding(fid).version
        barrier.wait(30)  # both have read the same version
        try:
            store.update_finding(fid, version, description=f"round {r} by {me}")
            results.put((r, me, "ok"))
        except ConflictError:
            results.put((r, me, "conflict"))
        barrier.wait(30)


def test_stale_edits_from_two_processes_are_conflicts(pg_dsn: str, pg_schema: str) -> None:
    store = pg_store(pg_dsn, pg_schema)
    f = store.add_finding(finding())
    rounds = 25
    barrier = CTX.Barrier(2)
    results = CTX.Queue()
    procs = [CTX.Process(target=_stale_editor, args=(pg_dsn, pg_schema, f.id, me, rounds,
                                                     barrier, results)) for me in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    got = [results.get(timeout=5) for _ in range(2 * rounds)]
    for r in range(rounds):
        outcomes = sorted(o for rr, _me, o in got if rr == r)
        assert outcomes == ["conflict", "ok"], f"round {r}: {outcomes}"
    hist = store.history(f.id)
    assert [h.version_after for h in hist] == list(range(1, rounds + 2))
    last = hist[-1]
    assert store.get_finding(f.id).description == last.changes["description"]["after"]
    assert store.get_finding(f.id).version == rounds + 1


def _importer(dsn: str, schema: str, barrier: mp.synchronize.Barrier,
              results: mp.Queue) -> None:  # type: ignore[type-arg]
    store = FindingStore(PostGISBackend(dsn, CRS_, schema=schema))
    frame = import_frame(300)
    barrier.wait(30)
    rep = store.import_findings(frame, "samma_fil.gpkg")
    results.put((rep.new, rep.duplicates))


def test_four_processes_importing_one_file_create_no_duplicates(pg_dsn: str,
                                                               pg_schema: str) -> None:
    store = pg_store(pg_dsn, pg_schema)
    barrier = CTX.Barrier(4)
    results = CTX.Queue()
    procs = [CTX.Process(target=_importer, args=(pg_dsn, pg_schema, barrier, results))
             for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 4
    reps = [results.get(timeout=5) for _ in range(4)]
    assert sum(n for n, _d in reps) == 300
    assert all(n + d == 300 for n, d in reps)
    frame = store.findings()
    assert len(frame) == 300 and frame["source_id"].is_unique
    with store.backend.reading() as t:
        assert len(t.updates(None)) == 300  # history only for rows really inserted


def _killed_importer(dsn: str, schema: str, started: mp.synchronize.Event) -> None:
    store = FindingStore(PostGISBackend(dsn, CRS_, schema=schema))

    def hook() -> None:
        started.set()
        time.sleep(60)  # the parent SIGKILLs us here, inside the open transaction

    store.import_findings(import_frame(2000, start=1000), "stor.gpkg", on_transaction=hook)


def test_kill_9_during_an_import_leaves_nothing_partial(pg_dsn: str, pg_schema: str) -> None:
    store = pg_store(pg_dsn, pg_schema)
    before = store.import_findings(import_frame(3), "liten.gpkg")
    started = CTX.Event()
    child = CTX.Process(target=_killed_importer, args=(pg_dsn, pg_schema, started))
    child.start()
    try:
        assert started.wait(60), "child never reached the transaction"
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.join(10)
    assert child.exitcode == -signal.SIGKILL
    assert sorted(store.findings().index) == sorted(before.new_ids)
    # the dead client's locks go with its connection: the same rows import at once
    assert store.import_findings(import_frame(5, start=1000), "igen.gpkg").new == 5


# --- the commands ------------------------------------------------------------------------

def test_store_commands_move_a_kommun_to_postgis_and_back(
        tmp_path: Path, pg_dsn: str, pg_schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from trygga_cli.main import app

    src = tmp_path / "walks.gpkg"
    s = GeoPackageStore(src, CRS_)
    f = s.add_finding(finding())
    s.set_state(f.id, 1, m.ATGARDAD, "klart", "staff")
    s.import_findings(import_frame(4, channel="import:survey123"), "formular.csv")
    prof = temp_profile(tmp_path / "prof")
    text = prof.read_text(encoding="utf-8")
    assert "\ndemo = true" in text
    prof.write_text(text.replace("\ndemo = true",
                                 f'\ndemo = false\nstore_schema = "{pg_schema}"'),
                    encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(app, ["store", "copy", str(src), pg_dsn, "--profile", str(prof)])
    assert r.exit_code == 0, r.output
    assert "findings 5" in r.output and "finding_updates 6" in r.output
    r = runner.invoke(app, ["store", "info", pg_dsn, "--profile", str(prof)])
    assert r.exit_code == 0, r.output
    assert "awaiting moderation" in r.output or "väntar på moderering" in r.output
    r = runner.invoke(app, ["walks", "moderate", "--store", pg_dsn, "--profile", str(prof)])
    assert r.exit_code == 0, r.output
    pending = [line.split()[0] for line in r.output.splitlines() if line.strip()]
    assert len(pending) == 4
    r = runner.invoke(app, ["walks", "moderate", "--approve", pending[0], "--text",
                            "Trasig lampa", "--store", pg_dsn, "--profile", str(prof)])
    assert r.exit_code == 0 and "approved" in r.output, r.output
    out = tmp_path / "publik.geojson"
    r = runner.invoke(app, ["walks", "export-public", "--out", str(out), "--store", pg_dsn,
                            "--profile", str(prof)])
    assert r.exit_code == 0, r.output
    public = out.read_text(encoding="utf-8")
    assert "Trasig lampa" in public and public.count('"Feature"') == 2
    back = tmp_path / "tillbaka.gpkg"
    r = runner.invoke(app, ["store", "copy", pg_dsn, str(back), "--profile", str(prof)])
    assert r.exit_code == 0, r.output
    import pyogrio

    assert pyogrio.read_info(back, layer="findings")["features"] == 5
    r = runner.invoke(app, ["store", "copy", str(src), str(back), "--profile", str(prof)])
    assert r.exit_code == 2 and "not empty" in r.output


def test_app_pages_and_public_map_run_unchanged_on_postgis(
        tmp_path: Path, pg_dsn: str, pg_schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo profile pointed at PostGIS (TRYGGA_STORE): staff and public pages work and
    the store is shared: a write on one 'instance' is seen by the other."""
    from streamlit.testing.v1 import AppTest

    from trygga_cli.main import app

    prof = temp_profile(tmp_path / "prof")
    text = prof.read_text(encoding="utf-8")
    prof.write_text(text.replace("\ndemo = true", f'\ndemo = true\nstore_schema = "{pg_schema}"'),
                    encoding="utf-8")
    PostGISBackend(pg_dsn, CRS_, schema=pg_schema).init()
    monkeypatch.setenv("TRYGGA_STORE", pg_dsn)
    monkeypatch.setenv("TRYGGA_PROFILE", str(prof))
    monkeypatch.delenv("TRYGGA_MODE", raising=False)
    actions = AppTest.from_file(str(ROOT / "ui" / "pages" / "atgarder.py"),
                                default_timeout=90).run()
    assert not actions.exception, [e.value for e in actions.exception]
    assert not (tmp_path / "prof" / "walks.gpkg").exists()  # nothing local
    with open_store(load_profile(prof)) as store:
        assert isinstance(store.backend, PostGISBackend)
        seeded = store.findings()
    assert len(seeded) > 10  # the demo findings went into PostGIS
    public = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    public.switch_page("ui/pages/offentlig.py").run()
    assert not public.exception, [e.value for e in public.exception]
    out = tmp_path / "karta.html"
    r = CliRunner().invoke(app, ["public-map", "--out", str(out), "--profile", str(prof)])
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    shown = seeded.loc[~seeded["non_public"] & seeded["moderation"].eq("approved")
                       & ~seeded["description"].str.contains(r"[<>&\"']", regex=True)]
    assert len(shown) > 5
    assert all(d in html for d in shown["description"].head(5))
