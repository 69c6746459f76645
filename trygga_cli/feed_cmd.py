"""``trygga feed``: Atom feeds of the public findings and their status, for the whole
kommun and per priority area (the public view only).

Register in :mod:`trygga_cli.main`::

    from trygga_cli.feed_cmd import FEED_HELP, feed_command
    app.command("feed", help=FEED_HELP)(feed_command)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trygga_cli.i18n import t
from trygga_cli.walks_cmd import StoreOpt

DEFAULT_PROFILE = Path("data/stromstad/profile.toml")

FEED_HELP = t(
    "Skriv Atom-flöden av de offentliga fynden och deras status: fynd.atom för hela "
    "kommunen och fynd-<område>.atom per prioriterat område (bara den offentliga vyn).",
    "Write Atom feeds of the public findings and their status: fynd.atom for the whole "
    "kommun and fynd-<area>.atom per priority area (the public view only).")


def feed_command(
    out: Annotated[Path, typer.Option("--out", "-o", help=t("Utmapp.", "Output folder."))],
    area: Annotated[list[str] | None, typer.Option("--area", help=t(
        "Bara detta område (kan upprepas); standard alla.",
        "Only this area (may be repeated); default all."))] = None,
    base_url: Annotated[str, typer.Option("--base-url", help=t(
        "Adressen till den offentliga kartan (länkar i flödet).",
        "Address of the public map (links in the feed)."))] = "",
    feed_url: Annotated[str, typer.Option("--feed-url", help=t(
        "Adressen där flödena publiceras (mapp), för rel=self.",
        "Address where the feeds are published (folder), for rel=self."))] = "",
    profile: Annotated[Path, typer.Option("--profile", "-p", help=t(
        "Kommunprofil (TOML).", "Municipality profile (TOML)."))] = DEFAULT_PROFILE,
    store: StoreOpt = None,
) -> None:
    """``trygga feed --out DIR [--area NAME] [--base-url URL] [--feed-url URL]``."""
    from layers import load_profile
    from layers.boundary import read_priority_areas
    from walks.feed import write_feeds
    from walks.public import public_view
    from walks.service import open_store
    from walks.store import override_store

    try:
        prof = load_profile(profile)
        prof = override_store(prof, store)
        pa = prof.sources.priority_areas
        areas = read_priority_areas(pa, prof.crs) if pa is not None else None
        with open_store(prof) as s:
            view = public_view(s.findings(include_hidden=False), categories=s.categories,
                               tz=prof.timezone)
        paths = write_feeds(view, areas, out, municipality=prof.name,
                            kommun_code=prof.kommun_code, tz=prof.timezone,
                            base_url=base_url, feed_url=feed_url, only_areas=area or None)
    except ValueError as exc:  # ValidationError too
        typer.echo(t("Fel:", "Error:") + f"\n{exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo("\n".join(str(p) for p in paths))
