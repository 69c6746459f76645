"""``trygga deadlines``: each finding's due date from the profile, what is overdue, and who
is suggested as responsible (staff output: it shows internal fields).

Register in :mod:`trygga_cli.main`::

    from trygga_cli.deadlines_cmd import DEADLINES_HELP, deadlines_command
    app.command("deadlines", help=DEADLINES_HELP)(deadlines_command)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from trygga_cli.i18n import t
from trygga_cli.walks_cmd import StoreOpt

DEFAULT_PROFILE = Path("data/stromstad/profile.toml")

DEADLINES_HELP = t(
    "Visa tidsgränsen för varje öppet fynd (profilens regler per kategori och ansvarig, "
    "eller beslutad tidsgräns), vilka som är försenade, och förslag på ansvarig från "
    "vägdata (OSM operator/ref eller profilens väghållarlager). Internt: för personal.",
    "Show each open finding's deadline (the profile's rules per category and responsible "
    "party, or a decided deadline), which are overdue, and a suggested responsible party "
    "from road data (OSM operator/ref or the profile's road-owner layer). Internal: staff.")


def deadline_table(profile_path: Path, store: str | Path | None, as_of: dt.date,
                   overdue_only: bool = False, include_closed: bool = False) -> list[dict]:
    """Rows of the deadline list (dicts, oldest due date first)."""
    import warnings

    import pandas as pd

    from layers import LayerWarning, load_profile
    from layers.roads import load_roads
    from walks.deadlines import finding_deadlines
    from walks.duplicates import open_findings_mask
    from walks.responsibility import suggest_responsible
    from walks.service import open_store
    from walks.store import override_store

    prof = load_profile(profile_path)
    prof = override_store(prof, store)
    with open_store(prof) as s:
        findings = s.findings(include_hidden=False)
    dl = finding_deadlines(findings, prof.deadlines, as_of=as_of, tz=prof.timezone)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        roads = load_roads(prof)
    suggestion = suggest_responsible(findings.to_crs(prof.crs), roads)
    keep = (pd.Series(True, index=findings.index) if include_closed
            else open_findings_mask(findings))
    if overdue_only:
        keep = keep & dl["overdue"]
    rows = []
    for fid in findings.index[keep]:
        d, r, sug = dl.loc[fid], findings.loc[fid], suggestion.loc[fid]
        rows.append({
            "id": str(fid), "category": str(r["category"]), "state": str(r["state_label"]),
            "responsible": "" if pd.isna(r["responsible"]) else str(r["responsible"]),
            "due_date": "" if d["due_date"] is None else d["due_date"].isoformat(),
            "rule": str(d["deadline_rule"]),
            "days_overdue": "" if pd.isna(d["days_overdue"]) else int(d["days_overdue"]),
            "suggested_responsible": str(sug["suggested_responsible"]),
            "suggestion_reason": str(sug["suggestion_reason"])})
    return sorted(rows, key=lambda x: (x["due_date"] or "9999", x["id"]))


def deadlines_command(
    profile: Annotated[Path, typer.Option("--profile", "-p", help=t(
        "Kommunprofil (TOML).", "Municipality profile (TOML)."))] = DEFAULT_PROFILE,
    store: StoreOpt = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=t(
        "Datum (ÅÅÅÅ-MM-DD) att räkna förseningar från; standard i dag.",
        "Date (YYYY-MM-DD) to count overdue from; default today."))] = None,
    overdue_only: Annotated[bool, typer.Option("--overdue", help=t(
        "Bara försenade fynd.", "Overdue findings only."))] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help=t(
        "Skriv listan som CSV (semikolon, UTF-8 med BOM).",
        "Write the list as CSV (semicolons, UTF-8 with BOM)."))] = None,
) -> None:
    """``trygga deadlines [--overdue] [--as-of DATE] [--out FILE.csv]``."""
    import csv
    import io
    from zoneinfo import ZoneInfo

    from layers import ValidationError, load_profile
    from layers.io import write_atomic

    try:
        tz = load_profile(profile).timezone
        when = (dt.date.fromisoformat(as_of) if as_of
                else dt.datetime.now(ZoneInfo(tz)).date())
        rows = deadline_table(profile, store, when, overdue_only)
    except ValueError as exc:  # ValidationError is a ValueError
        kind = "" if isinstance(exc, ValidationError) else t("(datum?) ", "(date?) ")
        typer.echo(t("Fel:", "Error:") + f" {kind}\n{exc}", err=True)
        raise typer.Exit(2) from None
    if out is not None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["id"],
                           delimiter=";", lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)
        write_atomic(out, ("\ufeff" + buf.getvalue()).encode("utf-8"), mode=0o600)
        typer.echo(str(out))
    overdue = [r for r in rows if r["days_overdue"] != ""]
    typer.echo(t(f"{len(rows)} öppna fynd, {len(overdue)} försenade per {when}",
                 f"{len(rows)} open findings, {len(overdue)} overdue on {when}"))
    for r in rows:
        late = (t(f"{r['days_overdue']} d sen", f"{r['days_overdue']} d late")
                if r["days_overdue"] != "" else "")
        sug = (f" → {t('förslag', 'suggested')}: {r['suggested_responsible']} "
               f"({r['suggestion_reason']})" if r["suggested_responsible"] else "")
        typer.echo(f"{r['due_date'] or '–':<10} {late:<10} {r['category']:<32} "
                   f"{r['state']:<10} {r['responsible'] or '–'}{sug}")
