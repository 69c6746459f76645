"""Fixtures shared by several test modules, and the guard that keeps the checkout clean.

Before any test runs, every cache is pointed at one temporary folder for the session
(removed at the end): ``TRYGGA_CACHE_DIR`` (layers and school-route caches of ``trygga
rank``, osmnx's HTTP cache), ``XDG_CACHE_HOME`` and ``HOME`` (Streamlit's
``~/.streamlit/cache`` of ``persist="disk"`` caches, browser profiles) and
``HYPOTHESIS_STORAGE_DIRECTORY`` (instead of ``./.hypothesis``). Subprocesses and
Streamlit servers started by tests inherit them. At the end of the session the checkout is
compared with its state at the start (``git status --ignored`` and every file under
``data/``): a test that wrote into the checkout fails the run, naming the files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from layers.osm import OsmExtract, read_osm_file

ROOT = Path(__file__).resolve().parents[1]

#: The tiny hand-written OSM XML near Strömstad (see tests/fixtures/osm/README.md).
OSM_FIXTURE = Path(__file__).parent / "fixtures" / "osm" / "stromstad_small.osm"

#: Build and tool leftovers that may appear in the checkout while tests run.
_TOOL_NOISE = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".egg-info",
               "static/vendor", ".venv")

_SESSION_TMP: Path | None = None
_CHECKOUT_BEFORE: set[str] = set()


def checkout_state(root: Path = ROOT) -> set[str]:
    """What tests must not change: ``git status --ignored`` lines (tool caches left out)
    and (path, size, mtime) of every file under ``data/``."""
    state: set[str] = set()
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--ignored",
                              "--untracked-files=all"], cwd=root, capture_output=True,
                             text=True, timeout=60, check=True).stdout
        state |= {f"git: {line}" for line in out.splitlines()
                  if not any(n in line for n in _TOOL_NOISE)}
    except (OSError, subprocess.SubprocessError):  # not a git checkout: data/ only
        pass
    for path in sorted((root / "data").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            st = path.stat()
            state.add(f"data: {path.relative_to(root)} {st.st_size} {st.st_mtime_ns}")
    return state


def pytest_configure(config: pytest.Config) -> None:
    global _SESSION_TMP, _CHECKOUT_BEFORE
    if _SESSION_TMP is not None:
        return
    _CHECKOUT_BEFORE = checkout_state()
    _SESSION_TMP = Path(tempfile.mkdtemp(prefix="trygga-tests-"))
    home = _SESSION_TMP / "home"
    home.mkdir()
    os.environ["TRYGGA_CACHE_DIR"] = str(_SESSION_TMP / "trygga-cache")
    os.environ["XDG_CACHE_HOME"] = str(_SESSION_TMP / "xdg-cache")
    os.environ["HOME"] = str(home)
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(_SESSION_TMP / "hypothesis")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _SESSION_TMP
    if _SESSION_TMP is None:
        return
    changed = sorted(checkout_state() ^ _CHECKOUT_BEFORE)
    shutil.rmtree(_SESSION_TMP, ignore_errors=True)
    _SESSION_TMP = None
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = ("tests changed the checkout (they must write only into tmp_path):\n  "
                + "\n  ".join(changed[:40]))
        if reporter is not None:
            reporter.write_line(text, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
