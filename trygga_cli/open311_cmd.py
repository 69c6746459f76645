"""``trygga open311 export|import``: Open311 GeoReport v2 out of and into the findings.

Register in :mod:`trygga_cli.main`::

    from trygga_cli.open311_cmd import open311_app
    app.add_typer(open311_app, name="open311")
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from trygga_cli.i18n import t
from trygga_cli.walks_cmd import StoreOpt

if TYPE_CHECKING:
    from layers.profile import Profile

DEFAULT_PROFILE = Path("data/stromstad/profile.toml")

open311_app = typer.Typer(
    name="open311", no_args_is_help=True, add_completion=False,
    help=t("Open311 GeoReport v2: exportera offentliga fynd som services.json och "
           "requests.json, och importera requests.json (fil eller server) som fynd.",
           "Open311 GeoReport v2: export public findings as services.json and "
           "requests.json, and import requests.json (file or server) as findings."))

ProfileOpt = Annotated[Path, typer.Option("--profile", "-p", help=t(
    "Kommunprofil (TOML).", "Municipality profile (TOML)."))]


def _profile(profile: Path, store: str | None) -> Profile:
    from layers import load_profile
    from walks.store import override_store

    prof = load_profile(profile)
    return override_store(prof, store)


def _fail(exc: Exception) -> None:
    typer.echo(t("Fel:", "Error:") + f"\n{exc}", err=True)
    raise typer.Exit(2)


@open311_app.command("export", help=t(
    "Skriv services.json och requests.json av de offentliga fynden (bara den offentliga "
    "vyn: inga interna uppgifter) i en mapp.",
    "Write services.json and requests.json of the public findings (the public view only: "
    "nothing internal) into a folder."))
def export_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help=t("Utmapp.", "Output folder."))],
    profile: ProfileOpt = DEFAULT_PROFILE,
    store: StoreOpt = None,
) -> None:
    from layers import ValidationError
    from walks.open311 import export_georeport
    from walks.public import public_view
    from walks.service import open_store

    try:
        prof = _profile(profile, store)
        with open_store(prof) as s:
            view = public_view(s.findings(include_hidden=False), categories=s.categories,
                               tz=prof.timezone)
            cats = s.categories
        paths = export_georeport(view, cats, out, prof.open311_services)
    except ValidationError as exc:
        _fail(exc)
        return
    typer.echo("\n".join(str(p) for p in paths))
    typer.echo(t(f"{len(view)} offentliga fynd", f"{len(view)} public findings"))


@open311_app.command("import", help=t(
    "Importera en GeoReport v2 requests.json som fynd (fil, eller --url till serverns "
    "endpoint). Tjänstekoderna mappas till kategorier med profilens open311_services. "
    "Allt eller inget; samma fil två gånger ger inga dubbletter.",
    "Import a GeoReport v2 requests.json as findings (a file, or --url of the server's "
    "endpoint). Service codes map to categories with the profile's open311_services. All "
    "or nothing; the same file twice creates no duplicates."))
def import_cmd(
    file: Annotated[Path | None, typer.Argument(help=t(
        "requests.json att importera.", "requests.json to import."))] = None,
    url: Annotated[str | None, typer.Option("--url", help=t(
        "Open311-endpoint (t.ex. https://server/open311/v2); requests.json hämtas därifrån.",
        "Open311 endpoint (e.g. https://server/open311/v2); requests.json is fetched "
        "from it."))] = None,
    service_code: Annotated[str | None, typer.Option("--service-code", help=t(
        "Bara denna tjänst (med --url).", "Only this service (with --url)."))] = None,
    start: Annotated[str | None, typer.Option("--start", help=t(
        "Från datum ÅÅÅÅ-MM-DD (med --url).", "From date YYYY-MM-DD (with --url)."))] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=t(
        "Visa bara vad som skulle importeras och alla problem.",
        "Only show what would be imported and every problem."))] = False,
    profile: ProfileOpt = DEFAULT_PROFILE,
    store: StoreOpt = None,
) -> None:
    from layers import ValidationError
    from walks.open311 import fetch_requests, import_requests, requests_url
    from walks.service import open_store

    if (file is None) == (url is None):
        _fail(ValueError(t("ange en fil eller --url (inte båda)",
                           "give a file or --url (not both)")))
        return
    try:
        prof = _profile(profile, store)
        with tempfile.TemporaryDirectory() as tmp:
            path = file
            if url is not None:
                when = dt.date.fromisoformat(start) if start else None
                path = fetch_requests(requests_url(url, service_code=service_code,
                                                   start_date=when),
                                      Path(tmp) / "requests.json")
            assert path is not None
            with open_store(prof) as s:
                outcome = import_requests(s, prof, path, dry_run=dry_run)
    except (ValidationError, ValueError) as exc:
        _fail(exc)
        return
    typer.echo(outcome.text)
    if not outcome.ok:
        raise typer.Exit(1)
