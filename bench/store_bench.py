"""Findings store: 8 concurrent writers and the public-page load, GeoPackage vs PostGIS.

Usage (from the repo root, as root: the PostgreSQL cluster runs as ``postgres``)::

    .venv/bin/python bench/store_bench.py [--writers 8] [--per-writer 250] [--findings 10000]

1. **Concurrent writers**: *writers* processes each add *per-writer* findings, one
   transaction each (``FindingStore.add_finding``: the finding and its history entry), all
   started together. Reports writes per second over the whole run and the p50/p95/max
   latency of a single write.
2. **Public page load**: a store with *findings* findings; the time the public page spends
   on data: open the store, read the staff frame, make the allow-listed public view and
   build the folium map (median of 5, warm).

PostgreSQL runs in a throwaway cluster on 127.0.0.1 **with durability on** (fsync,
synchronous_commit), like a real server; the GeoPackage runs in WAL mode with
``synchronous=NORMAL`` (its setting in the store). Both on the same disk.
Prints the numbers and writes ``bench/results/store.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CRS = "EPSG:3007"
X0, Y0 = 102_000.0, 6_535_000.0


def _make_store(kind: str, where: str) -> Any:
    from walks.backends.postgis import PostGISBackend
    from walks.store import FindingStore, GeoPackageStore

    if kind == "gpkg":
        return GeoPackageStore(where, CRS, busy_timeout_s=120, actor_id="bench")
    return FindingStore(PostGISBackend(where, CRS, schema="bench"), actor_id="bench")


def _finding(i: int) -> Any:
    from shapely.geometry import Point

    from walks.model import Finding, new_id

    return Finding(id=new_id(), geometry=Point(X0 + (i % 997) * 7.0, Y0 + (i // 997) * 7.0),
                   created=datetime(2025, 10, 15, 18, 0, tzinfo=UTC), category="belysning",
                   severity=1 + i % 3, description=f"Mörk sträcka {i}", channel="bench")


def _writer(kind: str, where: str, worker: int, n: int, start: Any, out: Any) -> None:
    store = _make_store(kind, where)
    store.findings()  # connect before the start signal
    start.wait()
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        store.add_finding(_finding(worker * 100_000 + i))
        lat.append(time.perf_counter() - t0)
    out.put(lat)


def concurrent_writes(kind: str, where: str, writers: int, per_writer: int) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    start = ctx.Event()
    out = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(kind, where, w, per_writer, start, out))
             for w in range(writers)]
    for p in procs:
        p.start()
    time.sleep(1.0)
    t0 = time.perf_counter()
    start.set()
    lats: list[float] = []
    for _ in procs:
        lats.extend(out.get(timeout=600))
    wall = time.perf_counter() - t0
    for p in procs:
        p.join(60)
    lats.sort()
    n = len(lats)
    return {"writes": n, "wall_s": round(wall, 2), "writes_per_s": round(n / wall, 1),
            "p50_ms": round(1000 * lats[n // 2], 1),
            "p95_ms": round(1000 * lats[int(n * 0.95)], 1),
            "max_ms": round(1000 * lats[-1], 1)}


def public_load(kind: str, where: str, n: int) -> dict[str, Any]:
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    from ui.public_map import build_public_map
    from walks.public import public_view

    store = _make_store(kind, where)
    frame = gpd.GeoDataFrame({
        "source_id": [f"bench:{i}" for i in range(n)], "category": ["belysning"] * n,
        "raw_category": [""] * n, "severity": pd.array([2] * n, dtype="Int64"),
        "description": [f"Fynd {i}" for i in range(n)], "internal_note": [""] * n,
        "created": pd.Series([pd.Timestamp("2025-10-15 18:00", tz="UTC")] * n),
        "photo_paths": [[] for _ in range(n)], "walk_id": ["bench"] * n,
        "channel": ["import:qfield"] * n},
        index=pd.Index([str(i) for i in range(n)]),
        geometry=[Point(X0 + (i % 100) * 10.0, Y0 + (i // 100) * 10.0) for i in range(n)],
        crs=CRS)
    t0 = time.perf_counter()
    store.import_findings(frame, "bench.gpkg")
    import_s = time.perf_counter() - t0
    store.close()
    times = []
    for _ in range(6):
        t0 = time.perf_counter()
        s = _make_store(kind, where)
        view = public_view(s.findings(include_hidden=False), categories=s.categories)
        build_public_map(view, (11.0, 58.8, 11.4, 59.1)).get_root().render()
        s.close()
        times.append(time.perf_counter() - t0)
    return {"findings": int(len(view)), "import_s": round(import_s, 2),
            "public_load_s": round(statistics.median(times[1:]), 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--per-writer", type=int, default=250)
    ap.add_argument("--findings", type=int, default=10_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "store.json")
    args = ap.parse_args(argv)

    import bench.pg as pg
    from walks.backends.postgis import PostGISBackend

    pg.SETTINGS.update(fsync="on", synchronous_commit="on", full_page_writes="on")
    results: dict[str, Any] = {"writers": args.writers, "per_writer": args.per_writer}
    with pg.ThrowawayCluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        url = f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
        results["versions"] = cluster.versions()
        for kind, where in (("gpkg", str(Path(tmp) / "w.gpkg")), ("postgis", url)):
            if kind == "postgis":
                PostGISBackend(url, CRS, schema="bench").init()
            else:
                _make_store("gpkg", where).close()
            results[f"{kind}_writes"] = concurrent_writes(kind, where, args.writers,
                                                          args.per_writer)
            print(kind, "writes", results[f"{kind}_writes"], flush=True)
        # a fresh store of N findings for the page load
        for kind, where in (("gpkg", str(Path(tmp) / "p.gpkg")), ("postgis", url)):
            if kind == "postgis":
                import psycopg

                with psycopg.connect(url, autocommit=True) as con:
                    con.execute("DROP SCHEMA bench CASCADE")
                PostGISBackend(url, CRS, schema="bench").init()
            results[f"{kind}_public"] = public_load(kind, where, args.findings)
            print(kind, "public page", results[f"{kind}_public"], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
