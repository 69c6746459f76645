"""Scale benchmark (issue 15): ``trygga rank`` on the demo replicated N times.

Usage (from the repo root)::

    .venv/bin/python bench/run_scale.py --sizes 1 5 25 [--data /tmp/trygga-scale]
    .venv/bin/python bench/run_scale.py --sizes 121          # once, ≈ minutes
    .venv/bin/python bench/run_scale.py --sizes 121 --warm   # cold, then warm (issue 15)
    .venv/bin/python bench/run_scale.py --sizes 289 --dask-workers 1 2 --no-raster
    .venv/bin/python bench/run_scale.py --dask-agree 25    # dask == single process at ×25

``--dask-workers`` runs the whole ``trygga rank --dask`` (:mod:`gis.tiled`) on a
LocalCluster of that many worker processes (4 GB each) and also reports each
``map_tiles`` call and each worker's peak RSS and CPU time.

For each N the input is written by :mod:`bench.scale_data` (not timed, kept in
``--data/xN`` for the next run). Then one child process runs
:func:`trygga_cli.rank.run_rank` under ``/usr/bin/time -v`` (Debian package ``time``) with
an empty ``XDG_CACHE_HOME``, so nothing comes from the layers or routes cache: the OSM
extract is parsed, the routes computed and every output written (GeoPackage, GeoTIFF, CSV,
XLSX, JSON). The child prints its stages (wall seconds and the peak RSS so far, from
``ru_maxrss``); ``/usr/bin/time`` gives the whole run's wall time, CPU % and peak RSS. The
load average (1 min) is read before and after each run: the machine is shared.

With ``--warm`` each size runs a second time right after the first, on the same caches
(``XDG_CACHE_HOME``: the normalised layers as GeoParquet and the school-route counts) and
the same findings store; every output is computed and written again. ``/usr/bin/time``'s
peak RSS is that of the largest single process; the forked writers (GeoTIFF, GeoPackage)
are separate processes, so the script also samples the whole process tree's PSS (shared
pages counted once) once a second and reports its peak.

Writes ``bench/results/scale.json`` (``--out``) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def child(profile: Path, out: Path, extra: list[str]) -> None:
    """Run one ``trygga rank`` in this process and print its stages as JSON."""
    import time as _time

    t0 = _time.perf_counter()
    from trygga_cli.rank import Stages, run_rank

    stages = Stages()
    stages.records.append({"stage": "imports", "seconds": _time.perf_counter() - t0,
                           "peak_rss_mb": 0.0})
    kwargs: dict = {}
    if "--no-raster" in extra:
        kwargs["raster"] = False
    if "--dask-workers" in extra:
        dask_child(profile, out, stages, int(extra[extra.index("--dask-workers") + 1]),
                   kwargs)
        return
    code = run_rank(profile, out, stages=stages, **kwargs)
    print("STAGES " + json.dumps({"code": code, "stages": stages.records}), flush=True)


def dask_child(profile: Path, out: Path, stages: Any, workers: int, kwargs: dict) -> None:
    """``trygga rank --dask`` in this process on a LocalCluster of *workers* worker
    processes (4 GB each): the stages, each ``map_tiles`` call (tasks, wall s) and, per
    worker, its peak RSS (``ru_maxrss``) and CPU time (user + system), read from the
    workers before the cluster closes."""
    import time as _time

    from trygga_cli.rank import dask_map, run_rank

    maps: list[dict] = []
    with dask_map(workers=workers) as map_tiles:
        def timed(fn, tasks):  # type: ignore[no-untyped-def]
            t0 = _time.perf_counter()
            got = map_tiles(fn, tasks)
            maps.append({"fn": fn.__name__, "tasks": len(got),
                         "seconds": _time.perf_counter() - t0})
            return got

        code = run_rank(profile, out, stages=stages, map_tiles=timed, **kwargs)
        per_worker = map_tiles.client.run(_worker_usage)  # type: ignore[attr-defined]
    print("STAGES " + json.dumps({"code": code, "stages": stages.records,
                                  "maps": maps, "workers": list(per_worker.values())}),
          flush=True)


def _worker_usage() -> dict:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return {"peak_rss_mb": r.ru_maxrss / 1024, "cpu_s": r.ru_utime + r.ru_stime}


def dask_routes(n: int, data: Path, tile_m: float) -> dict:
    """School routes at ×n: single process, tiled in process, and tiled on a dask
    LocalCluster of 1 and 2 worker processes; times (s) and the agreement check."""
    import pandas as pd

    from bench.scale_data import write_scale_input
    from gis.school_routes import school_route_counts, school_route_counts_tiled
    from gis.segments import segment_paths
    from layers import load_profile
    from layers.loader import load_layers
    from trygga_cli.rank import dask_map

    prof = load_profile(write_scale_input(n, data / f"x{n}"))
    layers = load_layers(prof)
    segs = segment_paths(layers.paths, prof.lighting.segment_length_m)
    args = (segs, layers.schools, layers.route_origins())
    out: dict = {"n": n, "segments": len(segs), "tile_m": tile_m,
                 "load": os.getloadavg()[0]}
    t0 = time.perf_counter()
    one = school_route_counts(*args, walkable=layers.walkable)
    out["single_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tiled = school_route_counts_tiled(*args, walkable=layers.walkable, tile_m=tile_m)
    out["tiled_in_process_s"] = time.perf_counter() - t0
    out["tiled_equal"] = bool(tiled.equals(one) and tiled.attrs == one.attrs)
    for workers in (1, 2):
        with dask_map(workers=workers) as map_tiles:
            t0 = time.perf_counter()
            got = school_route_counts_tiled(*args, walkable=layers.walkable, tile_m=tile_m,
                                            map_tiles=map_tiles)
            out[f"dask_{workers}_workers_s"] = time.perf_counter() - t0
        pd.testing.assert_series_equal(got, one)
        out[f"dask_{workers}_equal"] = got.attrs == one.attrs
    out["load_after"] = os.getloadavg()[0]
    return out


def dask_agreement(n: int, data: Path, workers: int = 2) -> dict:
    """At ×n: :func:`gis.ranking.rank` with the single-network routes against
    :func:`gis.tiled.rank_tiled` with the tiled routes on a LocalCluster of *workers*
    processes; every table compared exactly (values, dtypes, order) and the summary."""
    import warnings

    import pandas as pd

    from bench.scale_data import write_scale_input
    from gis.ranking import rank
    from gis.school_routes import layer_route_counts, school_route_counts_tiled
    from gis.segments import segment_paths
    from gis.tiled import rank_tiled
    from layers import load_profile
    from layers.loader import load_layers
    from trygga_cli.rank import dask_map
    from walks.seed import read_open_findings

    prof = load_profile(write_scale_input(n, data / f"x{n}"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layers = load_layers(prof)
    findings = read_open_findings(data / f"x{n}" / "fynd.geojson", prof.crs)
    segs = segment_paths(layers.paths, prof.lighting.segment_length_m)
    args = (layers.paths, layers.luminaires, layers.schools, layers.crossings,
            layers.priority_areas, prof)
    kw = {"findings": findings, "origins": layers.route_origins(),
          "walkable": layers.walkable}
    out: dict = {"n": n, "segments": len(segs), "workers": workers,
                 "load": os.getloadavg()[0]}
    t0 = time.perf_counter()
    one = rank(*args, route_counts=layer_route_counts(layers, segs), **kw)
    out["single_process_s"] = time.perf_counter() - t0
    with dask_map(workers=workers) as map_tiles:
        t0 = time.perf_counter()
        routes = school_route_counts_tiled(segs, layers.schools, layers.route_origins(),
                                           walkable=layers.walkable, map_tiles=map_tiles)
        two = rank_tiled(*args, route_counts=routes, map_tiles=map_tiles, **kw)
        out["dask_s"] = time.perf_counter() - t0
    for name in ("segments", "packages", "led", "darkness"):
        pd.testing.assert_frame_equal(getattr(two, name), getattr(one, name),
                                      check_exact=True)
    assert two.summary(prof) == one.summary(prof)
    out["identical"] = True
    out["tiles_s"] = two.timings.get("tiles")
    for n_workers in (1, 2):  # the ranking's tiles alone (routes given), 1 vs 2 workers
        with dask_map(workers=n_workers) as map_tiles:
            map_tiles(len, [("warm up",)] * 2 * n_workers)  # workers import first
            got = rank_tiled(*args, route_counts=routes, map_tiles=map_tiles, **kw)
            usage = map_tiles.client.run(_worker_usage)  # type: ignore[attr-defined]
        pd.testing.assert_frame_equal(got.segments, one.segments, check_exact=True)
        out[f"tiles_{n_workers}_workers_s"] = got.timings["tiles"]
        out[f"workers_{n_workers}"] = list(usage.values())
    out["load_after"] = os.getloadavg()[0]
    return out


def _time_v(stderr: str) -> dict:
    def grab(label: str) -> str:
        m = re.search(rf"{re.escape(label)}: (.+)", stderr)
        return m.group(1).strip() if m else ""

    wall = grab("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    parts = [float(p) for p in wall.split(":")] if wall else [0.0]
    seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    return {"wall_s": seconds, "cpu_percent": grab("Percent of CPU this job got"),
            "user_s": float(grab("User time (seconds)") or 0),
            "system_s": float(grab("System time (seconds)") or 0),
            "peak_rss_mb": int(grab("Maximum resident set size (kbytes)") or 0) / 1024}


def _descendants(root: int) -> list[int]:
    """*root* and every process below it (from ``/proc/*/stat``)."""
    parent: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parent[int(text.split(" ", 1)[0])] = int(text.rsplit(")", 1)[1].split()[1])
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(p for p, pp in parent.items() if pp == pid)
    return out


def _tree_pss_mb(root: int) -> float:
    """Proportional set size (MB) of *root* and its descendants: shared pages (the forked
    writers share the parent's frames copy-on-write) count once in the sum."""
    total = 0
    for pid in _descendants(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total / 1024


def _run_child(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str],
                                                             float]:
    """Run *cmd*; also sample the whole process tree's PSS once a second (its peak, MB;
    reading /proc costs the sampler a few per cent of a core)."""
    import threading

    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            peak[0] = max(peak[0], _tree_pss_mb(proc.pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    done.set()
    thread.join()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), peak[0]


def run_size(n: int, data: Path, extra: list[str], warm: bool = False) -> list[dict]:
    """One cold run at ×n (empty caches, a fresh findings store); with *warm* a second run
    right after it on the same caches and store. One result per run."""
    from bench.scale_data import write_scale_input

    t0 = time.perf_counter()
    profile = write_scale_input(n, data / f"x{n}")
    gen_s = time.perf_counter() - t0
    results = []
    with tempfile.TemporaryDirectory(prefix="trygga-scale-") as tmp:
        env = dict(os.environ, XDG_CACHE_HOME=str(Path(tmp) / "cache"),
                   PYTHONPATH=str(ROOT))
        env.pop("TRYGGA_CACHE_DIR", None)
        store = profile.parent / "walks.gpkg"  # a fresh store, seeded from the findings
        store.unlink(missing_ok=True)
        for kind in ("cold", "warm") if warm else ("cold",):
            out_dir = Path(tmp) / f"out-{kind}"
            load0 = os.getloadavg()[0]
            proc, tree_pss = _run_child(
                ["/usr/bin/time", "-v", sys.executable, str(Path(__file__).resolve()),
                 "--child", str(profile), str(out_dir), *extra], env)
            load1 = os.getloadavg()[0]
            outputs = {p.name: p.stat().st_size for p in out_dir.glob("*")} \
                if out_dir.exists() else {}
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("STAGES ")),
                        None)
            if proc.returncode != 0 or line is None:
                raise SystemExit(f"×{n} {kind} failed ({proc.returncode}):\n"
                                 f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
            staged = json.loads(line[len("STAGES "):])
            results.append({"n": n, "run": kind, "generate_s": gen_s, "load_before": load0,
                            "load_after": load1, **_time_v(proc.stderr),
                            "tree_pss_peak_mb": tree_pss, "stages": staged["stages"],
                            "outputs_bytes": outputs,
                            **{k: staged[k] for k in ("maps", "workers") if k in staged}})
    return results


def table(results: list[dict]) -> str:
    """Markdown: wall seconds and the peak RSS so far per stage and run; a writer that ran
    in a forked process beside the others shows the wait for it, and its own time in
    brackets."""
    names: list[str] = []
    for r in results:
        for s in r["stages"]:
            if s["stage"] not in names:
                names.append(s["stage"])
    label = [f"×{r['n']}" + (f" {r['run']}" if r.get("run") else "") for r in results]
    head = "| stage | " + " | ".join(f"{c} s | {c} peak MB" for c in label) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(results))]
    for name in names:
        cells = []
        for r in results:
            s = next((x for x in r["stages"] if x["stage"] == name), None)
            if s is None:
                cells += ["", ""]
                continue
            own = f" ({s['own_seconds']:.1f} own)" if "own_seconds" in s else ""
            cells += [f"{s['seconds']:.2f}{own}", f"{s['peak_rss_mb']:.0f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| **total (`/usr/bin/time -v`: wall, max RSS of one process)** | " + " | ".join(
        f"**{r['wall_s']:.1f}** | **{r['peak_rss_mb']:.0f}**" for r in results) + " |")
    lines.append("| peak PSS of the whole process tree (MB, sampled 1/s) | " + " | ".join(
        f" | {r.get('tree_pss_peak_mb', 0):.0f}" for r in results) + " |")
    lines.append("| CPU time, user + system (s) | " + " | ".join(
        f"{r['user_s'] + r['system_s']:.1f} | " for r in results) + " |")
    lines.append("| CPU % / load before→after | " + " | ".join(
        f"{r['cpu_percent']} | {r['load_before']:.1f}→{r['load_after']:.1f}"
        for r in results) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 25])
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "trygga-scale")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scale.json")
    ap.add_argument("--no-raster", action="store_true")
    ap.add_argument("--warm", action="store_true",
                    help="run each size twice on the same caches: cold, then warm")
    ap.add_argument("--child", nargs=2, type=Path, metavar=("PROFILE", "OUT"))
    ap.add_argument("--dask-routes", type=int, metavar="N",
                    help="time the school routes at ×N on 1 and 2 dask workers instead")
    ap.add_argument("--tile-m", type=float, default=20_000.0)
    ap.add_argument("--dask-workers", type=int, nargs="+", metavar="W",
                    help="run the whole `trygga rank --dask` (gis.tiled) on a LocalCluster "
                         "of W worker processes, once per W, at each size")
    ap.add_argument("--dask-agree", type=int, metavar="N",
                    help="check at ×N that the dask ranking equals the single process")
    args = ap.parse_args()
    if args.dask_agree:
        print(json.dumps(dask_agreement(args.dask_agree, args.data), indent=1))
        return
    if args.dask_routes:
        print(json.dumps(dask_routes(args.dask_routes, args.data, args.tile_m), indent=1))
        return
    extra = ["--no-raster"] if args.no_raster else []
    if args.child and args.dask_workers:  # the child of a --dask-workers run
        extra += ["--dask-workers", str(args.dask_workers[0])]
    if args.child:
        child(args.child[0], args.child[1], extra)
        return
    results = []
    for n in args.sizes:
        for workers in args.dask_workers or [None]:
            more = ["--dask-workers", str(workers)] if workers else []
            for r in run_size(n, args.data, extra + more, warm=args.warm):
                if workers:
                    r["dask_workers"] = workers
                print(f"×{n}{f' dask {workers} workers' if workers else ''} {r['run']}: "
                      f"{r['wall_s']:.1f} s, CPU {r['user_s'] + r['system_s']:.1f} s "
                      f"({r['cpu_percent']}), {r['peak_rss_mb']:.0f} MB (tree PSS "
                      f"{r['tree_pss_peak_mb']:.0f} MB), "
                      f"load {r['load_before']:.1f}→{r['load_after']:.1f}"
                      + (f", maps {r.get('maps')}, workers {r.get('workers')}" if workers
                         else ""), flush=True)
                results.append(r)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(args.out.read_text()) if args.out.exists() else []
    args.out.write_text(json.dumps([*old, {"date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                 time.gmtime()),
                                           "results": results}], indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
