"""Tests for walks.duplicates: open findings of the same category within 50 m."""

from __future__ import annotations

from datetime import UTC, datetime

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from gis._crs import CRSError
from layers._common import ValidationError
from walks import model as m
from walks.duplicates import (
    DUPLICATE_RADIUS_M,
    duplicate_candidates,
    open_findings_mask,
)
from walks.store import GeoPackageStore

X0, Y0 = 102_000.0, 6_535_000.0  # Strömstad, EPSG:3007 (metres)
NEW = Point(X0, Y0)


def frame(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    """Findings in the store's shape: index = id, ``state_label``, points in EPSG:3007."""
    df = pd.DataFrame(rows).set_index("id")
    geom = [Point(X0 + dx, Y0 + dy) for dx, dy in zip(df.pop("dx"), df.pop("dy"), strict=True)]
    df["description"] = [f"fynd {i}" for i in df.index]
    df["created"] = pd.Timestamp("2025-10-15T16:00Z")
    return gpd.GeoDataFrame(df, geometry=geom, crs="EPSG:3007")


@pytest.fixture()
def findings() -> gpd.GeoDataFrame:
    return frame([
        {"id": "near-open", "dx": 10, "dy": 0, "category": "belysning", "state_label": "ny"},
        {"id": "nearer-open", "dx": 3, "dy": 4, "category": "belysning",
         "state_label": "bedömd"},
        {"id": "edge-open", "dx": 30, "dy": 40, "category": "belysning",
         "state_label": "planerad"},  # exactly 50 m
        {"id": "far-open", "dx": 51, "dy": 0, "category": "belysning", "state_label": "ny"},
        {"id": "other-cat", "dx": 1, "dy": 0, "category": "vegetation/buskage",
         "state_label": "ny"},
        {"id": "fixed", "dx": 2, "dy": 0, "category": "belysning", "state_label": "åtgärdad"},
        {"id": "closed", "dx": 2, "dy": 1, "category": "belysning",
         "state_label": "avslutad utan åtgärd"},
        {"id": "closed-alias", "dx": 2, "dy": 2, "category": "belysning",
         "state_label": "Avslutad"},
    ])


def test_open_same_category_within_50_m_nearest_first(findings):
    dup = duplicate_candidates(NEW, "belysning", findings)
    assert dup.index.tolist() == ["nearer-open", "near-open", "edge-open"]
    assert dup["distance_m"].tolist() == pytest.approx([5.0, 10.0, 50.0])
    assert dup.index.name == "id"
    assert dup.crs == findings.crs
    assert {"category", "state_label", "description", "distance_m"} <= set(dup.columns)
    assert DUPLICATE_RADIUS_M == 50.0


def test_closed_fixed_other_category_and_far_are_excluded(findings):
    dup = duplicate_candidates(NEW, "belysning", findings)
    assert not set(dup.index) & {"far-open", "other-cat", "fixed", "closed", "closed-alias"}
    other = duplicate_candidates(NEW, "vegetation/buskage", findings)
    assert other.index.tolist() == ["other-cat"]


def test_radius_and_exclude_id(findings):
    assert duplicate_candidates(NEW, "belysning", findings, radius_m=6).index.tolist() == [
        "nearer-open"]
    dup = duplicate_candidates(NEW, "belysning", findings, exclude_id="nearer-open")
    assert dup.index.tolist() == ["near-open", "edge-open"]


def test_does_not_mutate_input(findings):
    before = findings.copy()
    duplicate_candidates(NEW, "belysning", findings)
    pd.testing.assert_frame_equal(findings, before)


def test_no_candidates_gives_empty_frame(findings):
    dup = duplicate_candidates(Point(X0 + 5000, Y0), "belysning", findings)
    assert dup.empty and "distance_m" in dup.columns
    assert duplicate_candidates(NEW, "övrigt", findings).empty
    assert duplicate_candidates(NEW, "belysning", findings.iloc[:0]).empty


def test_open_mask_uses_state_type(findings):
    mask = open_findings_mask(findings)
    assert mask.name == "is_open"
    assert mask.index.equals(findings.index)
    assert mask[["near-open", "nearer-open", "edge-open"]].all()
    assert not mask[["fixed", "closed", "closed-alias"]].any()


def test_unknown_state_is_an_error(findings):
    bad = findings.copy()
    bad.loc["near-open", "state_label"] = "kanske"
    with pytest.raises(ValidationError, match="unknown state 'kanske'"):
        duplicate_candidates(NEW, "belysning", bad)


def test_degrees_are_refused(findings):
    with pytest.raises(CRSError, match="degrees"):
        duplicate_candidates(Point(11.17, 58.94), "belysning", findings.to_crs("EPSG:4326"))


def test_bad_radius(findings):
    with pytest.raises(ValueError, match="radius_m"):
        duplicate_candidates(NEW, "belysning", findings, radius_m=-1)


def test_with_the_store(tmp_path):
    """The frame from GeoPackageStore.findings() works as it is."""
    store = GeoPackageStore(tmp_path / "walks.gpkg", "EPSG:3007")
    now = datetime(2025, 10, 15, 18, 0, tzinfo=UTC)

    def add(dx: float, category: str = "belysning") -> m.Finding:
        return store.add_finding(m.Finding(
            id=m.new_id(), geometry=Point(X0 + dx, Y0), created=now, category=category,
            description="Släckt lampa", walk_id="w1"))

    a, b, c = add(20), add(45), add(10, "vegetation/buskage")
    closed = add(5)
    store.set_state(closed.id, closed.version, "avslutad utan åtgärd", note="",
                    author_role="staff", reason="privat mark")
    dup = duplicate_candidates(NEW, "belysning", store.findings())
    assert dup.index.tolist() == [a.id, b.id]
    assert c.id not in dup.index and closed.id not in dup.index
    store.close()
