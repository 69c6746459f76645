"""Atom feeds of the public findings: RFC 4287 structure checked with lxml, per area and
for the whole kommun, public fields only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import geopandas as gpd
import pytest
from lxml import etree
from shapely.geometry import Point, box
from typer.testing import CliRunner

from layers import load_profile
from tests._server import INTERNAL_NOTES
from walks.feed import ATOM_NS, FeedInfo, atom_feed, finding_areas, write_feeds
from walks.public import PUBLIC_COLUMNS, public_view
from walks.service import open_store

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "data" / "stromstad" / "profile.toml"
NS = {"a": ATOM_NS}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def check_atom(data: bytes) -> etree._Element:
    """Parse *data* with lxml and check the RFC 4287 rules a feed must meet."""
    root = etree.fromstring(data)
    assert root.tag == f"{{{ATOM_NS}}}feed"
    for parent in (root, *root.findall("a:entry", NS)):
        for name in ("id", "title", "updated"):
            assert len(parent.findall(f"a:{name}", NS)) == 1, (parent.tag, name)
        assert re.match(r"^[a-z][a-z0-9+.-]*:", parent.findtext("a:id", namespaces=NS))
        for stamp in parent.findall("a:updated", NS) + parent.findall("a:published", NS):
            assert RFC3339.match(stamp.text), stamp.text
            dt.datetime.fromisoformat(stamp.text)
        for text in parent.findall("a:title", NS) + parent.findall("a:content", NS):
            assert text.get("type", "text") == "text"
        for link in parent.findall("a:link", NS):
            assert link.get("href")
    # an entry without author needs a feed author (4.1.1); each entry content or alternate
    assert root.find("a:author/a:name", NS).text
    for entry in root.findall("a:entry", NS):
        assert (entry.find("a:content", NS) is not None
                or entry.find("a:link[@rel='alternate']", NS) is not None)
    ids = [e.findtext("a:id", namespaces=NS) for e in root.findall("a:entry", NS)]
    assert len(ids) == len(set(ids))
    return root


@pytest.fixture
def view(tmp_path) -> gpd.GeoDataFrame:
    prof = dataclasses.replace(load_profile(PROFILE), store=tmp_path / "walks.gpkg")
    with open_store(prof) as store:
        return public_view(store.findings(include_hidden=False), categories=store.categories,
                           tz=prof.timezone)


def test_kommun_feed_is_valid_atom_with_every_public_finding(view):
    info = FeedInfo("Trygghetsfynd i Strömstad", "urn:trygga:1486:fynd", "Strömstads kommun",
                    base_url="https://karta.example.se/offentlig",
                    self_url="https://example.se/fynd.atom")
    data = atom_feed(view, info)
    root = check_atom(data)
    entries = root.findall("a:entry", NS)
    assert len(entries) == len(view)
    assert {e.findtext("a:id", namespaces=NS) for e in entries} == {
        f"urn:uuid:{i}" for i in view["id"]}
    stamps = [e.findtext("a:updated", namespaces=NS) for e in entries]
    assert stamps == sorted(stamps, reverse=True)              # newest first
    assert root.findtext("a:updated", namespaces=NS) == stamps[0]
    fixed = view[view["state_type"] == "fixed"].iloc[0]
    entry = next(e for e in entries if e.findtext("a:id", namespaces=NS).endswith(fixed["id"]))
    assert entry.findtext("a:title", namespaces=NS).startswith(
        f"Åtgärdad: {fixed['category']}")
    assert entry.findtext("a:updated", namespaces=NS).startswith(fixed["fixed_date"])
    assert entry.findtext("a:published", namespaces=NS).startswith(fixed["date"])
    assert f"Åtgärdat {fixed['fixed_date']}." in entry.findtext("a:content", namespaces=NS)
    link = entry.find("a:link[@rel='alternate']", NS).get("href")
    assert link == f"https://karta.example.se/offentlig?fynd={fixed['id']}"
    assert root.find("a:link[@rel='self']", NS).get("href") == "https://example.se/fynd.atom"
    text = data.decode("utf-8")
    assert not any(note in text for note in INTERNAL_NOTES)
    assert "kommun gata/park" not in text and "demo-2024" not in text


def test_texts_are_escaped_once(view):
    v = view.copy()
    v.loc[v.index[0], "description"] = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; mer"
    data = atom_feed(v, FeedInfo("t", "urn:x", "k"))
    assert b"&lt;script&gt;alert(1)&lt;/script&gt; &amp; mer" in data    # XML-escaped once
    content = [e.findtext("a:content", namespaces=NS)
               for e in check_atom(data).findall("a:entry", NS)]
    assert any(c.endswith("<script>alert(1)</script> & mer") for c in content)


def test_feed_refuses_a_staff_frame(tmp_path):
    prof = dataclasses.replace(load_profile(PROFILE), store=tmp_path / "walks.gpkg")
    with open_store(prof) as store:
        staff = store.findings()
    with pytest.raises(ValueError, match="only the result of public_view"):
        atom_feed(staff, FeedInfo("t", "urn:x", "k"))


def test_areas_by_position_first_area_wins():
    pts = gpd.GeoDataFrame({c: ["x"] * 3 for c in PUBLIC_COLUMNS if c != "geometry"},
                           geometry=[Point(0.5, 0.5), Point(1.5, 0.5), Point(5, 5)],
                           crs="EPSG:4326", index=[10, 11, 12])
    areas = gpd.GeoDataFrame({"name": ["Väst", "Öst"]},
                             geometry=[box(0, 0, 1.6, 1), box(1, 0, 2, 1)], crs="EPSG:4326")
    got = finding_areas(pts, areas)
    assert got.index.tolist() == [10, 11, 12]
    assert got.tolist() == ["Väst", "Väst", ""]              # overlap: the first area


def test_write_feeds_per_area_and_cli(view, tmp_path):
    from layers.boundary import read_priority_areas

    prof = load_profile(PROFILE)
    areas = read_priority_areas(prof.sources.priority_areas, prof.crs)
    paths = write_feeds(view, areas, tmp_path / "f", municipality="Strömstad",
                        kommun_code="1486", tz=prof.timezone)
    assert [p.name for p in paths] == ["fynd.atom", "fynd-stromsdalen.atom",
                                       "fynd-centrum.atom"]
    area_of = finding_areas(view, areas)
    for path, name in zip(paths[1:], ["Strömsdalen", "Centrum"], strict=True):
        root = check_atom(path.read_bytes())
        assert root.findtext("a:id", namespaces=NS).endswith(path.stem.split("-")[1])
        assert len(root.findall("a:entry", NS)) == int(area_of.eq(name).sum())
        for e in root.findall("a:entry", NS):
            assert e.find("a:category[@scheme='urn:trygga:omrade']", NS).get("label") == name
    with pytest.raises(ValueError, match="unknown area.*Norr.*Strömsdalen, Centrum"):
        write_feeds(view, areas, tmp_path / "g", municipality="Strömstad",
                    kommun_code="1486", tz=prof.timezone, only_areas=["Norr"])
    from trygga_cli.main import app

    result = CliRunner().invoke(app, ["feed", "--out", str(tmp_path / "cli"), "--area",
                                      "Strömsdalen", "--store", str(tmp_path / "walks.gpkg"),
                                      "--feed-url", "https://example.se/flode/"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == ["fynd-stromsdalen.atom",
                                                                   "fynd.atom"]
    root = check_atom((tmp_path / "cli" / "fynd-stromsdalen.atom").read_bytes())
    assert root.find("a:link[@rel='self']", NS).get("href") == \
        "https://example.se/flode/fynd-stromsdalen.atom"
