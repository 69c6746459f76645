"""The store contract: the same tests against every backend (memory, GeoPackage, PostGIS).

The rules live in :class:`walks.store.FindingStore`; each backend must keep records, run
transactions all-or-nothing and enforce the import-key constraint. The PostGIS case runs on
the throwaway cluster ``./dev.sh test`` starts (never skipped in CI).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from PIL import Image
from shapely.geometry import LineString, Point

from layers._common import ValidationError
from walks import model as m
from walks.backends.memory import MemoryBackend
from walks.public import public_geojson, public_view
from walks.store import (
    ConflictError,
    FindingStore,
    GeoPackageStore,
    ImportRejectedError,
    ModerationPolicy,
)

CRS_ = "EPSG:3007"
X0, Y0 = 102_000.0, 6_535_000.0  # Strömstad, SWEREF 99 12 00 (EPSG:3007)
NOW = datetime(2025, 10, 15, 18, 0, tzinfo=UTC)

BACKENDS = ["memory", "gpkg", "postgis"]


def make_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest,
               actor_id: str = "local:anna", **kw: object) -> FindingStore:
    """A new, empty store on *kind*."""
    if kind == "memory":
        return FindingStore(MemoryBackend(CRS_), actor_id=actor_id, **kw)  # type: ignore[arg-type]
    if kind == "gpkg":
        return GeoPackageStore(tmp_path / "walks.gpkg", CRS_, actor_id=actor_id,
                               **kw)  # type: ignore[arg-type]
    from walks.backends.postgis import PostGISBackend

    dsn = request.getfixturevalue("pg_dsn")
    schema = request.getfixturevalue("pg_schemas")()
    backend = PostGISBackend(dsn, CRS_, schema=schema)
    backend.init()
    return FindingStore(backend, actor_id=actor_id, **kw)  # type: ignore[arg-type]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FindingStore]:
    s = make_store(request.param, tmp_path, request)
    yield s
    s.close()


def finding(i: int = 0, **kw: object) -> m.Finding:
    base: dict[str, object] = dict(
        id=m.new_id(), geometry=Point(X0 + i, Y0 + i), created=NOW, category="belysning",
        severity=2, description=f"Mörkt vid lampa {i}", internal_note="intern",
        walk_id="demo-1")
    base.update(kw)
    return m.Finding(**base)  # type: ignore[arg-type]


def import_frame(n: int, *, start: int = 0, channel: str = "import:qfield",
                 **cols: object) -> gpd.GeoDataFrame:
    rows = range(start, start + n)
    df = pd.DataFrame({
        "source_id": [f"qfield:demo:{i}" for i in rows],
        "category": ["belysning"] * n,
        "raw_category": ["Lighting"] * n,
        "severity": pd.array([2] * n, dtype="Int64"),
        "description": [f"Fynd {i}" for i in rows],
        "internal_note": ["intern anteckning"] * n,
        "created": pd.Series([pd.Timestamp("2025-10-15 18:00", tz="Europe/Stockholm")] * n),
        "photo_paths": [[] for _ in rows],
        "walk_id": ["demo-1"] * n,
        "channel": [channel] * n,
    }, index=pd.Index([str(i + 2) for i in rows]))
    for k, v in cols.items():
        df[k] = v  # type: ignore[call-overload]
    return gpd.GeoDataFrame(df, geometry=[Point(X0 + i, Y0 + i) for i in rows], crs=CRS_)


def jpeg_with_gps() -> bytes:
    im = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "Kamera AB"  # Make
    gps = {1: "N", 2: (58.0, 56.0, 10.0), 3: "E", 4: (11.0, 10.0, 20.0)}
    exif[0x8825] = gps
    buf = io.BytesIO()
    im.save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


# --- findings, versions, history ---------------------------------------------------------

def test_add_get_and_frame_round_trip(store: FindingStore) -> None:
    f = finding(deadline=None, responsible="kommun gata/park", photos=())
    saved = store.add_finding(f, author_role="staff")
    assert store.get_finding(f.id) == saved == f  # channel-less staff finding: approved
    frame = store.findings()
    assert list(frame.index) == [f.id] and frame.index.name == "id"
    row = frame.iloc[0]
    assert row["created"] == pd.Timestamp(NOW) and str(row["created"].tz) == "UTC"
    assert (row["moderation"], row["created_by"], row["version"]) == ("approved",
                                                                       "local:anna", 1)
    assert row.geometry.equals(Point(X0, Y0)) and frame.crs == CRS_
    with pytest.raises(KeyError):
        store.get_finding(m.new_id())
    with pytest.raises(ValidationError, match="already exists"):
        store.add_finding(f)


def test_stale_write_is_a_conflict_and_overwrites_nothing(store: FindingStore) -> None:
    f = store.add_finding(finding())
    store.update_finding(f.id, 1, description="Ny text", note="första")
    with pytest.raises(ConflictError, match="version 1, the store has version 2"):
        store.update_finding(f.id, 1, description="gammal ändring")
    cur = store.get_finding(f.id)
    assert (cur.description, cur.description_original, cur.version) == (
        "Ny text", "Mörkt vid lampa 0", 2)
    with pytest.raises(ValidationError, match="field 'moderation': this field cannot"):
        store.update_finding(f.id, 2, moderation="approved")


def test_history_records_who_did_what(store: FindingStore) -> None:
    f = store.add_finding(finding())
    store.acting_as("oidc:3f2a9c").set_state(f.id, 1, m.ATGARDAD, "lampan bytt", "staff")
    hist = store.history(f.id)
    assert [(h.author_id, h.state_before, h.state_after, h.version_after) for h in hist] == [
        ("local:anna", None, "ny", 1), ("oidc:3f2a9c", "ny", "åtgärdad", 2)]
    assert hist[1].changes == {}  # state and fix date are in the entry itself
    view = public_view(store.findings())
    assert "oidc:3f2a9c" not in view.to_json() and "local:anna" not in view.to_json()


def test_closing_needs_a_reason_and_only_the_public_note_is_public(
        store: FindingStore) -> None:
    f = store.add_finding(finding())
    with pytest.raises(ValidationError, match="requires a reason"):
        store.set_state(f.id, 1, m.AVSLUTAD_UTAN_ATGARD, "nej", "staff")
    store.set_state(f.id, 1, m.AVSLUTAD_UTAN_ATGARD, "nej", "staff",
                    reason="Fastighetsägaren Berg vill inte", public_note="Privat mark.")
    staff = store.findings()
    assert staff.loc[f.id, "closed_reason"] == "Fastighetsägaren Berg vill inte"
    text = str(public_geojson(public_view(staff)))
    assert "Privat mark." in text and "Berg" not in text


def test_fixed_at_in_the_future_is_refused(store: FindingStore) -> None:
    f = store.add_finding(finding())
    with pytest.raises(ValidationError, match="fixed_at"):
        store.set_state(f.id, 1, m.ATGARDAD, "x", "staff",
                        fixed_at=datetime(2999, 1, 1, tzinfo=UTC))
    done = store.set_state(f.id, 1, m.ATGARDAD, "x", "staff",
                           fixed_at=datetime(2025, 11, 3, 10, 0, tzinfo=UTC))
    assert done.fixed_at == datetime(2025, 11, 3, 10, 0, tzinfo=UTC)


# --- walks -------------------------------------------------------------------------------

def test_walks_add_state_forward_and_conflict(store: FindingStore) -> None:
    w = m.Walk(id="w-2025-1", title="Kvällsvandring", start=NOW, light="mörker",
               school="Strömstiernaskolan",
               route=LineString([(X0, Y0), (X0 + 100, Y0)]),
               stops=(m.Stop(Point(X0, Y0), "Start"),), participants={"unga": 4})
    store.add_walk(w)
    with pytest.raises(ValidationError, match="already exists"):
        store.add_walk(w)
    held = store.set_walk_state(w.id, 1, "genomförd")
    with pytest.raises(ConflictError):
        store.set_walk_state(w.id, 1, "genomförd")
    with pytest.raises(ValidationError, match="cannot go back"):
        store.set_walk_state(w.id, held.version, "planerad")
    frame = store.walks()
    assert frame.loc[w.id, "state_label"] == "genomförd"
    assert frame.loc[w.id, "created_by"] == "local:anna"
    assert frame.loc[w.id, "stops"] == [{"x": X0, "y": Y0, "label": "Start"}]
    assert frame.loc[w.id, "geometry"].length == pytest.approx(100.0)


# --- import ------------------------------------------------------------------------------

def test_import_all_or_nothing_and_reimport_creates_nothing(store: FindingStore) -> None:
    rep = store.import_findings(import_frame(5), "fynd.gpkg")
    assert (rep.new, rep.duplicates) == (5, 0)
    again = store.import_findings(import_frame(5), "fynd.gpkg")
    assert (again.new, again.duplicates) == (0, 5)
    bad = import_frame(3, start=10)
    bad.loc["11", "severity"] = 7
    with pytest.raises(ImportRejectedError, match="row 11, column 'severity'"):
        store.import_findings(bad, "trasig.gpkg")
    assert len(store.findings()) == 5
    dry = store.import_findings(import_frame(3, start=20), "prov.gpkg", dry_run=True)
    assert dry.new == 3 and len(store.findings()) == 5


def test_import_key_is_a_constraint_not_a_check(store: FindingStore) -> None:
    """Even a row that slipped past the planning check cannot be inserted twice."""
    store.import_findings(import_frame(2), "fynd.gpkg")
    rec = store.findings().iloc[0]

    def tx(t):  # type: ignore[no-untyped-def]
        row = t.finding(rec.name)
        row["uuid"] = m.new_id()
        return t.insert_findings([row])
    assert store.backend.write(tx) == set()
    assert len(store.findings()) == 2


# --- moderation --------------------------------------------------------------------------

def test_residents_findings_wait_for_moderation(store: FindingStore) -> None:
    store.import_findings(import_frame(2, channel="import:survey123"), "formular.csv")
    staff_rep = store.import_findings(import_frame(1, start=50), "qfield.gpkg")
    queue = store.moderation_queue()
    assert len(queue) == 2 and set(queue["moderation"]) == {"pending"}
    view = public_view(store.findings())
    assert view["id"].tolist() == list(staff_rep.new_ids)  # only the staff finding
    first = queue.index[queue["description"].eq("Fynd 0")][0]
    second = queue.index[queue["description"].eq("Fynd 1")][0]
    f = store.moderate(first, 1, "approve", public_text="Trasig lampa vid busshållplatsen",
                       note="namn borttaget")
    assert (f.moderation, f.description) == ("approved", "Trasig lampa vid busshållplatsen")
    assert f.description_original == "Fynd 0"
    store.moderate(second, 1, "reject", note="skräp")
    view = public_view(store.findings())
    assert sorted(view["id"]) == sorted([first, *staff_rep.new_ids])
    assert "Fynd 0" not in view.to_json()
    entry = store.history(first)[-1]
    assert entry.note.startswith("moderering: godkänd") and entry.author_id == "local:anna"
    assert entry.changes["moderation"] == {"before": "pending", "after": "approved"}
    assert entry.changes["description"]["before"] == "Fynd 0"
    assert store.moderation_queue().empty
    with pytest.raises(ValidationError, match="unknown decision"):
        store.moderate(second, 2, "maybe")


def test_staff_public_false_sends_everything_to_moderation(
        request: pytest.FixtureRequest, tmp_path: Path) -> None:
    s = make_store("memory", tmp_path, request,
                   moderation=ModerationPolicy(staff_public=False))
    f = s.add_finding(finding(channel="app"))
    assert f.moderation == "pending"
    assert public_view(s.findings()).empty
    assert ModerationPolicy().initial("app", "public") == "pending"
    assert ModerationPolicy().initial("import:epicollect5", "import") == "pending"
    assert ModerationPolicy().initial("import:gpx", "import") == "approved"


# --- photos ------------------------------------------------------------------------------

def test_photos_are_shared_and_the_public_copy_has_no_exif(store: FindingStore) -> None:
    raw = jpeg_with_gps()
    sp = store.add_photo(raw, "IMG_1.jpg")
    assert sp.proposed_location is not None
    f = store.add_finding(finding(photos=(sp.sha256,)))
    assert store.photo_bytes(sp.sha256) == raw
    pub = store.photo_bytes(sp.public_sha256, public=True)
    assert Image.open(io.BytesIO(pub)).getexif() == {}
    assert store.findings().loc[f.id, "public_photos"] == [sp.public_sha256]
    with pytest.raises(ValidationError, match="unknown photo"):
        store.add_finding(finding(1, photos=("0" * 64,)))
    with pytest.raises(KeyError):
        store.photo_bytes("f" * 64)


# --- copy between backends ---------------------------------------------------------------

@pytest.mark.parametrize("dst_kind", BACKENDS)
def test_copy_keeps_everything_and_checks_it(store: FindingStore, dst_kind: str,
                                             request: pytest.FixtureRequest,
                                             tmp_path: Path) -> None:
    sp = store.add_photo(jpeg_with_gps(), "a.jpg")
    f = store.add_finding(finding(photos=(sp.sha256,)))
    store.set_state(f.id, 1, m.ATGARDAD, "klart", "staff")
    store.import_findings(import_frame(3, channel="import:survey123"), "form.csv")
    store.add_walk(m.Walk(id="w1", title="Vandring", start=NOW, light="mörker"))
    store.update_document("aktiviteter.csv", lambda _old: "datum;löfte\r\n2024-03-01;x\r\n")
    dst_dir = tmp_path / "dst"
    dst_dir.mkdir()
    dst = make_store(dst_kind, dst_dir, request, actor_id="someone-else")
    digest = store.copy_to(dst)
    assert digest == dst.digest()
    assert digest["findings"][0] == 4 and digest["finding_updates"][0] == 5
    assert dst.photo_bytes(sp.public_sha256, public=True) == store.photo_bytes(
        sp.public_sha256, public=True)
    assert dst.history(f.id) == store.history(f.id)
    assert dst.document("aktiviteter.csv") == "datum;löfte\r\n2024-03-01;x\r\n"
    assert digest["documents"][0] == 1
    pd.testing.assert_frame_equal(dst.findings().drop(columns="geometry"),
                                  store.findings().drop(columns="geometry"))
    with pytest.raises(ValidationError, match="not empty"):
        store.copy_to(dst)


# --- import hardening (issue: no double imports, duplicates reported) --------------------

def test_import_reports_likely_duplicates_within_50_m(store: FindingStore) -> None:
    near = store.add_finding(finding(0, category="belysning"))
    frame = import_frame(3, start=100)
    frame.geometry = [Point(X0 + 30, Y0 + 40),     # 50 m from the stored one: reported
                      Point(X0 + 30.1, Y0 + 40),   # 50.08 m: not
                      Point(X0 + 3, Y0 + 4)]       # 5 m but another category: not
    frame.loc["104", "category"] = "buskar/vegetation"
    rep = store.import_findings(frame, "fynd.gpkg", dry_run=True)
    dups = [n for n in rep.notes if "likely duplicate" in n.message]
    assert [(n.row, n.column) for n in dups] == [("102", "geometry")]
    assert near.id in dups[0].message and "50 m away" in dups[0].message
    assert rep.new == 3  # a note, not a refusal


def test_the_same_waypoint_with_and_without_its_time_is_one_finding(
        store: FindingStore) -> None:
    with_time = import_frame(2, channel="import:gpx")
    without = import_frame(2, channel="import:gpx")
    without["created"] = pd.NaT
    assert store.import_findings(with_time, "a.gpx").new == 2
    rep = store.import_findings(without, "b.gpx")
    assert (rep.new, rep.duplicates) == (0, 2)


# --- the walk cycle, lamp faults, residents' "not fixed" --------------------------------

def test_walk_cycle_is_recorded_and_follow_ups_point_back(store: FindingStore) -> None:
    first = store.add_walk(m.Walk(id="skee-2024", title="Skee höst", start=NOW,
                                  light="mörker"))
    w = store.add_walk(m.Walk(id="skee-2025", title="Skee uppföljning", start=NOW,
                              light="mörker"))
    met = datetime(2025, 10, 1, 16, 0, tzinfo=UTC)
    w = store.update_walk(w.id, 1, invited=("boende", "unga", "polis"),
                          focus="belysning, skolvägen", premeeting_at=met, follows=first.id)
    assert (w.invited, w.follows, w.version) == (("boende", "unga", "polis"), first.id, 2)
    with pytest.raises(ValidationError, match="no walk with id 'nope'"):
        store.update_walk(w.id, 2, follows="nope")
    with pytest.raises(ValidationError, match="field 'state': this field cannot"):
        store.update_walk(w.id, 2, state="genomförd")
    with pytest.raises(ValidationError, match="unknown group"):
        store.update_walk(w.id, 2, invited=("Anna Svensson",))
    with pytest.raises(ConflictError):
        store.update_walk(w.id, 1, focus="annat")
    w = store.set_walk_state(w.id, 2, "genomförd")
    w = store.update_walk(w.id, w.version, feedback_at=datetime(2025, 11, 1, 16,
                                                                tzinfo=UTC))
    w = store.set_walk_state(w.id, w.version, "protokoll publicerat")
    assert w.protocol_published_at is not None
    got = store.get_walk(w.id)
    assert got == w and got.premeeting_at == met
    frame = store.walks()
    assert frame.loc[w.id, "invited"] == ["boende", "unga", "polis"]
    assert frame.loc[w.id, "follows"] == first.id
    assert frame.loc[w.id, "feedback_at"] == pd.Timestamp("2025-11-01 16:00", tz="UTC")


def test_lamp_fault_points_at_a_luminaire(store: FindingStore) -> None:
    f = store.add_finding(finding(luminaire_id="SL-0042"))
    assert store.get_finding(f.id).luminaire_id == "SL-0042"
    store.update_finding(f.id, 1, luminaire_id="SL-0043")
    assert store.findings().loc[f.id, "luminaire_id"] == "SL-0043"
    frame = import_frame(1, start=60, luminaire_id=["SL-7"])
    rep = store.import_findings(frame, "fel.csv")
    assert store.get_finding(rep.new_ids[0]).luminaire_id == "SL-7"


def test_residents_say_not_fixed_and_staff_review(store: FindingStore) -> None:
    f = store.add_finding(finding())
    with pytest.raises(ValidationError, match="only public findings marked fixed"):
        store.report_not_fixed(f.id)
    f = store.set_state(f.id, 1, m.ATGARDAD, "bytt lampa", "staff")
    f = store.report_not_fixed(f.id, "Den blinkar fortfarande, ring mig 070-123")
    f = store.report_not_fixed(f.id)
    assert (f.not_fixed_reports, f.state.label) == (2, "åtgärdad")
    entry = store.history(f.id)[-2]
    assert (entry.author_role, entry.author_id) == ("public", "public")
    assert "070-123" in entry.note
    assert "070-123" not in public_view(store.findings()).to_json()
    with pytest.raises(ValidationError, match="not_fixed_reports"):
        store.update_finding(f.id, f.version, not_fixed_reports=0)
    f = store.review_not_fixed(f.id, f.version, reopen=True, note="blinkar, ny felanmälan")
    assert (f.not_fixed_reports, f.state.label, f.fixed_at) == (0, "bedömd", None)


def test_control_and_bidi_characters_are_stripped_on_every_way_in(store: FindingStore) -> None:
    evil = "Lampa\u202e gpj.exe\x07 trasig\u200b"
    f = store.add_finding(finding(description=evil, internal_note="ok\x00", channel="app\u202e"))
    got = store.get_finding(f.id)
    assert (got.description, got.description_original, got.internal_note, got.channel) == (
        "Lampa gpj.exe trasig", "Lampa gpj.exe trasig", "ok", "app")
    got = store.update_finding(f.id, 1, measure="Byt\u202d armatur", public_note="Klar\x1b")
    assert (got.measure, got.public_note) == ("Byt armatur", "Klar")
    frame = import_frame(1, start=70)
    frame["description"] = ["Fynd\u2066 70\x08"]
    frame["source_id"] = ["qfield:\u202edemo:70"]
    rep = store.import_findings(frame, "f.gpkg")
    got = store.get_finding(rep.new_ids[0])
    assert (got.description, got.source_id) == ("Fynd 70", "qfield:demo:70")
    w = store.add_walk(m.Walk(id="w-x", title="Kväll\u202e", start=NOW, light="mörker"))
    assert w.title == "Kväll" and store.get_walk("w-x").title == "Kväll"


def test_documents_read_change_write(store: FindingStore) -> None:
    """The promise logs' documents: one transaction per change, None or the same text
    writes nothing, the author is recorded, and they take part in the digest."""
    assert store.document("milstolpar.csv") is None
    seen: list[str | None] = []

    def first(old: str | None) -> str:
        seen.append(old)
        return "datum;löfte;steg;notering\r\n"

    assert store.update_document("milstolpar.csv", first) is True
    assert seen == [None]
    assert store.update_document("milstolpar.csv", lambda old: None) is False
    assert store.update_document("milstolpar.csv", lambda old: old) is False
    before = store.digest()["documents"]
    assert store.update_document("milstolpar.csv",
                                 lambda old: (old or "") + "2024-03-01;x;påbörjat;å\r\n")
    assert store.document("milstolpar.csv") == ("datum;löfte;steg;notering\r\n"
                                                 "2024-03-01;x;påbörjat;å\r\n")
    assert store.digest()["documents"] != before
    with store.backend.reading() as t:
        rec = t.document("milstolpar.csv")
    assert rec is not None and rec["updated_by"] == "local:anna"
    assert store.document("aktiviteter.csv") is None  # documents are separate
