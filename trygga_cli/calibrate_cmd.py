"""``trygga calibrate READINGS.csv``: the lighting model against field lux-meter readings.

Register in :mod:`trygga_cli.main`::

    from trygga_cli.calibrate_cmd import CALIBRATE_HELP, calibrate_command
    app.command("calibrate", help=CALIBRATE_HELP)(calibrate_command)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trygga_cli.common import DEFAULT_PROFILE, profile_option
from trygga_cli.i18n import t

CALIBRATE_HELP = t(
    "Jämför belysningsmodellen med luxmätningar i fält (CSV med id, x/y eller lat/lon, lux, "
    "område): fel per mätpunkt och per område (medel, RMSE) och en anpassad faktor för "
    "underhållsfaktorn per område. Skriver punkter.csv och omraden.csv.",
    "Compare the lighting model with field lux-meter readings (CSV with id, x/y or lat/lon, "
    "lux, area): error per reading and per area (mean, RMSE) and a fitted factor for the "
    "maintenance factor per area. Writes punkter.csv and omraden.csv.")


def _csv_bytes(df: object) -> bytes:
    """Swedish Excel CSV: UTF-8 with BOM, ``;``, decimal comma."""
    import pandas as pd

    assert isinstance(df, pd.DataFrame)
    return ("\ufeff" + df.to_csv(sep=";", decimal=",", lineterminator="\r\n")).encode("utf-8")


def calibrate_command(
    readings: Annotated[Path, typer.Argument(help=t(
        "Luxmätningarna (CSV).", "The lux readings (CSV)."))],
    profile: Annotated[Path, profile_option(t(
        "Kommunprofil (TOML).", "Municipality profile (TOML)."))] = DEFAULT_PROFILE,
    out: Annotated[Path, typer.Option("--out", "-o", help=t(
        "Mapp för rapporten.", "Folder for the report."))] = Path("kalibrering"),
    crs: Annotated[str | None, typer.Option("--crs", help=t(
        "Koordinatsystem för x/y-kolumnerna (standard: profilens).",
        "CRS of the x/y columns (default: the profile's)."))] = None,
) -> None:
    """``trygga calibrate READINGS.csv [--profile P] [--out DIR]``."""
    from gis.calibration import ALL_AREAS, calibrate
    from layers import load_profile
    from layers.io import write_atomic
    from layers.loader import load_layers
    from layers.lux_readings import read_lux_readings
    from layers.photometric import load_catalogue

    try:
        prof = load_profile(profile)
        points = read_lux_readings(readings, prof.crs, source_crs=crs)
        layers = load_layers(prof)
        catalogue = (load_catalogue(prof.sources.photometry)
                     if prof.sources.photometry is not None else None)
        result = calibrate(points, layers.luminaires, layers.paths, catalogue,
                           layers.priority_areas,
                           default_height_m=prof.lighting.default_mounting_height_m)
    except ValueError as exc:  # ValidationError is a ValueError
        typer.echo(t("Fel:", "Error:") + f"\n{exc}", err=True)
        raise typer.Exit(2) from None
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "punkter.csv", _csv_bytes(result.readings))
    write_atomic(out / "omraden.csv", _csv_bytes(result.areas))
    model = t("fotometrisk katalog + punktkällemodell" if catalogue else "punktkällemodell",
              "photometric catalogue + point-source model" if catalogue
              else "point-source model")
    typer.echo(t(f"Modell: {model}; {len(points)} mätpunkter",
                 f"Model: {model}; {len(points)} readings"))
    for area, r in result.areas.iterrows():
        fit = (t(f", anpassad faktor {r['fitted_factor']:.2f}",
                 f", fitted factor {r['fitted_factor']:.2f}")
               if r["fitted_factor"] == r["fitted_factor"] else "")
        label = t("Alla", "All") if area == ALL_AREAS else str(area)
        typer.echo(t(
            f"  {label}: {int(r['readings'])} st, uppmätt {r['mean_measured_lux']:.2f} lx, "
            f"modell {r['mean_model_lux']:.2f} lx, medelfel {r['mean_error_lux']:+.2f} lx, "
            f"RMSE {r['rmse_lux']:.2f} lx{fit}",
            f"  {label}: {int(r['readings'])} readings, measured {r['mean_measured_lux']:.2f} "
            f"lx, model {r['mean_model_lux']:.2f} lx, mean error {r['mean_error_lux']:+.2f} "
            f"lx, RMSE {r['rmse_lux']:.2f} lx{fit}"))
    typer.echo(str(out / "punkter.csv"))
    typer.echo(str(out / "omraden.csv"))
