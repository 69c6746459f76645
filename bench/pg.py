"""A throwaway PostgreSQL 15 + PostGIS cluster on 127.0.0.1 (recipe of ../shared/TRAPS.md).

Needs Debian's ``postgresql-15-postgis-3`` (``apt-get install -y --no-install-recommends
postgresql-15-postgis-3``) and root (the cluster runs as the ``postgres`` user). The
cluster is removed on exit, also on error (use it as a context manager).
"""

from __future__ import annotations

import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")

#: Server settings for the benchmark: no durability (throwaway), no JIT (BENCH.md).
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "jit": "off",
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_parallel_workers_per_gather": "0",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: str) -> None:
    subprocess.run(["su", "postgres", "-c", cmd], check=True, stdout=subprocess.DEVNULL)


class ThrowawayCluster:
    """Start with ``with ThrowawayCluster() as pg: pg.conninfo``; stopped and removed after."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix="bench_pg_data_"))
        self.sock_dir = Path(tempfile.mkdtemp(prefix="bench_pg_sock_"))
        self.started = False

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def start(self) -> ThrowawayCluster:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError("PostgreSQL 15 not found. Fix: apt-get install -y "
                               "--no-install-recommends postgresql-15-postgis-3")
        shutil.chown(self.data_dir, "postgres", "postgres")
        shutil.chown(self.sock_dir, "postgres", "postgres")
        _as_postgres(f"{PG_BIN}/initdb -D {self.data_dir} -U postgres -A trust --no-sync")
        opts = f"-p {self.port} -k {self.sock_dir} " + " ".join(
            f"-c {k}={v}" for k, v in SETTINGS.items())
        _as_postgres(f"{PG_BIN}/pg_ctl -D {self.data_dir} -w -l {self.data_dir}/log "
                     f"-o {shlex.quote(opts)} start")
        self.started = True
        import psycopg

        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return self

    def versions(self) -> dict[str, str]:
        import psycopg

        with psycopg.connect(self.conninfo) as conn:
            pg = conn.execute("SHOW server_version").fetchone()
            gis = conn.execute("SELECT postgis_full_version()").fetchone()
        return {"postgresql": str(pg[0]) if pg else "?",
                "postgis": str(gis[0]).split('"')[1] if gis else "?"}

    def stop(self) -> None:
        if self.started:
            subprocess.run(["su", "postgres", "-c",
                            f"{PG_BIN}/pg_ctl -D {self.data_dir} -m fast -w stop"],
                           check=False, stdout=subprocess.DEVNULL)
            self.started = False
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(self.sock_dir, ignore_errors=True)

    def __enter__(self) -> ThrowawayCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
