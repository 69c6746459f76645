"""Fixtures shared by several test modules."""

from pathlib import Path

import pytest

from layers.osm import OsmExtract, read_osm_file

#: The tiny hand-written OSM XML near Strömstad (see tests/fixtures/osm/README.md).
OSM_FIXTURE = Path(__file__).parent / "fixtures" / "osm" / "stromstad_small.osm"


@pytest.fixture(scope="session")
def extract() -> OsmExtract:
    """The OSM fixture read once; tests must not mutate it (frames are copied by funnels)."""
    return read_osm_file(OSM_FIXTURE)
