"""``trygga report`` (the yearly public follow-up) and ``trygga promises …`` (the register
and the activity log).

Register in :mod:`trygga_cli.main`::

    from trygga_cli.report_cmd import REPORT_HELP, promises_app, report_command
    app.add_typer(promises_app, name="promises")
    app.command("report", help=REPORT_HELP)(report_command)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from trygga_cli.common import DEFAULT_PROFILE, profile_option
from trygga_cli.i18n import t

if TYPE_CHECKING:
    from layers.profile import Profile
    from promises.register import Register


REPORT_HELP = t(
    "Skriv den årliga offentliga uppföljningen av medborgarlöftena (svenska, HTML eller PDF): "
    "varje löfte med mål, utfall och status, trygghetsvandringar, fynd och åtgärder, "
    "belysningsarbetet med kartor, och diagram. Bara offentliga uppgifter.",
    "Write the yearly public follow-up of the promises (Swedish, HTML or PDF): each promise "
    "with target, outcome and status, safety walks, findings and fixes, the lighting work "
    "with maps, and charts. Public data only.")

promises_app = typer.Typer(
    name="promises", no_args_is_help=True, add_completion=False,
    help=t("Medborgarlöften: lista löftena, logga aktiviteter, importera aktiviteter från "
           "CSV och visa årets status.",
           "Promises: list them, log activities, import activities from CSV and show the "
           "year's status."))

ProfileOpt = Annotated[Path, profile_option(t(
    "Kommunprofil (TOML).", "Municipality profile (TOML)."))]
RegisterOpt = Annotated[Path | None, typer.Option("--register", "-r", help=t(
    "Löftesregister (TOML); standard är medborgarloften_*.toml i profilens mapp.",
    "Promise register (TOML); default is medborgarloften_*.toml in the profile's folder."))]
StoreOpt = Annotated[str | None, typer.Option("--store", help=t(
    "Fyndlager (GeoPackage); standard är profilens. Aktivitetsloggen ligger bredvid.",
    "Findings store (GeoPackage); default is the profile's. The activity log is beside it."))]
YearOpt = Annotated[int, typer.Option("--year", "-y", help=t(
    "Året som redovisas.", "The year to report."))]


def _fail(exc: Exception, code: int = 2) -> None:
    typer.echo(t("Fel:", "Error:") + f"\n{exc}", err=True)
    raise typer.Exit(code)


def _load(profile: Path, register: Path | None, store: str | None,
          year: int | None = None) -> tuple[Profile, Register]:
    """Profile (with the store override) and the register covering *year*."""
    from layers import load_profile
    from promises.register import load_register, load_register_for_profile

    prof = load_profile(profile)
    if store is not None:
        from walks.store import override_store
        prof = override_store(prof, store)
    found = load_register(register) if register else load_register_for_profile(prof, year)
    if found is None:
        when = f" {year}" if year is not None else ""
        raise FileNotFoundError(t(
            f"inget löftesregister för{when} i {prof.folder}. Ange --register FIL.",
            f"no promise register for{when} in {prof.folder}. Give --register FILE."))
    return prof, found


def _load_for_day(profile: Path, register: Path | None, store: str | None,
                  date: str | None) -> tuple[Profile, Register, dt.date]:
    """Profile, the register covering *date* (``YYYY-MM-DD``, default today) and the day.

    Raises
    ------
    ValueError
        *date* is not a date.
    """
    from zoneinfo import ZoneInfo

    try:
        given = dt.date.fromisoformat(date) if date else None
    except ValueError:
        raise ValueError(t(f"--date {date!r} är inget datum (ÅÅÅÅ-MM-DD)",
                           f"--date {date!r} is not a date (YYYY-MM-DD)")) from None
    prof, reg = _load(profile, register, store)
    day = given or dt.datetime.now(ZoneInfo(prof.timezone)).date()
    if register is None and not reg.covers(day.year):
        prof, reg = _load(profile, None, store, day.year)
    return prof, reg, day


def report_command(
    year: YearOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help=t(
        "Utfil (.html eller .pdf).", "Output file (.html or .pdf)."))],
    fmt: Annotated[str | None, typer.Option("--format", "-f", help=t(
        "html eller pdf (standard: enligt filändelsen).",
        "html or pdf (default: from the extension)."))] = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
    register: RegisterOpt = None,
    store: StoreOpt = None,
    before: Annotated[Path | None, typer.Option("--before", help=t(
        "Belysningen vid årets början: ranking.gpkg från `trygga rank` (eller dess mapp) "
        "eller ett belysningsregister. Standard: registrets daterade inventeringar.",
        "Lighting at the start of the year: ranking.gpkg of `trygga rank` (or its folder) "
        "or an inventory file. Default: the register's dated inventories."))] = None,
    after: Annotated[Path | None, typer.Option("--after", help=t(
        "Belysningen vid årets slut (som --before).",
        "Lighting at the end of the year (like --before)."))] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=t(
        "Rapportens datum (ÅÅÅÅ-MM-DD); standard i dag.",
        "Report date (YYYY-MM-DD); default today."))] = None,
    no_reasons: Annotated[bool, typer.Option("--no-reasons", help=t(
        "Skriv inte ut skälen till att fynd avslutats utan åtgärd.",
        "Leave out why findings were closed without action."))] = False,
) -> None:
    """``trygga report --year 2024 [--format html|pdf] --out FILE``."""
    from layers import ValidationError
    from layers.osm import OsmDownloadError
    from promises.report import REPORT_FORMATS, ReportError, report_for_profile, write_report

    kind = REPORT_FORMATS.get((fmt or out.suffix).lower())
    if kind is None:
        _fail(ValueError(t("okänt format; använd --format html|pdf eller filändelsen "
                           ".html/.pdf", "unknown format; use --format html|pdf or the "
                           ".html/.pdf extension")))
        return
    try:
        when = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        _fail(ValueError(t(f"--as-of {as_of!r} är inget datum (ÅÅÅÅ-MM-DD)",
                           f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")))
        return
    try:
        prof, reg = _load(profile, register, store, year)
        data = report_for_profile(prof, reg, year, before=before, after=after, as_of=when,
                                  show_closed_reasons=not no_reasons)
        path = write_report(data, out, kind)
    except (ValidationError, OsmDownloadError, FileNotFoundError, ValueError,
            ReportError) as exc:
        _fail(exc)
        return
    counts = ", ".join(f"{n} {label}" for label, n in data.status_counts.items())
    typer.echo(f"{path}\n{data.title} {year}: {counts}")


@promises_app.command("list", help=t("Lista löftena i registret.",
                                     "List the promises of the register."))
def list_cmd(profile: ProfileOpt = DEFAULT_PROFILE, register: RegisterOpt = None) -> None:
    from layers import ValidationError

    try:
        _prof, reg = _load(profile, register, None)
    except (ValidationError, FileNotFoundError) as exc:
        _fail(exc)
        return
    typer.echo(f"{reg.title} ({reg.period_start}–{reg.period_end}), {reg.path.name}")
    area = None
    for p in reg.promises:
        if p.area != area:
            area = p.area
            typer.echo(f"\n{area}")
        target = (t("milstolpar", "milestones") if p.has_milestones
                  else "–" if p.target is None
                  else f"{p.target:g} {p.unit}" + t("/år", "/year"))
        joint = f" [{t('gemensamt med', 'joint with')} {', '.join(p.joint_with)}]" \
            if p.joint_with else ""
        typer.echo(f"  {p.id:<19} {p.responsible_label} · {p.measure} · {target}{joint}\n"
                   f"    {p.text}")


@promises_app.command("log", help=t(
    "Logga en aktivitet för ett löfte, t.ex. `trygga promises log trafikkontroller "
    "--date 2024-05-14 --count 3 --place Västkustvägen`.",
    "Log an activity for a promise, e.g. `trygga promises log trafikkontroller "
    "--date 2024-05-14 --count 3 --place Västkustvägen`."))
def log_cmd(
    promise: Annotated[str, typer.Argument(help=t("Löftets id.", "The promise id."))],
    date: Annotated[str | None, typer.Option("--date", "-d", help=t(
        "Datum (ÅÅÅÅ-MM-DD); standard i dag.", "Date (YYYY-MM-DD); default today."))] = None,
    count: Annotated[int, typer.Option("--count", "-n", help=t(
        "Antal (t.ex. 3 kontroller).", "How many (e.g. 3 controls)."))] = 1,
    place: Annotated[str, typer.Option("--place", help=t(
        "Plats (publiceras bara om löftet tillåter det).",
        "Place (published only if the promise allows it)."))] = "",
    lat: Annotated[float | None, typer.Option("--lat", help=t(
        "Latitud (WGS 84), valfri.", "Latitude (WGS 84), optional."))] = None,
    lon: Annotated[float | None, typer.Option("--lon", help=t(
        "Longitud (WGS 84), valfri.", "Longitude (WGS 84), optional."))] = None,
    note: Annotated[str, typer.Option("--note", help=t(
        "Intern anteckning (publiceras aldrig). Inga namn.",
        "Internal note (never published). No names."))] = "",
    profile: ProfileOpt = DEFAULT_PROFILE,
    register: RegisterOpt = None,
    store: StoreOpt = None,
) -> None:
    from layers import ValidationError
    from promises.activities import Activity, open_activity_log

    try:
        prof, reg, day = _load_for_day(profile, register, store, date)
        log = open_activity_log(prof, reg)
        saved = log.add(Activity(day, promise, count, place, lat, lon, note), reg)
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        _fail(exc)
        return
    typer.echo(t(f"Loggat: {saved.date} {saved.promise_id} × {saved.count} i {log.where}",
                 f"Logged: {saved.date} {saved.promise_id} × {saved.count} in {log.where}"))


@promises_app.command("milestone", help=t(
    "Registrera en milstolpe för ett löfte utan siffra, t.ex. `trygga promises milestone "
    "narkotika-krog --step påbörjat --date 2024-03-01 --note \"Samverkansgrupp startad.\"`. "
    "Noteringen är offentlig: inga namn.",
    "Record a milestone of a promise without a number, e.g. `trygga promises milestone "
    "narkotika-krog --step påbörjat --date 2024-03-01 --note \"Samverkansgrupp startad.\"`. "
    "The note is public: no names."))
def milestone_cmd(
    promise: Annotated[str, typer.Argument(help=t("Löftets id.", "The promise id."))],
    step: Annotated[str, typer.Option("--step", "-s", help=t(
        "påbörjat eller genomfört.", "påbörjat (started) or genomfört (done)."))],
    date: Annotated[str | None, typer.Option("--date", "-d", help=t(
        "Datum (ÅÅÅÅ-MM-DD); standard i dag.", "Date (YYYY-MM-DD); default today."))] = None,
    note: Annotated[str, typer.Option("--note", help=t(
        "Kort offentlig notering (högst 200 tecken, inga namn).",
        "Short public note (at most 200 characters, no names)."))] = "",
    profile: ProfileOpt = DEFAULT_PROFILE,
    register: RegisterOpt = None,
    store: StoreOpt = None,
) -> None:
    from layers import ValidationError
    from promises.milestones import Milestone, open_milestone_log

    try:
        prof, reg, day = _load_for_day(profile, register, store, date)
        log = open_milestone_log(prof, reg)
        saved = log.add(Milestone(day, promise, step, note), reg)  # type: ignore[arg-type]
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        _fail(exc)
        return
    typer.echo(t(f"Registrerat: {saved.date} {saved.promise_id} {saved.step} i {log.where}",
                 f"Recorded: {saved.date} {saved.promise_id} {saved.step} in {log.where}"))


@promises_app.command("import", help=t(
    "Importera aktiviteter från CSV (kolumner datum;löfte;antal;plats;lat;lon;anteckning). "
    "Allt eller inget; fel redovisas per rad; samma fil två gånger ger inga dubbletter.",
    "Import activities from CSV (columns datum;löfte;antal;plats;lat;lon;anteckning). "
    "All or nothing; errors by row; the same file twice adds nothing."))
def import_cmd(
    file: Annotated[Path, typer.Argument(help=t("CSV-filen.", "The CSV file."))],
    dry_run: Annotated[bool, typer.Option("--dry-run", help=t(
        "Visa bara vad som skulle importeras och alla fel.",
        "Only show what would be imported and every error."))] = False,
    profile: ProfileOpt = DEFAULT_PROFILE,
    register: RegisterOpt = None,
    store: StoreOpt = None,
) -> None:
    from layers import ValidationError
    from promises.activities import ActivityImportError, open_activity_log

    try:
        prof, reg = _load(profile, register, store)
        log = open_activity_log(prof, reg)
        report = log.import_csv(file, reg, dry_run=dry_run)
    except ActivityImportError as exc:
        typer.echo(exc.report.summary())
        typer.echo("\n".join(str(p) for p in exc.report.problems))
        raise typer.Exit(1) from None
    except (ValidationError, FileNotFoundError) as exc:
        _fail(exc)
        return
    typer.echo(report.summary())
    if report.problems:
        typer.echo("\n".join(str(p) for p in report.problems))
        raise typer.Exit(1)


@promises_app.command("template", help=t(
    "Skriv en tom CSV-mall för aktiviteter (Excel, semikolon).",
    "Write an empty activity CSV template (Excel, semicolons)."))
def template_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help=t("Utfil (.csv).",
                                                              "Output file (.csv)."))],
) -> None:
    from promises.activities import activities_to_csv

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(("\ufeff" + activities_to_csv([])).encode("utf-8"))
    typer.echo(str(out))


@promises_app.command("status", help=t(
    "Visa årets utfall och status per löfte (utan kartor och diagram).",
    "Show the year's outcome and status per promise (no maps or charts)."))
def status_cmd(
    year: YearOpt,
    profile: ProfileOpt = DEFAULT_PROFILE,
    register: RegisterOpt = None,
    store: StoreOpt = None,
) -> None:
    from layers import ValidationError
    from promises.report import report_for_profile

    try:
        prof, reg = _load(profile, register, store, year)
        data = report_for_profile(prof, reg, year, draw=False)
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        _fail(exc)
        return
    for p in data.progress:
        typer.echo(f"{p.status.label:<16} {p.promise.id:<18} {p.outcome_text:<22} "
                   f"{t('mål', 'target')}: {p.target_text}")
