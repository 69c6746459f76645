"""``trygga store …``: create, upgrade, inspect and copy findings stores.

A store is a GeoPackage file or a PostgreSQL + PostGIS database (``postgresql://host/db``,
``service=NAME`` or ``pg:`` for the PG* environment variables; never a password).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trygga_cli.i18n import t

store_app = typer.Typer(
    name="store", no_args_is_help=True, add_completion=False,
    help=t("Fyndlagret: skapa, uppgradera, visa och kopiera (GeoPackage ⇄ PostGIS).",
           "The findings store: create, upgrade, show and copy (GeoPackage ⇄ PostGIS)."))

ProfileOpt = Annotated[Path, typer.Option("--profile", "-p", help=t(
    "Kommunprofil (TOML): CRS, moderering och standardlager.",
    "Municipality profile (TOML): CRS, moderation and the default store."))]
TargetArg = Annotated[str | None, typer.Argument(help=t(
    "GeoPackage-fil eller postgresql://värd:port/databas (inget lösenord: använd PGPASSWORD "
    "eller ~/.pgpass); standard är profilens lager.",
    "GeoPackage file or postgresql://host:port/database (no password: use PGPASSWORD or "
    "~/.pgpass); default is the profile's store."))]
DEFAULT_PROFILE = Path("data/stromstad/profile.toml")


def _fail(exc: Exception) -> None:
    typer.echo(t("Fel:", "Error:") + f"\n{exc}", err=True)
    raise typer.Exit(2)


def _profile(profile: Path, target: str | None):  # type: ignore[no-untyped-def]
    from layers import load_profile
    from walks.store import override_store

    return override_store(load_profile(profile), target)


@store_app.command("init", help=t(
    "Skapa lagrets tabeller (och PostGIS-tillägget om det går). Ofarligt att köra igen.",
    "Create the store's tables (and the PostGIS extension if allowed). Safe to run again."))
def init_cmd(target: TargetArg = None, profile: ProfileOpt = DEFAULT_PROFILE) -> None:
    from layers import ValidationError
    from walks.store import open_store

    try:
        prof = _profile(profile, target)
        st = open_store(prof, check_schema=False)
        st.backend.init()
        version = st.backend.schema_version()
        st.close()
    except ValidationError as exc:
        _fail(exc)
        return
    typer.echo(t(f"Klart: {st.label}, schemaversion {version}.",
                 f"Done: {st.label}, schema version {version}."))


@store_app.command("upgrade", help=t(
    "Uppgradera ett lager skapat av en äldre trygga (ta en säkerhetskopia först).",
    "Upgrade a store made by an older trygga (back it up first)."))
def upgrade_cmd(target: TargetArg = None, profile: ProfileOpt = DEFAULT_PROFILE) -> None:
    from layers import ValidationError
    from walks.store import SCHEMA_VERSION, open_store

    try:
        prof = _profile(profile, target)
        st = open_store(prof, check_schema=False, create=False)
        before = st.backend.upgrade()
        st.close()
    except ValidationError as exc:
        _fail(exc)
        return
    if before == SCHEMA_VERSION:
        typer.echo(t(f"{st.label} har redan schemaversion {SCHEMA_VERSION}.",
                     f"{st.label} already has schema version {SCHEMA_VERSION}."))
    else:
        typer.echo(t(f"{st.label}: schemaversion {before} → {SCHEMA_VERSION}.",
                     f"{st.label}: schema version {before} → {SCHEMA_VERSION}."))


@store_app.command("info", help=t(
    "Visa var lagret finns, schemaversion och antal fynd, vandringar, historik och foton.",
    "Show where the store is, its schema version and counts of findings, walks, history "
    "and photos."))
def info_cmd(target: TargetArg = None, profile: ProfileOpt = DEFAULT_PROFILE) -> None:
    from layers import ValidationError
    from walks.store import open_store

    try:
        prof = _profile(profile, target)
        with open_store(prof, create=False) as st:
            digest = st.digest()
            version = st.backend.schema_version()
            pending = len(st.moderation_queue())
    except ValidationError as exc:
        _fail(exc)
        return
    typer.echo(f"{st.label}  ({t('schemaversion', 'schema version')} {version})")
    for name, (n, _sha) in digest.items():
        typer.echo(f"  {name:<16} {n}")
    typer.echo(f"  {t('väntar på moderering', 'awaiting moderation'):<16} {pending}")


@store_app.command("copy", help=t(
    "Kopiera ett helt lager (fynd, vandringar, historik, foton) till ett nytt, tomt lager, "
    "allt eller inget, och kontrollera antal och kontrollsummor efteråt. Så flyttar en "
    "kommun från GeoPackage till en delad PostGIS-server och tillbaka.",
    "Copy a whole store (findings, walks, history, photos) into a new, empty store, all or "
    "nothing, then check counts and hashes. This is how a kommun moves from the GeoPackage "
    "to a shared PostGIS server and back."))
def copy_cmd(
    src: Annotated[str, typer.Argument(help=t("Från: fil eller postgresql://…",
                                              "From: file or postgresql://…"))],
    dst: Annotated[str, typer.Argument(help=t("Till: ny fil eller postgresql://… (tom)",
                                              "To: new file or postgresql://… (empty)"))],
    profile: ProfileOpt = DEFAULT_PROFILE,
) -> None:
    from layers import ValidationError
    from walks.store import is_postgres_target, open_store

    try:
        src_prof = _profile(profile, src)
        dst_prof = _profile(profile, dst)
        with open_store(src_prof, create=False) as a:
            b = open_store(dst_prof, check_schema=False)
            if is_postgres_target(dst):
                b.backend.init()
            b = open_store(dst_prof)
            try:
                digest = a.copy_to(b)
            finally:
                b.close()
    except ValidationError as exc:
        _fail(exc)
        return
    counts = ", ".join(f"{k} {n}" for k, (n, _h) in digest.items())
    typer.echo(t(f"Kopierat och kontrollerat: {counts}.", f"Copied and checked: {counts}."))
