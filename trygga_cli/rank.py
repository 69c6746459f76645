"""``trygga rank``: load layers, rank, and write every output file."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from trygga_cli.i18n import t

if TYPE_CHECKING:
    import pandas as pd

    from layers import Profile
    from layers.loader import Layers

STEP_SV = {"layers": "läser lager", "segments": "delar upp i segment",
           "context": "skolor, övergångsställen, områden, fynd",
           "school_routes": "skolvägar", "lighting_model": "belysningsmodell",
           "darkness": "mörker under skolvägen", "score": "poäng och rangordning",
           "packages": "åtgärdspaket", "led": "LED-byten", "outputs": "skriver filer",
           "raster": "illuminance.tif"}


class Stages:
    """Wall time (s) and the process's peak RSS (MB, ``ru_maxrss``, monotonic) after each
    named stage of a run; for ``bench/run_scale.py``. Use as ``with stages("name"): ...``."""

    def __init__(self) -> None:
        self.records: list[dict[str, float | str]] = []

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        import resource
        import time

        t0 = time.perf_counter()
        try:
            yield
        finally:
            peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.records.append({"stage": name, "seconds": time.perf_counter() - t0,
                                 "peak_rss_mb": peak_kb / 1024})


def _no_stage(_name: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


def cache_folder() -> Path:
    """``$TRYGGA_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/trygga`` (default
    ``~/.cache/trygga``). The tests point it at a temporary folder."""
    import os

    if os.environ.get("TRYGGA_CACHE_DIR"):
        return Path(os.environ["TRYGGA_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "trygga"


def layers_cache_key(prof: Profile) -> str | None:
    """Key of the normalised layers of *prof*, or None when they cannot be cached.

    Made of the effective profile (every setting and path), the size and modification
    time of every input file it names, and the source of the ``layers`` package (a new
    funnel gives a new key). None for a download (``osm_place``): its input is not a file.
    """
    import hashlib

    import layers as layers_pkg
    from layers.io import source_fingerprint

    if prof.sources.osm_place and prof.sources.osm is None:
        return None
    h = hashlib.blake2b(repr(prof).encode(), digest_size=16)
    files = [*([prof.boundary] if prof.boundary else []),
             *[v for v in dataclasses.asdict(prof.sources).values() if isinstance(v, Path)]]
    for f in files:
        st = f.stat() if f.exists() else None
        h.update(f"{f}:{st.st_size if st else -1}:{st.st_mtime_ns if st else -1};".encode())
    h.update(source_fingerprint(layers_pkg).encode())
    return h.hexdigest()


def cached_layers(prof: Profile) -> Layers:
    """:func:`layers.loader.load_layers`, cached on disk per input (see
    :func:`layers_cache_key`), in :func:`cache_folder`.

    The cache is a folder ``layers-<key>/`` of GeoParquet files, one per normalised layer
    (:mod:`layers.cache`); nothing else is cached here. The warnings the funnels gave
    (repairs, fallbacks) are stored with the layers and given again on a cache hit, so the
    user sees the same messages every run.
    """
    import contextlib
    import shutil
    import warnings

    from layers import LayerWarning
    from layers.cache import read_layers, write_layers
    from layers.loader import load_layers

    key = layers_cache_key(prof)
    folder = cache_folder() / f"layers-{key}" if key else None
    if folder is not None and folder.exists():
        try:
            got = read_layers(folder, prof)
        except Exception:  # a broken or foreign cache folder is only a miss
            got = None
        if got is not None:
            cached, caught = got
            for category, message in caught:
                warnings.warn(message, category, stacklevel=2)
            return cached
        shutil.rmtree(folder, ignore_errors=True)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        loaded = load_layers(prof)
    for r in records:  # as they came, to the caller's filters
        warnings.warn_explicit(r.message, r.category, r.filename, r.lineno)
    caught = [(r.category, str(r.message)) for r in records
              if issubclass(r.category, LayerWarning)]
    if folder is not None:
        # a read-only home or a column parquet cannot hold: just no cache
        with contextlib.suppress(Exception):
            write_layers(folder, loaded, caught)
    return loaded


def _store(path: Path, data: bytes) -> None:
    """Write a cache file atomically; a read-only home is fine: just no cache."""
    import contextlib

    from layers.io import write_atomic

    with contextlib.suppress(OSError):
        write_atomic(path, data)


def cached_route_counts(layers: Layers, segment_length_m: float,
                        map_tiles: Callable[..., Any] | None = None) -> pd.Series:
    """School-route counts, cached on disk per input network, schools and homes.

    The counts depend only on the path network, the school grounds and where routes start
    (the homes, :meth:`layers.loader.Layers.route_origins`, else a grid), so they are kept
    in ``$XDG_CACHE_HOME/trygga`` (default ``~/.cache/trygga``) under a key made of the
    paths (index, every column, exact geometry), the segment length, the source of
    :mod:`gis.segments` and :mod:`gis.school_routes`, and hashes of the schools, the homes
    and the roads. Any change to one of them gives a new key. The key needs no segments,
    so a cache hit does not cut the paths into segments (the ranking does that once).
    """
    import hashlib
    import json

    import pandas as pd
    import shapely

    import gis.school_routes
    import gis.segments
    from gis.school_routes import layer_route_counts
    from gis.segments import segment_paths

    paths = layers.paths
    schools = layers.schools
    crs_wkt = paths.crs.to_wkt() if paths.crs is not None else ""
    h = hashlib.blake2b(f"{segment_length_m!r}|{crs_wkt}|{len(paths)}".encode(),
                        digest_size=16)
    for module in (gis.segments, gis.school_routes):
        h.update(Path(str(module.__file__)).read_bytes())
    h.update("\x1f".join(map(str, paths.index.tolist())).encode())
    attrs = pd.DataFrame(paths.drop(columns=paths.geometry.name))
    h.update("\x1f".join(map(str, attrs.columns)).encode())
    h.update(pd.util.hash_pandas_object(attrs.astype("string"), index=False)
             .to_numpy().tobytes())
    h.update(b"".join(shapely.to_wkb(paths.geometry.values).tolist()))
    h.update(b"".join(shapely.to_wkb(schools.geometry.values).tolist()))
    origins = layers.route_origins()
    h.update(b"homes:" + (shapely.get_coordinates(origins.geometry.values).tobytes()
                          if origins is not None else b"grid"))
    walkable = layers.walkable
    h.update(b"roads:" + (shapely.get_coordinates(walkable.geometry.values).tobytes()
                          if walkable is not None else b"none"))
    h.update(b"foot:" + "|".join(paths["foot"].astype("string").fillna("").tolist()).encode())
    h.update(b"schools:" + "|".join(schools["name"].astype("string").fillna("").tolist())
             .encode())
    path = cache_folder() / f"routes-{h.hexdigest()}.parquet"
    reach = path.with_suffix(".json")
    if path.exists() and reach.exists():
        try:
            cached: pd.Series = pd.read_parquet(path)["school_routes"]
            cached.attrs["homes_reached"] = json.loads(reach.read_text(encoding="utf-8"))
            return cached
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
    segs = segment_paths(paths, segment_length_m)
    if map_tiles is None:
        counts = layer_route_counts(layers, segs)
    else:
        from gis.school_routes import school_route_counts_tiled

        counts = school_route_counts_tiled(segs, schools, origins, walkable=walkable,
                                           map_tiles=map_tiles)
    _store(path, counts.to_frame().to_parquet())
    _store(reach, json.dumps(counts.attrs.get("homes_reached", {})).encode("utf-8"))
    return counts


def run_rank(profile_path: Path, out: Path, osm: Path | None = None, place: str | None = None,
             lighting: Path | None = None, findings: Path | None = None,
             raster: bool = True,
             stages: Callable[[str], contextlib.AbstractContextManager[None]] | None = None,
             map_tiles: Callable[..., Any] | None = None) -> int:
    """Run the ranking end to end; returns the exit code (0 ok, 2 bad input).

    ``stages`` (a :class:`Stages`) times the layers, routes, rank and each output file.
    ``map_tiles`` (from :func:`dask_map`) runs the school routes and the per-segment steps
    of the ranking on a dask cluster, tile by tile (:func:`gis.tiled.rank_tiled`); the
    outputs are the same.
    """
    from gis.outputs import write_ranking_outputs
    from gis.ranking import rank
    from layers import ValidationError, load_profile
    from layers.lighting import mark_out_of_service
    from layers.osm import OsmDownloadError
    from walks.seed import read_open_findings
    from walks.service import lamp_faults, open_store
    from walks.service import open_findings as store_open_findings

    step = stages or _no_stage
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  transient=True) as bar:
        task = bar.add_task(t("läser lager", "loading layers"), total=None)

        def progress(name: str) -> None:
            bar.update(task, description=t(STEP_SV.get(name, name), name.replace("_", " ")))

        try:
            prof = load_profile(profile_path)
            src = prof.sources
            if osm is not None:
                src = dataclasses.replace(src, osm=osm, osm_place=None)
            elif place is not None:
                src = dataclasses.replace(src, osm=None, osm_place=place)
            if lighting is not None:
                src = dataclasses.replace(src, lighting_inventory=lighting)
            if src is not prof.sources:
                prof = dataclasses.replace(prof, sources=src)
            with step("layers"):
                layers = cached_layers(prof)
            luminaires = layers.luminaires
            with step("findings"):
                if findings is not None:
                    open_findings = read_open_findings(findings, prof.crs)
                else:
                    store = open_store(prof)
                    open_findings = store_open_findings(store)
                    # Reported lamp faults: the lamp is dark until the finding is fixed.
                    faults = lamp_faults(store)
                    luminaires, unknown = mark_out_of_service(
                        luminaires, faults["luminaire_id"].astype(str).tolist())
                    store.close()
                    if unknown:
                        typer.echo(t("Varning: felanmälda armaturer finns inte i "
                                     "belysningsregistret: ", "Warning: reported luminaires "
                                     "are not in the inventory: ") + ", ".join(unknown[:20]),
                                   err=True)
        except (ValidationError, OsmDownloadError) as exc:
            typer.echo(t("Fel i indata:", "Invalid input:") + f"\n{exc}", err=True)
            return 2
        if len(layers.paths) == 0:
            typer.echo(t("Fel i indata:", "Invalid input:") + "\n" + no_paths_message(layers),
                       err=True)
            return 2
        # The GeoTIFF needs only the paths and the luminaires: it is written by a forked
        # process while this one computes the routes and the ranking (both cores busy).
        background: dict[str, Any] = {}
        if raster:
            from gis.outputs import start_illuminance_geotiff

            tif_job = start_illuminance_geotiff(out, layers.paths, luminaires, prof)
            if tif_job is not None:
                background["tif"] = tif_job
        progress("school_routes")
        with step("school_routes"):
            routes = cached_route_counts(layers, prof.lighting.segment_length_m,
                                         map_tiles=map_tiles)
        with step("rank"):
            result = (rank if map_tiles is None else _rank_on_tiles(map_tiles))(
                layers.paths, luminaires, layers.schools, layers.crossings,
                layers.priority_areas, prof, findings=open_findings,
                route_counts=routes, progress=progress,
                origins=layers.route_origins(), walkable=layers.walkable)
        progress("outputs")
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="ranking.xlsx not written")
            files = write_ranking_outputs(
                result, luminaires, out, prof, paths=layers.paths,
                what=("gpkg", "csv", "xlsx", "tif", "json") if raster
                else ("gpkg", "csv", "xlsx", "json"), stages=stages, background=background)
        summary = result.summary(prof)
    typer.echo(format_rank_summary(summary, out))
    if "xlsx" not in files:
        from gis.outputs import xlsx_too_large

        why = xlsx_too_large({"segments": result.segments, "work_packages": result.packages,
                              "led_replacements": result.led})
        typer.echo(t("ranking.xlsx skrevs inte: fler rader än ett Excel-blad rymmer "
                     "(1 048 575). Använd CSV-filerna (alla rader).", str(why)))
    return 0


@dataclasses.dataclass(frozen=True)
class _Args:
    """A task's arguments as one object, scattered to a worker in one piece."""

    items: tuple[Any, ...]


def _call(fn: Callable[..., Any], args: _Args) -> Any:
    return fn(*args.items)


def _rank_on_tiles(map_tiles: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`gis.tiled.rank_tiled` on *map_tiles*, called as :func:`gis.ranking.rank`."""
    import functools

    from gis.tiled import rank_tiled

    return functools.partial(rank_tiled, map_tiles=map_tiles)


@contextlib.contextmanager
def dask_map(scheduler: str | None = None, workers: int = 2, processes: bool = True,
             memory_limit: str = "4GB") -> Iterator[Callable[..., list[Any]]]:
    """A ``map_tiles(function, tasks)`` that runs each task on a dask cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running ``distributed`` scheduler (``tcp://host:8786``). Default: a
        ``distributed.LocalCluster`` of *workers* workers on this machine, closed at exit.
    workers, processes, memory_limit
        For the LocalCluster: worker count, processes (False: threads in this process,
        for tests), memory limit per worker (issue 15: ≤ 4 GB).

    The tasks are submitted a few at a time (at most 2 per worker in flight beyond the
    running ones), so the tiles' data never all wait on the scheduler at once; each task's
    arguments are scattered to a worker as one object (not put in the task graph); results
    come back in task order. ``map_tiles.client`` is the ``distributed.Client``.
    """
    import logging

    from distributed import Client, LocalCluster

    for name in ("distributed", "distributed.nanny", "distributed.scheduler",
                 "distributed.worker", "distributed.core", "distributed.http.proxy"):
        logging.getLogger(name).setLevel(logging.WARNING)  # progress talk, not ours
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        # on loopback: this machine only (and no lookup of the outward address)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                               memory_limit=memory_limit, dashboard_address=None,
                               host="127.0.0.1", protocol="tcp://")
        client = Client(cluster)

    def map_tiles(fn: Callable[..., Any], tasks: Any) -> list[Any]:
        from distributed import wait

        n = max(1, len(client.scheduler_info().get("workers", {})) or workers)
        futures: list[Any] = []
        for task in tasks:
            live = [f for f in futures if not f.done()]
            if len(live) >= 3 * n:
                wait(live, return_when="FIRST_COMPLETED")
            # the task's data goes to a worker on its own (not inside the task graph)
            [data] = client.scatter([_Args(tuple(task))], hash=False)
            futures.append(client.submit(_call, fn, data, pure=False))
            del data
        return list(client.gather(futures))

    map_tiles.client = client  # type: ignore[attr-defined]  # for bench/run_scale.py
    try:
        yield map_tiles
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def region_summary(summaries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One region's key figures from its kommuner's ``summary.json`` (name -> summary):
    per kommun the main numbers, and their sums."""
    keys = ("segments", "km_total", "km_unlit_near_school", "km_dark_near_school",
            "packages", "luminaires_out_of_service")
    rows = []
    for folder, s in summaries.items():
        row: dict[str, Any] = {"kommun": s["municipality"], "folder": folder}
        row.update({k: s.get(k, 0) for k in keys})
        for status, km in (s.get("km_by_status") or {}).items():
            row[f"km_{status}"] = km
        led = s.get("led") or {}
        row["led_luminaires"] = led.get("luminaires", 0)
        row["led_kwh_saved_per_year"] = led.get("kwh_saved_per_year", 0)
        rows.append(row)
    columns = list(dict.fromkeys(c for r in rows for c in r))
    for r in rows:  # a status a kommun does not have: 0 km
        r.update({c: 0.0 for c in columns if c.startswith("km_") and c not in r})
    totals: dict[str, float | int] = {}
    for c in columns:
        if c in ("kommun", "folder"):
            continue
        values = [r.get(c, 0) or 0 for r in rows]
        totals[c] = (sum(values) if all(isinstance(v, int) for v in values)
                     else round(sum(float(v) for v in values), 2))
    return {"kommuner": rows, "total": totals}


def run_rank_region(profiles: list[Path], out: Path, raster: bool = True,
                    map_tiles: Callable[..., Any] | None = None) -> int:
    """``trygga rank --profiles …``: one output set per kommun in ``out/<kommun_code>``
    (else the profile's folder name), then ``region_summary.json`` and
    ``region_summary.csv`` (Swedish Excel CSV) with one row per kommun and the totals.
    Returns the first non-zero exit code, else 0."""
    import json

    import pandas as pd

    from gis.outputs import write_csv_sv
    from layers import ValidationError, load_profile

    summaries: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for profile_path in profiles:
        try:
            prof = load_profile(profile_path)
        except ValidationError as exc:
            typer.echo(t("Fel i indata:", "Invalid input:") + f"\n{exc}", err=True)
            return 2
        folder = prof.kommun_code or profile_path.parent.name
        if folder in used:
            folder = f"{folder}-{profile_path.parent.name}"
        used.add(folder)
        typer.echo(f"== {prof.name} ({folder})")
        code = run_rank(profile_path, out / folder, raster=raster, map_tiles=map_tiles)
        if code:
            return code
        summaries[folder] = json.loads((out / folder / "summary.json").read_text(
            encoding="utf-8"))
    region = region_summary(summaries)
    out.mkdir(parents=True, exist_ok=True)
    (out / "region_summary.json").write_text(json.dumps(region, ensure_ascii=False, indent=2),
                                             encoding="utf-8")
    table = pd.DataFrame([*region["kommuner"],
                          {"kommun": t("Totalt", "Total"), "folder": "", **region["total"]}])
    write_csv_sv(table, out / "region_summary.csv")
    typer.echo(t(f"Regionen: {len(summaries)} kommuner, {region['total']['km_total']:.1f} km, "
                 f"sammanställning i {out / 'region_summary.csv'}",
                 f"Region: {len(summaries)} municipalities, {region['total']['km_total']:.1f}"
                 f" km, summary in {out / 'region_summary.csv'}"))
    return 0


def no_paths_message(layers: Layers) -> str:
    """Why there is nothing to rank: the path layer's own warning (the extract and the
    boundary do not overlap, or the extract has no paths), naming both files."""
    report = layers.reports.get("paths")
    why = [w for w in (report.warnings if report else []) if w.startswith("paths (")]
    source = report.source if report else "-"
    boundary = layers.reports["boundary"].source if "boundary" in layers.reports else "-"
    return "\n".join(why or [f"no walking or cycling path from {source} lies inside the "
                             f"boundary {boundary}"]) + (
        "\nFix: use an OSM extract (sources.osm / --osm) that covers the municipality "
        f"of the boundary ({boundary}), or the boundary of the extract's area")


def _n(value: float) -> str:
    """A whole number as Swedish text writes it (:func:`promises.progress.fmt_number`)."""
    from promises.progress import fmt_number

    return fmt_number(value)


def format_rank_summary(s: dict, out: Path) -> str:
    """The short printed summary of a ranking run."""
    names = {"unlit": t("obelyst", "unlit"), "underlit": t("underbelyst", "underlit"),
             "lit_old_technology": t("gammal teknik", "old technology"), "ok": "ok",
             "unknown": t("okänd", "unknown")}
    lines = []
    if s.get("demo_data"):
        lines.append(t("OBS: DEMODATA — syntetiska data.", "NOTE: DEMO DATA — synthetic."))
    lines.append(f"{s['municipality']}: {s['segments']} segment, {s['km_total']:.1f} km")
    lines.append("km " + t("per status", "by status") + ": " + ", ".join(
        f"{names.get(k, k)} {v:.1f}" for k, v in s["km_by_status"].items()))
    lines.append(t(f"Obelyst inom {s['school_distance_m']:.0f} m från skola: "
                   f"{s['km_unlit_near_school']:.2f} km",
                   f"Unlit within {s['school_distance_m']:.0f} m of a school: "
                   f"{s['km_unlit_near_school']:.2f} km"))
    basis = s.get("km_by_lux_basis") or {}
    if basis:
        words = {"inventory": t("registret", "the inventory"),
                 "defaults": t("standardvärden", "defaults"),
                 "osm_lit_only": t("bara OSM lit", "OSM lit only")}
        lines.append(t("Ljusnivån bygger på", "Light levels rest on") + ": " + ", ".join(
            f"{words.get(k, k)} {v:.1f} km" for k, v in basis.items()))
    if s.get("luminaires_out_of_service"):
        n = s["luminaires_out_of_service"]
        lines.append(t(f"Fel: {n} armaturer ur drift (ger inget ljus i modellen)",
                       f"Faults: {n} luminaires out of service (no light in the model)"))
    cur = s.get("currency", "SEK")
    lines.append(t("Topp 10 åtgärdspaket:", "Top 10 work packages:"))
    for p in s["top_packages"]:
        lines.append(f"  {p['rank']:>2}. {p['length_m']:>6.0f} m  {p['new_light_points']:>3} "
                     f"{t('ljuspunkter', 'light points')}  {_n(p['cost_sek']):>10} {cur}  "
                     f"{p['reason']}")
    led = s["led"]
    lines.append(t(
        f"LED-byten: {led['luminaires']} armaturer ({led['hg']} kvicksilver), sparar "
        f"{_n(led['kwh_saved_per_year'])} kWh/år, {_n(led['sek_saved_per_year'])} {cur}/år, "
        f"{_n(led['co2_kg_saved_per_year'])} kg CO₂/år",
        f"LED replacements: {led['luminaires']} luminaires ({led['hg']} mercury), saving "
        f"{_n(led['kwh_saved_per_year'])} kWh/yr, {_n(led['sek_saved_per_year'])} {cur}/yr, "
        f"{_n(led['co2_kg_saved_per_year'])} kg CO₂/yr"))
    if led.get("unknown_light_source"):
        n = led["unknown_light_source"]
        lines.append(t(f"  + {n} armaturer med okänd ljuskälla: inventera (inte med i "
                       "besparingen)",
                       f"  + {n} luminaires of unknown light source: survey them (not in "
                       "the savings)"))
    if led.get("wattage_assumed"):
        n = led["wattage_assumed"]
        lines.append(t(f"  varav {n} med antagen effekt (saknas i registret)",
                       f"  of which {n} with an assumed wattage (missing in the inventory)"))
    photo = s.get("photometry")
    if photo:  # issue 17: the photometric EN 13201-3 model was on
        n = photo["segments_by_model"]
        lines.append(t(
            f"Fotometrisk modell (EN 13201-3): {n['photometric']} segment med ljusfiler, "
            f"{n['mixed']} blandade, {n['point_source']} punktkällemodell; "
            f"{photo['km_meeting_class']:.1f} km klarar P-klassen, "
            f"{photo['km_below_class']:.1f} km inte",
            f"Photometric model (EN 13201-3): {n['photometric']} segments from photometric "
            f"files, {n['mixed']} mixed, {n['point_source']} point-source model; "
            f"{photo['km_meeting_class']:.1f} km meet their P-class, "
            f"{photo['km_below_class']:.1f} km do not"))
        if "km_below_dimmed_class" in photo:  # a night profile in the catalogue
            lines.append(t(
                f"  nattsänkning: {photo['km_below_dimmed_class']:.1f} km klarar inte klassen "
                "för den sänkta perioden",
                f"  night dimming: {photo['km_below_dimmed_class']:.1f} km miss the class of "
                "the dimmed period"))
    months = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
    lines.append(t("Mörk skolväg per månad: ", "Dark school commute by month: ") + " ".join(
        f"{months[int(m) - 1]} {v:.0%}" for m, v in s["commute_darkness_by_month"].items()))
    origins = s.get("school_route_origins") or {}
    if origins.get("kind") == "homes":
        lines.append(t(f"Skolvägar räknade från {_n(origins['count'])} bostadshus",
                       f"School routes counted from {_n(origins['count'])} homes"))
    elif origins.get("kind") == "grid":
        lines.append(t(f"Skolvägar räknade från ett rutnät ({origins['spacing_m']:.0f} m); "
                       "inga bostadshus i indata",
                       f"School routes counted from a grid ({origins['spacing_m']:.0f} m); "
                       "no homes in the input"))
    if origins.get("network") == "paths_and_roads":
        lines.append(t("  över gång- och cykelvägar och gator man får gå på",
                       "  over paths and the streets one may walk along"))
    reached = origins.get("reached_per_school") or {}
    if reached and origins.get("kind") == "homes":
        lines.append(t("Hem med skolväg (nådde skolan / inom 2 km): ",
                       "Homes with a school route (reached / within 2 km): ") + ", ".join(
            f"{name} {_n(r['reached'])}/{_n(r['near'])}" for name, r in reached.items()))
    lines.append(t(f"Filer i {out}", f"Files in {out}"))
    return "\n".join(lines)
