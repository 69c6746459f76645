"""The three engines of the reference query (BENCH.md): ours, GeoPandas, PostGIS.

Each returns a dict of numpy arrays aligned to the segments' positions, with the columns of
:data:`gis.fastquery.COLUMNS` plus ``score`` and ``rank``. All engines use the same caps
(:class:`gis.fastquery.ReferenceParams`: nearest luminaire 200 m, school 2000 m, crossing
500 m; NaN beyond) and the same score formula (:func:`gis.fastquery.reference_score`).
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bench.data import BenchData
from gis.fastquery import COLUMNS, ReferenceParams, rank_scores, reference_query, reference_score

P = ReferenceParams()


def ours(d: BenchData, workers: int | None = None) -> dict[str, np.ndarray]:
    """gis.fastquery on the frames (trees built inside, so index build is included)."""
    r = reference_query(d.segments, d.luminaires, d.schools, d.crossings, P, workers=workers)
    return {c: r[c].to_numpy() for c in r.columns}


def _nearest(segs: gpd.GeoDataFrame, other: gpd.GeoDataFrame, cap: float) -> np.ndarray:
    j = gpd.sjoin_nearest(segs, other, max_distance=cap, distance_col="d")
    return j.groupby(level=0)["d"].min().reindex(segs.index).to_numpy(dtype=float)


def geopandas(d: BenchData) -> dict[str, np.ndarray]:
    """Plain GeoPandas: sjoin dwithin for (a) and (c), sjoin_nearest (capped) for (b, d, e)."""
    segs = d.segments[["geometry"]].reset_index(drop=True)
    lum = d.luminaires[["geometry"]].reset_index(drop=True)
    n = len(segs)
    j = gpd.sjoin(segs, lum, predicate="dwithin", distance=P.count_radius_m)
    count = j.groupby(level=0).size().reindex(segs.index, fill_value=0).to_numpy(np.int64)
    nearest_lum = _nearest(segs, lum, P.luminaire_cap_m)
    mids = gpd.GeoDataFrame(geometry=segs.geometry.interpolate(0.5, normalized=True),
                            crs=segs.crs)
    jm = gpd.sjoin(mids, lum, predicate="dwithin", distance=P.lux_radius_m)
    dist = mids.geometry.values[jm.index.to_numpy()].distance(
        lum.geometry.values[jm["index_right"].to_numpy()])
    h = P.height_m
    e = P.intensity_cd * h / (h * h + dist**2) ** 1.5
    lux = np.bincount(jm.index.to_numpy(), weights=e, minlength=n)
    school = _nearest(segs, d.schools[["geometry"]].reset_index(drop=True), P.school_cap_m)
    cross = _nearest(segs, d.crossings[["geometry"]].reset_index(drop=True), P.crossing_cap_m)
    out = {"n_luminaires_30m": count, "nearest_luminaire_m": nearest_lum, "midpoint_lux": lux,
           "school_distance_m": school, "crossing_distance_m": cross}
    out["score"] = reference_score(*(out[c] for c in COLUMNS), params=P)
    out["rank"] = rank_scores(out["score"])
    return out


# ---------------------------------------------------------------------------------------------
# PostGIS
# ---------------------------------------------------------------------------------------------

POSTGIS_QUERY = f"""
SELECT s.id,
  (SELECT count(*) FROM lum l WHERE ST_DWithin(l.geom, s.geom, {P.count_radius_m})) AS n30,
  nl.d AS nearest_lum,
  (SELECT coalesce(sum({P.intensity_cd} * {P.height_m}
                       / power({P.height_m}^2 + ST_Distance(l.geom, m.mid)^2, 1.5)), 0)
     FROM lum l WHERE ST_DWithin(l.geom, m.mid, {P.lux_radius_m})) AS lux,
  sc.d AS school,
  cr.d AS crossing
FROM seg s
CROSS JOIN LATERAL (SELECT ST_LineInterpolatePoint(s.geom, 0.5) AS mid) m
LEFT JOIN LATERAL (SELECT ST_Distance(l.geom, s.geom) AS d FROM lum l
                   WHERE ST_DWithin(l.geom, s.geom, {P.luminaire_cap_m})
                   ORDER BY l.geom <-> s.geom LIMIT 1) nl ON true
LEFT JOIN LATERAL (SELECT ST_Distance(x.geom, s.geom) AS d FROM school x
                   WHERE ST_DWithin(x.geom, s.geom, {P.school_cap_m})
                   ORDER BY x.geom <-> s.geom LIMIT 1) sc ON true
LEFT JOIN LATERAL (SELECT ST_Distance(c.geom, s.geom) AS d FROM crossing c
                   WHERE ST_DWithin(c.geom, s.geom, {P.crossing_cap_m})
                   ORDER BY c.geom <-> s.geom LIMIT 1) cr ON true
WHERE s.id >= %s AND s.id < %s
"""

_TABLES = {"seg": "LineString", "lum": "Point", "school": "Polygon", "crossing": "Point"}


@dataclass
class PostgisTimings:
    """Seconds for loading (COPY) and building the GiST indexes (+ ANALYZE)."""

    copy_s: float
    index_s: float


def _copy_text(geoms: np.ndarray, srid: int) -> io.StringIO:
    hexes = shapely.to_wkb(shapely.set_srid(np.asarray(geoms), srid), hex=True,
                           include_srid=True)
    ids = np.arange(len(hexes)).astype(str)
    buf = io.StringIO()
    buf.write("\n".join(np.char.add(np.char.add(ids, "\t"), hexes.astype(str))))
    buf.write("\n")
    buf.seek(0)
    return buf


def postgis_load(conn, d: BenchData, srid: int = 3007) -> PostgisTimings:
    """Create the four tables, COPY the data in, build GiST indexes, ANALYZE."""
    frames = {"seg": d.segments, "lum": d.luminaires, "school": d.schools,
              "crossing": d.crossings}
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        for name, kind in _TABLES.items():
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            cur.execute(f"CREATE UNLOGGED TABLE {name} (id int PRIMARY KEY, "
                        f"geom geometry({kind}, {srid}))")
            with cur.copy(f"COPY {name} (id, geom) FROM STDIN") as cp:
                cp.write(_copy_text(np.asarray(frames[name].geometry.values), srid).getvalue())
    conn.commit()
    t1 = time.perf_counter()
    with conn.cursor() as cur:
        for name in _TABLES:
            cur.execute(f"CREATE INDEX {name}_gix ON {name} USING gist (geom)")
        for name in _TABLES:
            cur.execute(f"ANALYZE {name}")
    conn.commit()
    return PostgisTimings(t1 - t0, time.perf_counter() - t1)


def postgis_query(conninfo: str, n: int, workers: int,
                  peak_kb: list[int] | None = None) -> dict[str, np.ndarray]:
    """Run the query over ``workers`` connections (the segment ids split in equal ranges).

    PostgreSQL makes no parallel plan for this LATERAL query (BENCH.md), so "2 workers" is
    two connections run concurrently, each on half of the segments. ``jit=off``. Score and
    rank are computed from the returned components with the shared numpy formula.
    ``peak_kb`` receives each backend's peak RSS (VmHWM, kB) when readable.
    """
    import psycopg

    bounds = np.linspace(0, n, workers + 1).astype(int)
    parts: list[list[tuple]] = [[] for _ in range(workers)]
    errors: list[BaseException] = []

    def run(w: int) -> None:
        try:
            with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
                cur.execute("SET jit = off")
                cur.execute("SET max_parallel_workers_per_gather = 0")
                cur.execute(POSTGIS_QUERY, (int(bounds[w]), int(bounds[w + 1])))
                parts[w] = cur.fetchall()
                cur.execute("SELECT pg_backend_pid()")
                row = cur.fetchone()
                if peak_kb is not None and row is not None:
                    peak_kb.append(_vm_hwm_kb(int(row[0])))
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    rows = [r for part in parts for r in part]
    df = pd.DataFrame(rows, columns=["id", *COLUMNS]).set_index("id").sort_index()
    df = df.reindex(np.arange(n))
    out = {c: df[c].to_numpy(dtype=float) for c in COLUMNS}
    out["n_luminaires_30m"] = out["n_luminaires_30m"].astype(np.int64)
    out["score"] = reference_score(*(out[c] for c in COLUMNS), params=P)
    out["rank"] = rank_scores(out["score"])
    return out


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


# ---------------------------------------------------------------------------------------------
# Agreement
# ---------------------------------------------------------------------------------------------

def agreement(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, object]:
    """Compare two engines' results: counts exact, distances 1e-6 m, lux 1e-6 relative,
    score within one rounding step (scores are rounded to 1e-9, and components that differ
    by 1e-13 can round to neighbouring steps), ranks equal. Returns the number of
    mismatches per column and ``ok``."""
    res: dict[str, object] = {}
    res["n_luminaires_30m"] = int(np.sum(a["n_luminaires_30m"] != b["n_luminaires_30m"]))
    for c in ("nearest_luminaire_m", "school_distance_m", "crossing_distance_m"):
        x, y = np.asarray(a[c], float), np.asarray(b[c], float)
        bad = (np.isnan(x) != np.isnan(y)) | (np.abs(np.nan_to_num(x - y)) > 1e-6)
        res[c] = int(bad.sum())
    x, y = np.asarray(a["midpoint_lux"], float), np.asarray(b["midpoint_lux"], float)
    res["midpoint_lux"] = int(np.sum(np.abs(x - y) > 1e-6 * np.maximum(np.abs(x), np.abs(y))))
    res["score"] = int(np.sum(np.abs(a["score"] - b["score"]) > 1.5e-9))
    res["rank"] = int(np.sum(a["rank"] != b["rank"]))
    res["ok"] = all(v == 0 for v in res.values())
    return res
