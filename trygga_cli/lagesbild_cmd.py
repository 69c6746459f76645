"""``trygga lagesbild --month 2024-11``: the monthly lägesbild for trygghetssamverkan.

Register in :mod:`trygga_cli.main`::

    from trygga_cli.lagesbild_cmd import LAGESBILD_HELP, lagesbild_command
    app.command("lagesbild", help=LAGESBILD_HELP)(lagesbild_command)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from trygga_cli.i18n import t
from trygga_cli.walks_cmd import StoreOpt

DEFAULT_PROFILE = Path("data/stromstad/profile.toml")

LAGESBILD_HELP = t(
    "Skriv månadens lägesbild för trygghetssamverkan (HTML eller PDF): fynd och åtgärder "
    "per område och kategori, öppna och försenade fynd, aktiviteter och milstolpar för "
    "medborgarlöftena, och utvecklingen mot tidigare månader. Inga personuppgifter.",
    "Write the month's lägesbild for trygghetssamverkan (HTML or PDF): findings and fixes "
    "by area and category, open and overdue findings, activities and milestones of the "
    "promises, and trends against earlier months. No personal data.")


def lagesbild_command(
    month: Annotated[str, typer.Option("--month", "-m", help=t(
        "Månaden (ÅÅÅÅ-MM).", "The month (YYYY-MM)."))],
    out: Annotated[Path | None, typer.Option("--out", "-o", help=t(
        "Utfil (.html eller .pdf); standard lagesbild_ÅÅÅÅ-MM.html.",
        "Output file (.html or .pdf); default lagesbild_YYYY-MM.html."))] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help=t(
        "html eller pdf (standard: enligt filändelsen).",
        "html or pdf (default: from the extension)."))] = None,
    profile: Annotated[Path, typer.Option("--profile", "-p", help=t(
        "Kommunprofil (TOML).", "Municipality profile (TOML)."))] = DEFAULT_PROFILE,
    store: StoreOpt = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=t(
        "Datum för lägesbilden (ÅÅÅÅ-MM-DD); standard i dag.",
        "Date of the lägesbild (YYYY-MM-DD); default today."))] = None,
) -> None:
    """``trygga lagesbild --month 2024-11 [--out FILE.html|.pdf]``."""
    from layers import load_profile
    from promises.lagesbild import (
        LagesbildError,
        as_rows,
        lagesbild_for_profile,
        parse_month,
        write_lagesbild,
    )
    from promises.register import load_register_for_profile
    from walks.store import override_store

    try:
        first = parse_month(month)
        when = dt.date.fromisoformat(as_of) if as_of else None
        prof = load_profile(profile)
        prof = override_store(prof, store)
        register = load_register_for_profile(prof, first.year)
        data = lagesbild_for_profile(prof, first, register=register, as_of=when)
        path = write_lagesbild(data, out or Path(f"lagesbild_{month}.html"), fmt)
    except (ValueError, LagesbildError) as exc:  # ValidationError is a ValueError
        typer.echo(t("Fel:", "Error:") + f"\n{exc}", err=True)
        raise typer.Exit(2) from None
    k = as_rows(data)
    typer.echo(str(path))
    typer.echo(t(f"{data.title}: {k['findings']} nya fynd, {k['fixed']} åtgärdade, "
                 f"{k['open']} öppna ({k['overdue']} efter tidsgränsen), "
                 f"{k['activities']} aktiviteter, {k['milestones']} milstolpar",
                 f"{data.title}: {k['findings']} new findings, {k['fixed']} fixed, "
                 f"{k['open']} open ({k['overdue']} overdue), {k['activities']} activities, "
                 f"{k['milestones']} milestones"))
