"""The ``trygga`` command: ``trygga layers --profile PATH`` and later subcommands."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from trygga_cli.i18n import t

app = typer.Typer(
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

DEFAULT_PROFILE = Path("data/stromstad/profile.toml")

ProfileOption = Annotated[Path, typer.Option(
    "--profile", "-p",
    help=t("Kommunprofil (TOML), t.ex. data/stromstad/profile.toml.",
           "Municipality profile (TOML), e.g. data/stromstad/profile.toml."),
)]


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


def main() -> None:
    """Console entry point."""
    import warnings

    from layers import LayerWarning

    # Layer warnings are collected into the summary; do not print them twice.
    warnings.simplefilter("ignore", LayerWarning)
    app(prog_name="trygga")


if __name__ == "__main__":  # pragma: no cover
    main()
