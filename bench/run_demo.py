"""Time the demo ranking: the core warm, and ``trygga rank`` end to end.

Usage (from the repo root)::

    .venv/bin/python bench/run_demo.py [--profile data/stromstad/profile.toml] [--repeat 5]

1. **Core, warm**: load the demo layers once, precompute the school-route counts and the
   commute darkness (both cacheable per input network / profile, issue 3), call
   :func:`gis.ranking.rank` once untimed, then time it ``--repeat`` times (median). That is
   everything after loading: segmentation, context, the lighting model with its multi-point
   lux sampling, status, score and rank, packages and LED plan.
2. **End to end**: run ``.venv/bin/trygga rank --profile … --out DIR`` as a subprocess
   ``--cli-repeat`` times (median; hyperfine-like, wall clock including interpreter start,
   imports, reading layers and writing every output file).

Prints the numbers and writes ``bench/results/demo.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def core_times(profile_path: Path, repeat: int, photometry: Path | None = None,
               photometry_cold: bool = False) -> dict:
    import dataclasses

    from gis.darkness import commute_darkness_by_month
    from gis.ranking import rank
    from gis.school_routes import layer_route_counts
    from gis.segments import segment_paths
    from layers import load_profile
    from layers.loader import load_layers
    from walks.seed import read_open_findings

    prof = load_profile(profile_path)
    if photometry is not None:  # the photometric EN 13201-3 model on (issue 17)
        prof = dataclasses.replace(prof, sources=dataclasses.replace(
            prof.sources, photometry=photometry.resolve()))
    t0 = time.perf_counter()
    layers = load_layers(prof)
    findings = (read_open_findings(prof.sources.findings, prof.crs)
                if prof.sources.findings is not None else None)
    load_s = time.perf_counter() - t0
    segs = segment_paths(layers.paths, prof.lighting.segment_length_m)
    t0 = time.perf_counter()
    routes = layer_route_counts(layers, segs)
    routes_s = time.perf_counter() - t0
    darkness = commute_darkness_by_month(prof.latitude, prof.longitude, prof.timezone)

    def run():  # type: ignore[no-untyped-def]
        return rank(layers.paths, layers.luminaires, layers.schools, layers.crossings,
                    layers.priority_areas, prof, findings=findings, route_counts=routes,
                    darkness=darkness, origins=layers.route_origins(),
                    walkable=layers.walkable)

    import gis.photometry

    run()  # warm-up
    times, cpu, steps = [], [], []
    for _ in range(repeat):
        if photometry_cold:  # recompute the photometry (no result kept from the last run)
            gis.photometry._RESULTS.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        res = run()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        steps.append(res.timings)
    step_median = {k: statistics.median(s[k] for s in steps) for k in steps[0]}
    return {"segments": len(res.segments), "luminaires": len(layers.luminaires),
            "load_layers_s": load_s, "school_routes_s": routes_s, "core_s": times,
            "core_median_s": statistics.median(times), "core_steps_median_s": step_median,
            "core_cpu_median_s": statistics.median(cpu)}


def cli_times(profile_path: Path, repeat: int) -> dict:
    exe = ROOT / ".venv" / "bin" / "trygga"
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(exe), "rank", "--profile", str(profile_path), "--out", tmp],
                       check=True, capture_output=True, cwd=ROOT)  # warm-up (disk cache)
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run([str(exe), "rank", "--profile", str(profile_path), "--out", tmp],
                           check=True, capture_output=True, cwd=ROOT)
            times.append(time.perf_counter() - t0)
    return {"cli_s": times, "cli_median_s": statistics.median(times)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", type=Path, default=ROOT / "data" / "stromstad" / "profile.toml")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cli-repeat", type=int, default=3)
    ap.add_argument("--photometry", type=Path, default=None,
                    help="luminaire catalogue (TOML): time the core with the photometric "
                         "model on, e.g. data/photometry/katalog_demo.toml")
    ap.add_argument("--photometry-cold", action="store_true",
                    help="with --photometry: recompute it every run (by default the result "
                         "is kept for the same network, as when re-ranking)")
    ap.add_argument("--core-only", action="store_true", help="skip the end-to-end runs")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "demo.json")
    a = ap.parse_args(argv)
    res = {"date": time.strftime("%Y-%m-%d %H:%M %Z"),
           **core_times(a.profile, a.repeat, a.photometry, a.photometry_cold)}
    print(f"core (warm, median of {a.repeat}): {res['core_median_s']:.3f} s wall, "
          f"{res['core_cpu_median_s']:.3f} s CPU on "
          f"{res['segments']} segments; steps: "
          + ", ".join(f"{k} {v:.3f}" for k, v in res["core_steps_median_s"].items()), flush=True)
    if not a.core_only:
        res.update(cli_times(a.profile, a.cli_repeat))
        print(f"trygga rank end to end (median of {a.cli_repeat}): "
              f"{res['cli_median_s']:.2f} s")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
