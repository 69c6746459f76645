"""Run the reference benchmark of ../shared/BENCH.md: ours vs GeoPandas vs PostGIS.

Usage (as root, from the repo root)::

    .venv/bin/python bench/run_reference.py --sizes S M [L] --repeat 3 [--pg-repeat 1]

For each size, on the same generated data (``bench.data.make``):

1. ours (:func:`gis.fastquery.reference_query`) and the GeoPandas baseline, interleaved in
   this process, ``--repeat`` times each (plus one untimed warm-up of ours);
2. PostGIS in a throwaway cluster (:mod:`bench.pg`): COPY load, GiST index build (timed
   separately, added to the "index build included" totals), then the query with 1 and 2
   connections (``--pg-repeat`` times each, default ``--repeat``);
3. the agreement check of every engine against ours;
4. peak RSS: each of ``data`` (generation only), ``ours`` and ``geopandas`` once more in its
   own subprocess under ``/usr/bin/time -v``; for PostGIS the backends' VmHWM.

Prints a table and writes ``bench/results/reference.json`` (``--out``). Timings are medians.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import shapely  # noqa: E402

from bench import engines  # noqa: E402
from bench.data import BenchData, make  # noqa: E402


def data_hash(d: BenchData) -> str:
    """Hash of all coordinates, to show every process used the same data."""
    h = hashlib.sha256()
    for f in (d.segments, d.luminaires, d.schools, d.crossings):
        h.update(shapely.get_coordinates(np.asarray(f.geometry.values)).tobytes())
    return h.hexdigest()[:16]


def _rss_worker(engine: str, size: str) -> None:
    d = make(size)
    if engine == "ours":
        engines.ours(d)
    elif engine == "geopandas":
        engines.geopandas(d)
    print(json.dumps({"hash": data_hash(d)}))


def peak_rss_mb(engine: str, size: str) -> tuple[float, str]:
    """Run one engine once in a subprocess under /usr/bin/time -v; peak RSS in MB."""
    cmd = ["/usr/bin/time", "-v", sys.executable, str(Path(__file__).resolve()),
           "--rss-worker", engine, "--sizes", size]
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    out = json.loads(p.stdout.strip().splitlines()[-1])
    return (int(m.group(1)) / 1024 if m else float("nan")), out["hash"]


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run_size(size: str, repeat: int, pg_repeat: int, postgis: bool) -> dict:
    print(f"\n== {size} ==", flush=True)
    t0 = time.perf_counter()
    d = make(size)
    res: dict = {"size": size, "segments": len(d.segments), "luminaires": len(d.luminaires),
                 "schools": len(d.schools), "crossings": len(d.crossings),
                 "generate_s": time.perf_counter() - t0, "hash": data_hash(d)}
    engines.ours(d)  # warm-up (imports, first-call costs)
    t_ours, t_gpd = [], []
    r_ours = r_gpd = None
    for _ in range(repeat):
        t, r_ours = timed(lambda: engines.ours(d))
        t_ours.append(t)
        t, r_gpd = timed(lambda: engines.geopandas(d))
        t_gpd.append(t)
        print(f"  ours {t_ours[-1]:.3f} s   geopandas {t_gpd[-1]:.3f} s", flush=True)
    assert r_ours is not None and r_gpd is not None
    res["ours_s"] = t_ours
    res["geopandas_s"] = t_gpd
    res["agree_geopandas"] = engines.agreement(r_ours, r_gpd)
    print("  agreement ours vs geopandas:", res["agree_geopandas"], flush=True)

    if postgis:
        import psycopg

        from bench.pg import ThrowawayCluster

        with ThrowawayCluster() as pg:
            res["versions"] = pg.versions()
            with psycopg.connect(pg.conninfo) as conn:
                load = engines.postgis_load(conn, d)
            res["pg_copy_s"], res["pg_index_s"] = load.copy_s, load.index_s
            print(f"  postgis COPY {load.copy_s:.2f} s, GiST+ANALYZE {load.index_s:.2f} s",
                  flush=True)
            for workers in (1, 2):
                ts, peaks = [], []
                r_pg = None
                for _ in range(pg_repeat):
                    peak: list[int] = []
                    t, r_pg = timed(lambda w=workers, pk=peak: engines.postgis_query(
                        pg.conninfo, len(d.segments), w, pk))
                    ts.append(t)
                    peaks.extend(peak)
                    print(f"  postgis {workers} worker(s) {t:.2f} s", flush=True)
                assert r_pg is not None
                res[f"pg{workers}_s"] = ts
                res[f"pg{workers}_backend_peak_mb"] = max(peaks) / 1024 if peaks else None
                res[f"agree_pg{workers}"] = engines.agreement(r_ours, r_pg)
                print(f"  agreement ours vs postgis {workers}:", res[f"agree_pg{workers}"],
                      flush=True)

    for engine in ("data", "ours", "geopandas"):
        mb, h = peak_rss_mb(engine, size)
        res[f"rss_{engine}_mb"] = mb
        if h != res["hash"]:
            raise RuntimeError(f"subprocess generated different data for {size}")
    print(f"  peak RSS MB: data {res['rss_data_mb']:.0f}, ours {res['rss_ours_mb']:.0f}, "
          f"geopandas {res['rss_geopandas_mb']:.0f}", flush=True)
    return res


def summarize(res: dict) -> dict:
    med = statistics.median
    s: dict = {"size": res["size"], "ours_s": med(res["ours_s"]),
               "geopandas_s": med(res["geopandas_s"])}
    s["ratio_geopandas"] = s["geopandas_s"] / s["ours_s"]
    if "pg1_s" in res:
        for w in (1, 2):
            q = med(res[f"pg{w}_s"])
            s[f"pg{w}_s"] = q
            s[f"pg{w}_total_s"] = q + res["pg_index_s"]
            s[f"ratio_pg{w}"] = s[f"pg{w}_total_s"] / s["ours_s"]
        s["pg_index_s"] = res["pg_index_s"]
        s["pg_copy_s"] = res["pg_copy_s"]
    return s


def print_table(rows: list[dict]) -> None:
    print("\n| size | ours s | GeoPandas s | × | PostGIS 1 s (+GiST) | × | PostGIS 2 s (+GiST) | × |")
    print("|---|---|---|---|---|---|---|---|")
    for s in rows:
        pg = ""
        if "pg1_s" in s:
            pg = (f"{s['pg1_s']:.2f} (+{s['pg_index_s']:.2f}) | {s['ratio_pg1']:.1f} | "
                  f"{s['pg2_s']:.2f} (+{s['pg_index_s']:.2f}) | {s['ratio_pg2']:.1f} |")
        else:
            pg = "– | – | – | – |"
        print(f"| {s['size']} | {s['ours_s']:.3f} | {s['geopandas_s']:.3f} | "
              f"{s['ratio_geopandas']:.1f} | {pg}")


def machine() -> dict:
    import geopandas
    import pandas
    import pyproj
    import scipy

    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    import os

    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "nproc": os.cpu_count(), "cpu": cpu,
            "ram_gb": round(mem_kb / 1024**2, 1), "python": platform.python_version(),
            "numpy": np.__version__, "shapely": shapely.__version__,
            "geopandas": geopandas.__version__, "pandas": pandas.__version__,
            "scipy": scipy.__version__, "pyproj": pyproj.__version__}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["S", "M"], choices=["S", "M", "L"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pg-repeat", type=int, default=None,
                    help="repeats of each PostGIS configuration (default: --repeat)")
    ap.add_argument("--no-postgis", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "reference.json")
    ap.add_argument("--rss-worker", choices=["data", "ours", "geopandas"], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.rss_worker:
        _rss_worker(a.rss_worker, a.sizes[0])
        return 0
    info = {"machine": machine(), "runs": []}
    print(json.dumps(info["machine"], indent=1))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(a.out.read_text()) if a.out.exists() else {}
    for size in a.sizes:
        res = run_size(size, a.repeat, a.pg_repeat or a.repeat, not a.no_postgis)
        res["summary"] = summarize(res)
        info["runs"].append(res)
        old.setdefault("by_size", {})[size] = {"machine": info["machine"], **res}
        a.out.write_text(json.dumps(old, indent=1, default=str))
        print_table([r["summary"] for r in info["runs"]])
    ok = all(v["ok"] for r in info["runs"] for k, v in r.items() if k.startswith("agree_"))
    print("\nagreement:", "OK" if ok else "MISMATCH", f"(written to {a.out})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
