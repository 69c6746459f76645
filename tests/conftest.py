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


# --- PostgreSQL + PostGIS ---------------------------------------------------------------

def _pg_dsn() -> str:
    """The throwaway test cluster (``TRYGGA_TEST_PG``, started by ``./dev.sh test``).

    Missing in CI is a failure, never a skip: the PostGIS tests must run there.
    """
    import os

    dsn = os.environ.get("TRYGGA_TEST_PG", "").strip()
    if not dsn:
        msg = ("TRYGGA_TEST_PG is not set: run the tests with ./dev.sh test, which starts a "
               "throwaway PostgreSQL + PostGIS cluster (scripts/pg_test_cluster.sh)")
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return dsn


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """A libpq URL of the test cluster with PostGIS created in its ``postgres`` database."""
    import psycopg

    dsn = _pg_dsn()
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return dsn


@pytest.fixture
def pg_schemas(pg_dsn: str):  # type: ignore[no-untyped-def]
    """A maker of fresh, empty PostgreSQL schema names for one test; all dropped afterwards."""
    import uuid

    import psycopg

    names: list[str] = []

    def new() -> str:
        names.append(f"t_{uuid.uuid4().hex[:12]}")
        return names[-1]
    yield new
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        for name in names:
            con.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def pg_schema(pg_schemas) -> str:  # type: ignore[no-untyped-def]
    """A fresh, empty PostgreSQL schema name for one test; dropped afterwards."""
    return str(pg_schemas())
