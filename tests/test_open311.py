"""Open311 GeoReport v2: export of public findings, import of requests.json, and a local
stand-in GeoReport v2 server on 127.0.0.1 (no network)."""

from __future__ import annotations

import dataclasses
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from layers import ValidationError, load_profile
from tests._server import INTERNAL_NOTES
from walks.importers import FINDING_COLUMNS, read_findings_file
from walks.open311 import (
    export_georeport,
    fetch_requests,
    georeport_requests,
    georeport_services,
    requests_url,
)
from walks.public import public_view
from walks.service import open_store

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "data" / "stromstad" / "profile.toml"
FIXTURE = ROOT / "tests" / "fixtures" / "walks" / "open311_requests.json"
#: Fields of a GeoReport v2 service request (GET requests.json).
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name",
                  "service_code", "description", "agency_responsible", "service_notice",
                  "requested_datetime", "updated_datetime", "expected_datetime", "address",
                  "address_id", "zipcode", "lat", "long", "media_url"}
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type",
                  "keywords", "group"}


def _profile(tmp_path: Path):  # type: ignore[no-untyped-def]
    return dataclasses.replace(load_profile(PROFILE), store=tmp_path / "walks.gpkg")


# --- export -------------------------------------------------------------------------------

def test_export_is_the_public_view_in_georeport_form(tmp_path):
    prof = _profile(tmp_path)
    with open_store(prof) as store:
        staff = store.findings(include_hidden=False)
        n_public = len(public_view(staff, categories=store.categories))
        fid = staff.index[0]
        store.update_finding(str(fid), int(staff.loc[fid, "version"]), non_public=True,
                             note="test")
        staff = store.findings(include_hidden=False)
        view = public_view(staff, categories=store.categories, tz=prof.timezone)
        cats = store.categories
    s_path, r_path = export_georeport(view, cats, tmp_path / "out", prof.open311_services)
    requests = json.loads(r_path.read_text(encoding="utf-8"))
    services = json.loads(s_path.read_text(encoding="utf-8"))
    assert len(requests) == len(view) == n_public - 1
    assert all(set(r) == REQUEST_FIELDS for r in requests)
    assert str(fid) not in {r["service_request_id"] for r in requests}     # non-public
    text = r_path.read_text(encoding="utf-8")
    assert not any(note in text for note in INTERNAL_NOTES)
    for forbidden in ("kommun gata/park", "internal", "walk_id", "demo-2024"):
        assert forbidden not in text
    assert all(r["agency_responsible"] is None for r in requests)
    by_id = {r["service_request_id"]: r for r in requests}
    for _, row in view.iterrows():
        r = by_id[row["id"]]
        assert r["status"] == ("open" if row["state_type"] == "open" else "closed")
        assert r["status_notes"] == row["state_label"]
        assert r["requested_datetime"] == row["date"]
        assert r["updated_datetime"] == (row["fixed_date"] if row["state_type"] == "fixed"
                                         else None)
        assert (r["long"], r["lat"]) == pytest.approx((row.geometry.x, row.geometry.y))
    assert {r["service_code"] for r in requests if r["service_name"] == "belysning"} == {
        "gatubelysning"}                       # the profile's first code for the category
    assert all(set(s) == SERVICE_FIELDS for s in services)
    names = [s["service_name"] for s in services]
    assert "känslig plats" not in names and names[0] == "belysning"
    assert len({s["service_code"] for s in services}) == len(services)


def test_export_refuses_a_staff_frame(tmp_path):
    with open_store(_profile(tmp_path)) as store:
        staff = store.findings()
    with pytest.raises(ValueError, match="only the result of public_view"):
        georeport_requests(staff)


def test_services_skip_staff_only_and_retired_categories():
    from walks.categories import Category

    cats = (Category("belysning", synonyms=("lampa", "*lampa")),
            Category("gammal", active=False), Category("hemlig", staff_only=True))
    out = georeport_services(cats)
    assert [s["service_code"] for s in out] == ["belysning"]
    assert out[0]["keywords"] == "lampa" and out[0]["metadata"] is False


# --- import -------------------------------------------------------------------------------

def test_import_reads_requests_through_the_funnel():
    prof = load_profile(PROFILE)
    result = read_findings_file(FIXTURE, prof.crs, service_codes=prof.open311_services)
    assert result.ok, result.problems
    f = result.findings
    assert result.format == "open311" and f.crs.to_epsg() == 3007
    assert list(f.columns) == [*FINDING_COLUMNS, "geometry"]
    assert f["source_id"].tolist() == ["638344", "638345", "638347"]   # closed left out
    assert f["category"].tolist() == ["belysning", "skadegörelse/klotter/nedskräpning",
                                      "skymd sikt/gömställen"]
    assert (f["channel"] == "import:open311").all()
    assert f["description"].iloc[0] == ("Gatlampan vid busshållplatsen är släckt sedan i "
                                        "fredags. (Karlsgatan 12)")
    assert f["created"].iloc[1].isoformat() == "2024-11-05T09:01:00+01:00"
    warnings = "\n".join(result.warnings)
    assert "1 closed request(s) left out" in warnings and "638346" in warnings
    assert "graffiti, sikt" in warnings            # codes the profile does not map
    assert "photo links on the web were not downloaded" in warnings     # media_url
    assert "open311.example.se/photo/638344.jpeg" in f["internal_note"].iloc[0]


def test_import_problems_name_the_request(tmp_path):
    bad = json.loads(FIXTURE.read_text(encoding="utf-8"))
    del bad[0]["lat"]
    bad[1]["service_request_id"] = bad[3]["service_request_id"]
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    result = read_findings_file(path, "EPSG:3007")
    rows = {(p.row, p.column) for p in result.problems}
    assert ("1", "lat/long") in rows
    assert any(p.column == "service_request_id" and "duplicate" in p.message
               for p in result.problems)
    path.write_text(json.dumps([{"foo": 1}]), encoding="utf-8")
    result = read_findings_file(path, "EPSG:3007")
    assert "Open311 requests.json" in str(result.problems[0])


def test_export_then_import_round_trip(tmp_path):
    prof = _profile(tmp_path / "a")
    with open_store(prof) as store:
        view = public_view(store.findings(), categories=store.categories, tz=prof.timezone)
        cats = store.categories
    _s, r_path = export_georeport(view, cats, tmp_path / "out", prof.open311_services)
    result = read_findings_file(r_path, prof.crs, service_codes=prof.open311_services)
    assert result.ok, result.problems
    open_ids = set(view.loc[view["state_type"] == "open", "id"])
    assert set(result.findings["source_id"]) == open_ids
    back = result.findings.to_crs("EPSG:4326").set_index("source_id")
    for _, row in view[view["id"].isin(open_ids)].iterrows():
        assert back.loc[row["id"], "category"] == row["category"]
        assert back.loc[row["id"]].geometry.distance(row.geometry) < 1e-5


# --- a stand-in GeoReport v2 server on 127.0.0.1 -------------------------------------------

class _GeoReport(BaseHTTPRequestHandler):
    """GET <base>/services.json and <base>/requests.json with the v2 filters
    (service_code, status, start_date, end_date); errors as a JSON list with code and
    description (GeoReport v2 error format)."""

    base = "/open311/v2"
    requests: list[dict] = []
    seen: list[str] = []

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _send(self, code: int, body: object) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        type(self).seen.append(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == f"{self.base}/services.json":
            self._send(200, [{"service_code": "streetlight", "service_name": "Gatubelysning",
                              "metadata": False, "type": "realtime"}])
            return
        if url.path != f"{self.base}/requests.json":
            self._send(404, [{"code": 404, "description": "not found"}])
            return
        if "status" in query and query["status"] not in ("open", "closed"):
            self._send(400, [{"code": 400, "description": "status must be open or closed"}])
            return
        out = list(type(self).requests)
        if "service_code" in query:
            out = [r for r in out if r.get("service_code") == query["service_code"]]
        if "status" in query:
            out = [r for r in out if r.get("status") == query["status"]]
        if "start_date" in query:
            out = [r for r in out if r["requested_datetime"][:10] >= query["start_date"][:10]]
        self._send(200, out)


@pytest.fixture
def server() -> Iterator[str]:
    _GeoReport.requests = json.loads(FIXTURE.read_text(encoding="utf-8"))
    _GeoReport.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _GeoReport)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{_GeoReport.base}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_fetch_from_the_stand_in_server(server, tmp_path):
    url = requests_url(server, service_code="streetlight", status="open")
    path = fetch_requests(url, tmp_path / "r.json")
    got = json.loads(path.read_text(encoding="utf-8"))
    assert [r["service_request_id"] for r in got] == ["638344"]
    assert _GeoReport.seen[-1].endswith("requests.json?service_code=streetlight&status=open")
    with pytest.raises(ValidationError, match="HTTP 400: status must be open or closed"):
        fetch_requests(requests_url(server, status="maybe"), tmp_path / "x.json")
    with pytest.raises(ValidationError, match="HTTP 404"):
        fetch_requests(server + "/nothing.json", tmp_path / "x.json")


def test_cli_import_from_the_server_and_export(server, tmp_path):
    from trygga_cli.main import app

    runner = CliRunner()
    common = ["--profile", str(PROFILE), "--store", str(tmp_path / "walks.gpkg")]
    with open_store(_profile(tmp_path)) as store:
        before = len(store.findings())
    first = runner.invoke(app, ["open311", "import", "--url", server, "--start", "2024-11-01",
                                *common])
    assert first.exit_code == 0, first.output
    assert "start_date=2024-11-01" in _GeoReport.seen[-1]
    with open_store(_profile(tmp_path)) as store:
        f = store.findings()
    new = f[f["channel"] == "import:open311"]
    assert len(f) == before + 3 and sorted(new["source_id"]) == ["638344", "638345", "638347"]
    again = runner.invoke(app, ["open311", "import", "--url", server, *common])
    assert again.exit_code == 0, again.output
    with open_store(_profile(tmp_path)) as store:
        assert len(store.findings()) == before + 3           # no duplicates
    # Residents' reports wait for moderation: not exported until a moderator approves.
    assert set(new["moderation"]) == {"pending"}
    out = tmp_path / "o311"
    exported = runner.invoke(app, ["open311", "export", "--out", str(out), *common])
    assert exported.exit_code == 0, exported.output
    ids = {r["service_request_id"] for r in json.loads(
        (out / "requests.json").read_text(encoding="utf-8"))}
    assert not set(map(str, new.index)) & ids
    with open_store(_profile(tmp_path)) as store:
        for fid in new.index:
            store.moderate(str(fid), store.get_finding(str(fid)).version, "approve")
    exported = runner.invoke(app, ["open311", "export", "--out", str(out), *common])
    assert exported.exit_code == 0, exported.output
    ids = {r["service_request_id"] for r in json.loads(
        (out / "requests.json").read_text(encoding="utf-8"))}
    assert set(map(str, new.index)) <= ids
    neither = runner.invoke(app, ["open311", "import", *common])
    assert neither.exit_code == 2 and "--url" in neither.output
