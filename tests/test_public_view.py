"""Tests for walks.public: the allow-listed public view (STYLE rule 8).

A hypothesis test fuzzes findings (script tags, long text, odd Unicode, quotes) through
the store and asserts that no internal field and no unescaped HTML reaches the public
frame or the exported GeoJSON.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from layers._common import ValidationError
from walks import model as m
from walks.categories import CATEGORIES, staff_only_labels
from walks.public import (
    INTERNAL_COLUMNS,
    PUBLIC_COLUMNS,
    public_geojson,
    public_view,
)
from walks.public_export import export_public_geojson
from walks.store import GeoPackageStore

CRS_ = "EPSG:3007"
X0, Y0 = 102_000.0, 6_535_000.0  # Strömstad, SWEREF 99 12 00 (EPSG:3007)
NOW = datetime(2025, 10, 15, 16, 30, tzinfo=UTC)


def finding(**kw: object) -> m.Finding:
    base: dict[str, object] = dict(
        id=m.new_id(), geometry=Point(X0, Y0), created=NOW, category="belysning",
        description="Mörkt vid <b>cykelstället</b> & \"busken\"",
        internal_note="Polisen känner till platsen", walk_id="w1",
        responsible="kommun gata/park", measure="Byt armatur")
    base.update(kw)
    return m.Finding(**base)  # type: ignore[arg-type]


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


def test_only_allow_listed_columns_and_hidden_findings_left_out(
        store: GeoPackageStore) -> None:
    shown = store.add_finding(finding())
    store.add_finding(finding(non_public=True))
    store.add_finding(finding(category="känslig plats"))
    staff = store.findings()
    before = staff.copy()
    view = public_view(staff)
    pd.testing.assert_frame_equal(staff, before)  # input not mutated
    assert list(view.columns) == list(PUBLIC_COLUMNS)
    assert view["id"].tolist() == [shown.id]
    assert view.index.tolist() == [0]
    assert not set(view.columns) & set(INTERNAL_COLUMNS)
    assert view.crs == "EPSG:4326"
    row = view.iloc[0]
    assert row["description"] == ("Mörkt vid &lt;b&gt;cykelstället&lt;/b&gt; &amp; "
                                  "&quot;busken&quot;")
    assert (row["state_label"], row["state_type"]) == ("ny", "open")
    assert row["date"] == "2025-10-15" and row["fixed_date"] is None
    assert row["public_photo"] is None
    g = row["geometry"]
    assert round(g.x, 5) == g.x and round(g.y, 5) == g.y
    assert 11 < g.x < 12 and 58 < g.y < 60  # lon/lat order


def test_fixed_date_local_and_only_when_fixed(store: GeoPackageStore) -> None:
    f = store.add_finding(finding(created=datetime(2025, 10, 15, 22, 30, tzinfo=UTC)))
    store.set_state(f.id, 1, m.ATGARDAD, "klart", "staff")
    view = public_view(store.findings())
    assert view.loc[0, "date"] == "2025-10-16"  # 00:30 in Stockholm
    assert view.loc[0, "fixed_date"] is not None
    assert view.loc[0, "state_type"] == "fixed"
    store.set_state(f.id, 2, m.AVSLUTAD_UTAN_ATGARD, "nej", "staff", reason="Privat mark")
    view = public_view(store.findings())
    assert view.loc[0, "fixed_date"] is None
    assert "Privat mark" not in view.to_json()


def test_public_view_needs_the_staff_frame() -> None:
    with pytest.raises(ValidationError, match="column 'non_public': required column"):
        public_view(gpd.GeoDataFrame({"category": ["belysning"], "description": ["x"],
                                      "state_label": ["ny"], "state_type": ["open"],
                                      "created": [NOW]},
                                     geometry=[Point(0, 0)], crs=CRS_))
    with pytest.raises(ValueError, match="only the result of public_view"):
        public_geojson(gpd.GeoDataFrame({"internal_note": ["x"]}, geometry=[Point(0, 0)]))


def test_unknown_categories_are_left_out() -> None:
    frame = gpd.GeoDataFrame({
        "category": ["belysning", "hemlig"], "description": ["a", "b"],
        "state_label": ["ny", "ny"], "state_type": ["open", "open"],
        "created": [NOW, NOW], "non_public": [False, False],
        "moderation": ["approved", "approved"]},
        index=pd.Index(["a1", "b2"], name="id"), geometry=[Point(X0, Y0)] * 2, crs=CRS_)
    assert public_view(frame)["id"].tolist() == ["a1"]


def test_export_public_geojson(store: GeoPackageStore, tmp_path: Path) -> None:
    store.add_finding(finding())
    store.add_finding(finding(non_public=True, description="dold"))
    out = export_public_geojson(store, tmp_path / "pub" / "fynd.geojson")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 1
    feat = doc["features"][0]
    assert set(feat["properties"]) == set(PUBLIC_COLUMNS) - {"geometry"}
    lon, lat = feat["geometry"]["coordinates"]
    assert 11 < lon < 12 and 58 < lat < 60
    assert len(str(lon).split(".")[1]) <= 5
    text = out.read_text(encoding="utf-8")
    assert "Polisen" not in text and "dold" not in text  # internal note, hidden finding
    # a data file carries the text as written; escaping belongs to the HTML renderers
    assert feat["properties"]["description"] == 'Mörkt vid <b>cykelstället</b> & "busken"'
    read = gpd.read_file(out)
    assert len(read) == 1 and read.crs == "EPSG:4326"


# --- fuzzing ----------------------------------------------------------------------------

nasty_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.sampled_from([
        "<script>alert('x')</script>", "\"><img src=x onerror=alert(1)>",
        "</textarea><svg/onload=alert(1)>", "&lt;already escaped&gt;", "' OR 1=1 --",
        "\u202eevil\u202c", "\x00\x01\x1b[31m", "Å\u0308ngström ❤️ 🚲 \u200b",
        "<" * 5000, "x" * 20_000, "\ud7ff\ue000\uffff",
    ]),
    st.lists(st.sampled_from(["<", ">", "&", "\"", "'", "script", "å", "\n", " "]),
             max_size=60).map("".join),
)

public_categories = [c.label for c in CATEGORIES if c.active]


@st.composite
def fuzzed_findings(draw: st.DrawFn) -> tuple[m.Finding, str]:
    marker = f"INTERNAL{uuid.uuid4().hex}"
    state = draw(st.sampled_from(m.FINDING_STATES))
    f = finding(
        description=draw(nasty_text),
        internal_note=marker + draw(nasty_text),
        category=draw(st.sampled_from(public_categories)),
        severity=draw(st.sampled_from(m.SEVERITIES)),
        measure=marker + "measure",
        raw_category=marker + "raw",
        walk_id=marker + "walk",
        channel=marker + "channel",
        source_id=marker + "source",
        content_hash=marker + "hash",
        responsible=draw(st.sampled_from(m.RESPONSIBLE_PARTIES)),
        state=state,
        closed_reason=(marker + draw(nasty_text)) if state.requires_reason else "",
        non_public=draw(st.booleans()),
        geometry=Point(X0 + draw(st.floats(-5000, 5000)), Y0 + draw(st.floats(-5000, 5000))),
    )
    return f, marker


def _all_strings(obj: object) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in (*_all_strings(k), *_all_strings(v))]
    if isinstance(obj, (list, tuple)):
        return [s for v in obj for s in _all_strings(v)]
    return []


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(fuzzed_findings(), min_size=1, max_size=4))
def test_fuzzed_findings_never_leak(store: GeoPackageStore, tmp_path: Path,
                                    batch: list[tuple[m.Finding, str]]) -> None:
    # One store for all examples (fast): findings accumulate, so every check below runs
    # over everything added so far.
    for f, marker in batch:
        store.add_finding(f)
        _SEEN[str(store.path)].append((f, marker))
    # a moderated text keeps its original internally; the original is never public
    first, first_marker = batch[0]
    store.update_finding(first.id, 1, author_role="moderator",
                         description=first.description + first_marker + "moderated-away")
    store.update_finding(first.id, 2, author_role="moderator", description="Modererad")
    _MODERATED.add(first.id)
    seen = _SEEN[str(store.path)]
    markers = [mk for _f, mk in seen]
    expected = {f.id: f for f, _mk in seen
                if not f.non_public and f.category not in staff_only_labels()}

    view = public_view(store.findings())
    out = tmp_path / "public.geojson"
    export_public_geojson(store, out)
    text = out.read_text(encoding="utf-8")
    doc = json.loads(text)

    assert list(view.columns) == list(PUBLIC_COLUMNS)
    assert set(view["id"]) == set(expected)
    assert len(doc["features"]) == len(expected)
    # the view is for pages: every text HTML-escaped; no internal field anywhere
    for s in [s for c in view.columns if c != "geometry" for s in view[c].dropna()]:
        assert "<" not in s and ">" not in s
        assert not any(mk in s for mk in markers)
    # the data file: no internal field either (raw text, so markers are the test)
    assert not any(mk in s for s in _all_strings(doc) for mk in markers)
    assert not any(mk in text for mk in markers)
    for feat in doc["features"]:
        assert set(feat["properties"]) == set(PUBLIC_COLUMNS) - {"geometry"}
    # both carry exactly the public description as the store keeps it: nothing lost but
    # control, bidi-override and invisible characters and surrounding white space
    # (walks.text.clean_text, applied on every way in); the file has it unescaped
    from walks.text import clean_text

    in_file = {feat["properties"]["id"]: feat["properties"]["description"]
               for feat in doc["features"]}
    for row in view.itertuples():
        f = expected[row.id]
        want = "Modererad" if f.id in _MODERATED else _CONTROL.sub("", clean_text(f.description))
        want = want.encode("utf-8", "replace").decode()
        assert html.unescape(row.description) == want
        assert in_file[row.id] == want


_SEEN: dict[str, list[tuple[m.Finding, str]]] = defaultdict(list)
_MODERATED: set[str] = set()


def test_static_map_shows_template_syntax_as_text(store: GeoPackageStore, tmp_path: Path) -> None:
    from ui.public_map import write_static_map

    text = "{{ 7*7 }} {% if true %}x{% endif %}"
    store.add_finding(finding(description=text))
    view = public_view(store.findings(include_hidden=False), categories=store.categories)
    out = write_static_map(view, tmp_path / "karta.html", title="<b>" + text)
    page = out.read_text(encoding="utf-8")
    assert "<title>&lt;b&gt;{{ 7*7 }} {% if true %}x{% endif %}</title>" in page
    assert page.count("{{ 7*7 }}") >= 3    # title, map data, accessible list


@pytest.mark.parametrize("text", [
    '<script>alert("x")</script>', "Tom & Jerry's", "redan &lt;kodat&gt; &amp; så",
    "&#39; &quot; &", "{{ 7*7 }}", "rad 1\nrad 2",
])
def test_public_geojson_file_has_the_raw_text(store: GeoPackageStore, tmp_path: Path,
                                              text: str) -> None:
    import json

    from walks.public_export import raw_public_geojson

    f = store.add_finding(finding(description=text))
    view = public_view(store.findings(include_hidden=False), categories=store.categories)
    by_id = {feat["properties"]["id"]: feat for feat in raw_public_geojson(view)["features"]}
    assert by_id[f.id]["properties"]["description"] == text
    out = export_public_geojson(store, tmp_path / "publik.geojson")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert text in [feat["properties"]["description"] for feat in data["features"]]
    assert oct(out.stat().st_mode & 0o777) == "0o600"
