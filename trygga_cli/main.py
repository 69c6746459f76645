"""The ``trygga`` command: ``trygga layers --profile PATH`` and later subcommands."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from trygga_cli.common import DEFAULT_PROFILE, CleanErrorsGroup, profile_option
from trygga_cli.i18n import t

app = typer.Typer(
    cls=CleanErrorsGroup,
    name="trygga",
    help=t(
        "Trygga stråk: belysning, trygghetsvandringar och uppföljning för kommuner. "
        "Sätt TRYGGA_LANG=en för hjälp på engelska.",
        "Trygga stråk: lighting, safety walks and follow-up for Swedish municipalities. "
        "Unset TRYGGA_LANG (or set sv) for help in Swedish.",
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

import trygga_cli.qfield_cmd  # noqa: E402, F401  (registers `trygga walks qfield`)
from trygga_cli.walks_cmd import walks_app  # noqa: E402  (sub-app after the root app)

app.add_typer(walks_app, name="walks")

from trygga_cli.store_cmd import store_app  # noqa: E402

app.add_typer(store_app, name="store")

from trygga_cli.report_cmd import REPORT_HELP, promises_app, report_command  # noqa: E402

app.add_typer(promises_app, name="promises")
app.command("report", help=REPORT_HELP)(report_command)
from trygga_cli.deadlines_cmd import DEADLINES_HELP, deadlines_command  # noqa: E402

app.command("deadlines", help=DEADLINES_HELP)(deadlines_command)
from trygga_cli.open311_cmd import open311_app  # noqa: E402

app.add_typer(open311_app, name="open311")
from trygga_cli.feed_cmd import FEED_HELP, feed_command  # noqa: E402

app.command("feed", help=FEED_HELP)(feed_command)
from trygga_cli.lagesbild_cmd import LAGESBILD_HELP, lagesbild_command  # noqa: E402

app.command("lagesbild", help=LAGESBILD_HELP)(lagesbild_command)
from trygga_cli.calibrate_cmd import CALIBRATE_HELP, calibrate_command  # noqa: E402

app.command("calibrate", help=CALIBRATE_HELP)(calibrate_command)

ProfileOption = Annotated[Path, profile_option(
    t("Kommunprofil (TOML), t.ex. data/stromstad/profile.toml.",
      "Municipality profile (TOML), e.g. data/stromstad/profile.toml."))]


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=t(
        "Visa förloppsloggar.", "Show progress logs."))] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command("layers", help=t(
    "Läs in alla lager som profilen anger och skriv en sammanfattning per lager: "
    "antal, CRS, utbredning och varningar.",
    "Load every layer the profile names and print a summary per layer: count, CRS, "
    "bounds and warnings."))
def layers_command(profile: ProfileOption = DEFAULT_PROFILE) -> None:
    from layers import ValidationError, load_profile
    from layers.loader import load_layers
    from layers.osm import OsmDownloadError
    from trygga_cli.summary import format_summary

    try:
        prof = load_profile(profile)
        loaded = load_layers(prof)
    except (ValidationError, OsmDownloadError) as exc:
        typer.echo(t("Fel i indata:", "Invalid input:") + f"\n{exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(format_summary(loaded))


@app.command("rank", help=t(
    "Rangordna gång- och cykelvägar för ny belysning och armaturer för LED-byte. Skriver "
    "ranking.gpkg, CSV/XLSX för Excel, illuminance.tif och summary.json till --out.",
    "Rank walking and cycle paths for new lighting and luminaires for LED replacement. "
    "Writes ranking.gpkg, Excel CSV/XLSX, illuminance.tif and summary.json to --out."))
def rank_command(
    out: Annotated[Path, typer.Option("--out", "-o", help=t(
        "Utmapp.", "Output folder."))] = Path("out/ranking"),
    profile: ProfileOption = DEFAULT_PROFILE,
    osm: Annotated[Path | None, typer.Option("--osm", help=t(
        "Lokalt OSM-utdrag (.osm, .osm.bz2, .osm.pbf) i stället för profilens.",
        "Local OSM extract (.osm, .osm.bz2, .osm.pbf) instead of the profile's."))] = None,
    place: Annotated[str | None, typer.Option("--place", help=t(
        "Ortnamn att hämta från OSM (kräver nätverk).",
        "Place name to download from OSM (needs network)."))] = None,
    lighting: Annotated[Path | None, typer.Option("--lighting", help=t(
        "Belysningsregister (CSV, XLSX, GPKG, SHP, GeoJSON).",
        "Lighting inventory (CSV, XLSX, GPKG, SHP, GeoJSON)."))] = None,
    findings: Annotated[Path | None, typer.Option("--findings", help=t(
        "Fynd från trygghetsvandringar (GeoJSON/GPKG).",
        "Safety-walk findings (GeoJSON/GPKG)."))] = None,
    no_raster: Annotated[bool, typer.Option("--no-raster", help=t(
        "Skriv ingen illuminance.tif.", "Do not write illuminance.tif."))] = False,
    profiles: Annotated[list[Path] | None, typer.Option("--profiles", help=t(
        "Flera kommuner: en utdatamapp per kommun i --out och en regionsammanställning "
        "(t.ex. --profiles data/*/profile.toml).",
        "Several municipalities: one output folder per kommun in --out and a region "
        "summary (e.g. --profiles data/*/profile.toml)."))] = None,
    more_profiles: Annotated[list[Path] | None, typer.Argument(
        hidden=True, help="the rest of a shell glob after --profiles")] = None,
    dask: Annotated[bool, typer.Option("--dask", help=t(
        "Hela rangordningen rutvis på ett dask-kluster: skolvägar, belysningsmodell och "
        "omgivning per ruta, poäng och paket samlat (lokalt 2 arbetare om inte --scheduler "
        "ges). Samma resultat.",
        "The whole ranking tile by tile on a dask cluster: school routes, lighting model and "
        "context per tile, score and packages together (2 local workers unless --scheduler "
        "is given). The same results."))
    ] = False,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help=t(
        "Adress till en dask-scheduler (tcp://värd:8786); innebär --dask.",
        "Address of a dask scheduler (tcp://host:8786); implies --dask."))] = None,
) -> None:
    import contextlib

    from trygga_cli.rank import dask_map, run_rank, run_rank_region

    if more_profiles and not profiles:
        typer.echo(t("Okända argument: ", "Unexpected arguments: ")
                   + " ".join(map(str, more_profiles)), err=True)
        raise typer.Exit(2)
    with (dask_map(scheduler) if (dask or scheduler) else contextlib.nullcontext()) as mapper:
        if profiles:
            code = run_rank_region([*profiles, *(more_profiles or [])], out,
                                   raster=not no_raster, map_tiles=mapper)
        else:
            code = run_rank(profile, out, osm=osm, place=place, lighting=lighting,
                            findings=findings, raster=not no_raster, map_tiles=mapper)
    raise typer.Exit(code)


@app.command("public-map", help=t(
    "Skriv en fristående HTML-karta för kommunens webbplats: en enda fil (Leaflet ingår), "
    "bara offentliga fält, inga anrop till tredje part (utom valfri bakgrundskarta). En "
    "befintlig fil ersätts bara om den skrevs av public-map (annars --force).",
    "Write a standalone HTML map for the kommun's website: one single file (Leaflet "
    "inlined), public fields only, no third-party requests (except an optional basemap). "
    "An existing file is replaced only if public-map wrote it (else --force)."))
def public_map_command(
    out: Annotated[Path, typer.Option("--out", "-o", help=t("Utfil (.html).",
                                                              "Output file (.html)."))],
    profile: ProfileOption = DEFAULT_PROFILE,
    store: Annotated[str | None, typer.Option("--store", help=t(
        "Fyndlager: GeoPackage-fil eller postgresql://värd/databas; standard är profilens.",
        "Findings store: GeoPackage file or postgresql://host/database; default is the "
        "profile's."))] = None,
    basemap: Annotated[str, typer.Option("--basemap", help=t(
        "none (ingen, standard) eller osm.", "none (default) or osm."))] = "none",
    lang: Annotated[str, typer.Option("--lang", help="sv | en")] = "sv",
    force: Annotated[bool, typer.Option("--force", help=t(
        "Ersätt utfilen även om den inte skrevs av public-map.",
        "Replace the output file even if public-map did not write it."))] = False,
) -> None:
    import warnings

    from layers import LayerWarning, load_profile
    from layers.loader import load_layers
    from ui.public_map import NotOurFileError, is_our_map, write_static_map
    from walks.public import public_view
    from walks.service import open_store
    from walks.store import override_store

    if out.exists() and not force and not is_our_map(out):
        typer.echo(t(f"Fel: {out} finns redan och skrevs inte av `trygga public-map`. Välj "
                     "ett annat filnamn, eller ange --force för att ersätta den.",
                     f"Error: {out} exists and was not written by `trygga public-map`. "
                     "Choose another file name, or pass --force to replace it."), err=True)
        raise typer.Exit(2)
    prof = override_store(load_profile(profile), store)
    st = open_store(prof)
    view = public_view(st.findings(include_hidden=False), categories=st.categories,
                       tz=prof.timezone)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        paths = load_layers(prof).paths
    bounds = None
    if len(paths):
        w, s, e, n = (float(v) for v in paths.to_crs("EPSG:4326").total_bounds)
        bounds = (w, s, e, n)
    try:
        path = write_static_map(view, out, bounds_4326=bounds, basemap=basemap, lang=lang,
                                title=f"Trygga stråk – {prof.name}", context=paths,
                                demo=prof.demo, force=force)
    except NotOurFileError as exc:
        typer.echo(t("Fel:", "Error:") + f" {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(str(path))


def main() -> None:
    """Console entry point."""
    import warnings

    from layers import LayerWarning

    # Layer warnings are collected into the summary; do not print them twice.
    warnings.simplefilter("ignore", LayerWarning)
    app(prog_name="trygga")


if __name__ == "__main__":  # pragma: no cover
    main()
