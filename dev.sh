#!/usr/bin/env bash
# Set up and run Trygga stråk on a fresh Debian machine with Python 3.11.
#
#   ./dev.sh app     set up, then start the app on the shipped demo data
#   ./dev.sh test    set up, then run ruff, mypy and the whole test suite
#   ./dev.sh setup   only set up (.venv, project, system packages, Leaflet from npm)
#
# Creates or reuses .venv. System packages come from apt-get (as root, or via sudo).
set -euo pipefail
cd "$(dirname "$0")"

VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
STAMP="$VENV/.trygga-installed"

apt_install() {
    # Install Debian packages that are missing; needs root or sudo.
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo ">> apt-get install ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

setup() {
    if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
        apt_install python3-venv
    fi
    if [ ! -x "$PY" ]; then
        echo ">> creating $VENV"
        python3 -m venv "$VENV"
    fi
    command -v npm >/dev/null || apt_install npm
    # weasyprint (PDF protocols and reports) needs Pango and a font.
    apt_install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
    ./scripts/fetch_assets.sh
    if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || [ requirements.lock -nt "$STAMP" ]; then
        echo ">> installing the tested versions from requirements.lock into $VENV"
        "$PY" -m pip install -q --upgrade pip
        "$PY" -m pip install -q -r requirements.lock
        "$PY" -m pip install -q --no-deps -e ".[test]"
        touch "$STAMP"
    fi
}

run_tests() {
    # Browser tests drive Debian's Chromium through Playwright (no browser download).
    [ -x /usr/bin/chromium ] || apt_install chromium
    # The PostGIS store tests run on a throwaway cluster on 127.0.0.1 (stopped on exit);
    # Debian's QGIS loads the QField field kit headless (tests/test_fieldkit.py).
    apt_install postgresql-15-postgis-3 python3-qgis
    if [ -z "${TRYGGA_TEST_PG:-}" ]; then
        eval "$(./scripts/pg_test_cluster.sh start)"
        trap './scripts/pg_test_cluster.sh stop "$TRYGGA_PG_DIR"' EXIT
        echo ">> PostgreSQL + PostGIS test cluster on ${TRYGGA_TEST_PG#*@}"
    fi
    echo ">> ruff"
    "$VENV/bin/ruff" check .
    echo ">> mypy"
    "$VENV/bin/mypy"
    echo ">> pytest"
    # pytest exits 5 when it collected no tests: that is a failure here too.
    "$PY" -m pytest "$@"
}

cmd="${1:-}"
shift || true
case "$cmd" in
    setup) setup ;;
    app)
        setup
        # ui.serve imports the heavy modules first, then runs `streamlit run app.py`.
        exec "$PY" -m ui.serve app.py --server.address 127.0.0.1 \
            --server.headless true --browser.gatherUsageStats false "$@"
        ;;
    test) setup; run_tests "$@" ;;
    *) echo "usage: ./dev.sh app|test|setup" >&2; exit 64 ;;
esac
