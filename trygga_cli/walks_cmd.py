"""``trygga walks …``: import findings, export the public view, plan walks, protocols."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from trygga_cli.i18n import t

walks_app = typer.Typer(
    name="walks", no_args_is_help=True, add_completion=False,
    help=t("Trygghetsvandringar: importera fynd, planera vandringar, protokoll och "
           "offentlig export.",
           "Safety walks: import findings, plan walks, protocols and the public export."))

ProfileOpt = Annotated[Path, typer.Option("--profile", "-p", help=t(
    "Kommunprofil (TOML).", "Municipality profile (TOML)."))]
StoreOpt = Annotated[Path | None, typer.Option("--store", help=t(
    "Fyndlager (GeoPackage); standard är profilens.",
    "Findings store (GeoPackage); default is the profile's."))]
DEFAULT_PROFILE = Path("data/stromstad/profile.toml")


def _profile_and_store(profile: Path, store: Path | None):  # type: ignore[no-untyped-def]
    from layers import load_profile
    from walks.service import open_store

    prof = load_profile(profile)
    if store is not None:
        prof = dataclasses.replace(prof, store=store)
    return prof, open_store(prof)


def _fail(exc: Exception) -> None:
    typer.echo(t("Fel:", "Error:") + f"\n{exc}", err=True)
    raise typer.Exit(2)


@walks_app.command("import", help=t(
    "Importera fynd från QField, Survey123, Epicollect5, GPX, KML, GeoJSON eller "
    "CSV-mallen. Allt eller inget; samma fil två gånger ger inga dubbletter.",
    "Import findings from QField, Survey123, Epicollect5, GPX, KML, GeoJSON or the CSV "
    "template. All or nothing; the same file twice creates no duplicates."))
def import_cmd(
    file: Annotated[Path, typer.Argument(help=t("Filen att importera.", "File to import."))],
    walk: Annotated[str | None, typer.Option("--walk", help=t(
        "Vandringens id.", "The walk's id."))] = None,
    store: StoreOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=t(
        "Visa bara vad som skulle importeras och alla problem.",
        "Only show what would be imported and every problem."))] = False,
    profile: ProfileOpt = DEFAULT_PROFILE,
) -> None:
    from layers import ValidationError
    from walks.service import import_file

    try:
        prof, st = _profile_and_store(profile, store)
        outcome = import_file(st, prof, file, walk_id=walk, dry_run=dry_run)
    except ValidationError as exc:
        _fail(exc)
        return
    typer.echo(outcome.text)
    if not outcome.ok:
        raise typer.Exit(1)


@walks_app.command("export-public", help=t(
    "Skriv den offentliga vyn (tillåtna fält, inga interna anteckningar) som GeoJSON.",
    "Write the public view (allow-listed fields, no internal notes) as GeoJSON."))
def export_public_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help=t("Utfil (.geojson).",
                                                              "Output file (.geojson)."))],
    store: StoreOpt = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
) -> None:
    from walks.public import export_public_geojson

    prof, st = _profile_and_store(profile, store)
    path = export_public_geojson(st, out, tz=prof.timezone)
    typer.echo(str(path))


@walks_app.command("list", help=t("Lista fynd i lagret.", "List findings in the store."))
def list_cmd(store: StoreOpt = None, profile: ProfileOpt = DEFAULT_PROFILE) -> None:
    _prof, st = _profile_and_store(profile, store)
    f = st.findings()
    if f.empty:
        typer.echo(t("Inga fynd.", "No findings."))
        return
    for fid, r in f.sort_values("created").iterrows():
        typer.echo(f"{fid}  {str(r['created'])[:10]}  {r['state_label']:<22} "
                   f"{r['category']:<32} {str(r['description'])[:60]}")
