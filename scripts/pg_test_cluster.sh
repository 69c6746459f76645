#!/usr/bin/env bash
# A throwaway PostgreSQL + PostGIS cluster on 127.0.0.1 for the test suite.
#
#   scripts/pg_test_cluster.sh start   prints shell lines to eval: TRYGGA_TEST_PG (a libpq
#                                      URL, user postgres, trust on loopback) and TRYGGA_PG_DIR
#   scripts/pg_test_cluster.sh stop DIR   stops the cluster and removes its folders
#
# The cluster lives in a temporary folder, listens only on 127.0.0.1 (and a private socket
# folder), runs with fsync off, and is gone after `stop`. The default Debian cluster is not
# touched. As root, the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail

PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
    [ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql-15-postgis-3)" >&2; exit 1; }
    base="$(mktemp -d /tmp/trygga-pg.XXXXXX)"
    mkdir -p "$base/data" "$base/sock"
    [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$base"
    chmod 700 "$base/data"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    as_pg "$PGBIN/initdb" -D "$base/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 \
        || { cat "$base/initdb.log" >&2; exit 1; }
    # One password account for the wrong-password test; everyone else is trusted on loopback.
    { echo "host all trygga_pw 127.0.0.1/32 scram-sha-256"; cat "$base/data/pg_hba.conf"; } > "$base/hba.tmp"
    mv "$base/hba.tmp" "$base/data/pg_hba.conf"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$base/data/pg_hba.conf"
    as_pg "$PGBIN/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 \
        -o "-p $port -k $base/sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || { cat "$base/server.log" >&2; exit 1; }
    echo "export TRYGGA_TEST_PG='postgresql://postgres@127.0.0.1:$port/postgres'"
    echo "export TRYGGA_PG_DIR='$base'"
    ;;
stop)
    base="${2:?usage: pg_test_cluster.sh stop DIR}"
    case "$base" in /tmp/trygga-pg.*) ;; *) echo "refusing to remove $base" >&2; exit 2 ;; esac
    if [ -d "$base/data" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$base/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$base"
    ;;
*)
    echo "usage: scripts/pg_test_cluster.sh start | stop DIR" >&2
    exit 64
    ;;
esac
