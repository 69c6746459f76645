"""What every ``trygga`` command shares: the default profile and one clean error handler.

* :data:`DEFAULT_PROFILE` is the demo profile inside the repository. Given as the default
  (or as the same relative path) from another folder, :func:`resolve_profile` finds it in
  the repository; when it is not there either, the message says which ``--profile`` to
  pass. ``TRYGGA_PROFILE`` sets the default, as for the app.
* :class:`CleanErrorsGroup` is the click group class of the root app: bad input
  (:class:`layers.ValidationError`), a missing or unreadable file (:class:`OSError`), a
  damaged SQLite/GeoPackage file and any other error end in one message on stderr and
  exit code 2 (1 for an unexpected error), never a traceback. ``--verbose`` adds the
  traceback to the log for a bug report.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from trygga_cli.i18n import t

logger = logging.getLogger("trygga_cli")

#: The repository this package lives in (the demo profile's base).
REPO_ROOT = Path(__file__).resolve().parents[1]

#: Default ``--profile``: the Strömstad demo profile, relative to the repository.
DEFAULT_PROFILE = Path("data/stromstad/profile.toml")


def resolve_profile(path: Path) -> Path:
    """The profile file to load for ``--profile`` *path*.

    A path that exists is used as given. The default (or any relative path that does not
    exist here) is also looked up in the repository, so commands work from any folder.

    Raises
    ------
    typer.BadParameter
        The default profile is in neither place: the message says what to pass.
    """
    if path.exists() or path.is_absolute():
        return path
    in_repo = REPO_ROOT / path
    if in_repo.exists():
        return in_repo
    if path == DEFAULT_PROFILE:
        raise typer.BadParameter(t(
            f"standardprofilen {path} finns varken här ({Path.cwd()}) eller i {REPO_ROOT}. "
            "Ange din kommuns profil med --profile SÖKVÄG/profile.toml (eller sätt "
            "TRYGGA_PROFILE).",
            f"the default profile {path} is neither here ({Path.cwd()}) nor in {REPO_ROOT}. "
            "Give your municipality's profile with --profile PATH/profile.toml (or set "
            "TRYGGA_PROFILE)."), param_hint="'--profile'")
    return path  # load_profile reports "profile file not found" with the path


def profile_option(help_text: str) -> Any:
    """The ``--profile/-p`` option (resolved by :func:`resolve_profile`)."""
    return typer.Option("--profile", "-p", help=help_text, envvar="TRYGGA_PROFILE",
                        callback=resolve_profile)


def error_message(exc: BaseException) -> tuple[str, int]:
    """(message, exit code) for an error that reached the top of a command."""
    from layers import ValidationError

    if isinstance(exc, ValidationError):
        return t("Fel i indata:", "Invalid input:") + f"\n{exc}", 2
    if isinstance(exc, sqlite3.DatabaseError):
        return t(f"Skadad databasfil (fyndlager eller GeoPackage): {exc}. Återställ filen "
                 "från en säkerhetskopia, eller ange en annan med --store.",
                 f"Damaged database file (findings store or GeoPackage): {exc}. Restore "
                 "the file from a backup, or give another one with --store."), 2
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        what = exc.strerror or str(exc)
        return t(f"Fel: {where}{what}. Kontrollera sökvägen och behörigheterna.",
                 f"Error: {where}{what}. Check the path and the permissions."), 2
    if isinstance(exc, (ValueError, KeyError, LookupError)):
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        return t("Fel:", "Error:") + f"\n{text}", 2
    return t(f"Oväntat fel ({type(exc).__name__}: {exc}). Kör igen med --verbose för "
             "detaljer och rapportera felet.",
             f"Unexpected error ({type(exc).__name__}: {exc}). Run again with --verbose for "
             "the details and report the bug."), 1


class CleanErrorsGroup(TyperGroup):
    """Root command group: errors become one message and an exit code, not a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (TyperException, typer.Exit, typer.Abort):  # usage errors, exits: typer's
            raise
        except Exception as exc:  # the one top-level handler
            message, code = error_message(exc)
            logger.info("trygga failed", exc_info=exc)
            typer.echo(message, err=True)
            raise typer.Exit(code) from None
