"""``trygga walks …``: import findings, export the public view, plan walks, protocols."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from trygga_cli.common import DEFAULT_PROFILE, profile_option
from trygga_cli.i18n import t

walks_app = typer.Typer(
    name="walks", no_args_is_help=True, add_completion=False,
    help=t("Trygghetsvandringar: importera fynd, planera vandringar, protokoll och "
           "offentlig export.",
           "Safety walks: import findings, plan walks, protocols and the public export."))

ProfileOpt = Annotated[Path, profile_option(t(
    "Kommunprofil (TOML).", "Municipality profile (TOML)."))]
StoreOpt = Annotated[str | None, typer.Option("--store", help=t(
    "Fyndlager: GeoPackage-fil eller postgresql://värd/databas; standard är profilens.",
    "Findings store: GeoPackage file or postgresql://host/database; default is the profile's."))]


def _profile_and_store(profile: Path, store: str | None,  # type: ignore[no-untyped-def]
                       dry_run: bool = False):
    """The profile and its store. For a dry run a missing GeoPackage is not created: the
    run checks against an empty in-memory store instead, so nothing at all is written."""
    from layers import load_profile
    from walks.service import open_store
    from walks.store import is_postgres_target, override_store, store_target

    prof = override_store(load_profile(profile), store)
    target = store_target(prof)
    if dry_run and not is_postgres_target(target) and not Path(target).exists():
        from walks.backends.memory import MemoryBackend
        from walks.store import FindingStore, ModerationPolicy

        return prof, FindingStore(MemoryBackend(prof.crs),
                                  moderation=ModerationPolicy.from_profile(prof))
    return prof, open_store(prof)


def _fail(exc: Exception) -> None:
    typer.echo(t("Fel:", "Error:") + f"\n{exc}", err=True)
    raise typer.Exit(2)


def _require_walk(st, walk_id: str) -> None:  # type: ignore[no-untyped-def]
    """Stop with a clear message (exit 2) when *walk_id* is not a walk in the store."""
    try:
        st.get_walk(walk_id)
    except KeyError:
        _fail(KeyError(t(f"okänd vandring {walk_id!r}; inget importerades. Se `trygga walks "
                         "list` för vandringarnas id, eller planera vandringen först med "
                         "`trygga walks plan`.",
                         f"unknown walk {walk_id!r}; nothing was imported. See `trygga walks "
                         "list` for the walks' ids, or plan the walk first with `trygga walks "
                         "plan`.")))


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
        # With --walk and no store file yet, the walk cannot exist: check it against an
        # empty in-memory store, so the refusal creates no file.
        prof, st = _profile_and_store(profile, store, dry_run=dry_run or walk is not None)
        if walk is not None:
            _require_walk(st, walk)
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
    from walks.public_export import export_public_geojson

    prof, st = _profile_and_store(profile, store)
    path = export_public_geojson(st, out, tz=prof.timezone)
    typer.echo(str(path))


@walks_app.command("list", help=t("Lista vandringar och fynd i lagret.",
                                  "List walks and findings in the store."))
def list_cmd(store: StoreOpt = None, profile: ProfileOpt = DEFAULT_PROFILE) -> None:
    _prof, st = _profile_and_store(profile, store)
    w = st.walks()
    for wid, r in w.iterrows():
        typer.echo(f"{t('vandring', 'walk')} {wid}  {r.get('title', '')}  "
                   f"{r.get('state_label', r.get('state', ''))}")
    f = st.findings()
    if f.empty:
        typer.echo(t("Inga fynd.", "No findings."))
        return
    for fid, r in f.sort_values("created").iterrows():
        typer.echo(f"{fid}  {str(r['created'])[:10]}  {r['state_label']:<22} "
                   f"{r['category']:<32} {str(r['description'])[:60]}")


@walks_app.command("plan", help=t(
    "Föreslå en slinga runt en utsedd skola som passerar de sämst rankade sträckorna och "
    "öppna fynd, med stopp vid dem. Skriver GeoPackage och GeoJSON och sparar vandringen "
    "som planerad.",
    "Propose a loop around a designated school that passes the worst-ranked stretches and "
    "open findings, with stops at them. Writes GeoPackage and GeoJSON and saves the walk "
    "as planned."))
def plan_cmd(
    school: Annotated[str, typer.Option("--school", help=t("Skolans namn.",
                                                             "The school's name."))],
    length_m: Annotated[float, typer.Option("--length-m", help=t(
        "Ungefärlig längd i meter.", "Approximate length in metres."))] = 2000.0,
    dark: Annotated[bool, typer.Option("--dark", help=t(
        "Kvällsvandring i mörker.", "Evening walk after dark."))] = False,
    out: Annotated[Path, typer.Option("--out", "-o", help=t(
        "Utfil utan ändelse eller med .gpkg.", "Output file, without extension or .gpkg."))
    ] = Path("out/vandring"),
    when: Annotated[str | None, typer.Option("--when", help=t(
        "Datum och tid, t.ex. 2025-11-20T18:00.", "Date and time, e.g. 2025-11-20T18:00."))
    ] = None,
    store: StoreOpt = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
) -> None:
    import warnings
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from gis.ranking import rank
    from layers import LayerWarning
    from layers.loader import load_layers
    from walks.planning import UnknownSchoolError, free_walk_id, plan_walk, write_plan
    from walks.service import open_findings

    prof, st = _profile_and_store(profile, store)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        lay = load_layers(prof)
    ranked = rank(lay.paths, lay.luminaires, lay.schools, lay.crossings, lay.priority_areas,
                  prof, findings=open_findings(st), origins=lay.route_origins(),
                  walkable=lay.walkable)  # the same routes as `trygga rank`
    try:
        plan = plan_walk(lay, school, length_m, dark=dark, ranked=ranked,
                         findings=st.findings(include_hidden=False))
    except UnknownSchoolError as exc:
        _fail(exc)
        return
    tz = ZoneInfo(prof.timezone)
    try:
        start = (datetime.fromisoformat(when).replace(tzinfo=tz) if when
                 else datetime.now(tz).replace(second=0, microsecond=0))
    except ValueError:
        _fail(ValueError(t(f"--when {when!r} är ingen tidpunkt (ÅÅÅÅ-MM-DDTTT:MM)",
                           f"--when {when!r} is not a date and time (YYYY-MM-DDTHH:MM)")))
        return
    title = f"Trygghetsvandring {plan.school}" + (" (kväll)" if dark else "")
    proposed = plan.to_walk(title, start, area=plan.school)
    # Same school and day as an earlier plan: a new id, chosen before anything is written.
    walk_id = free_walk_id(set(map(str, st.walks().index)), proposed.id)
    walk = st.add_walk(dataclasses.replace(proposed, id=walk_id))
    if walk.id != proposed.id:
        typer.echo(t(f"Det finns redan en vandring {proposed.id}; den nya fick id {walk.id}.",
                     f"A walk {proposed.id} exists already; the new one got the id "
                     f"{walk.id}."))
    base = out.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    gpkg = write_plan(plan, base.with_suffix(".gpkg"))
    geojson = write_plan(plan, base.with_suffix(".geojson"))
    typer.echo(f"{t('Vandring', 'Walk')} {walk.id}: {plan.length_m:.0f} m, "
               f"{len(plan.stops)} {t('stopp', 'stops')}")
    for _, s in plan.stops.iterrows():
        typer.echo(f"  {int(s['stop_no']):>2}. {s['reason']}")
    typer.echo(f"{gpkg}\n{geojson}")


@walks_app.command("protocol", help=t(
    "Skriv protokollet för en vandring (HTML eller PDF) att dela med deltagarna: utan "
    "åtgärder, ansvar, tidsplan, skäl och interna anteckningar. Före vandringen blir det "
    "ett tomt formulär för vandringsledaren. --internal ger personalens interna protokoll.",
    "Write a walk's protocol (HTML or PDF) to share with the participants: without "
    "measures, responsibility, deadlines, reasons and internal notes. Before the walk it "
    "is an empty form for the walk leader. --internal gives the staff's internal protocol."))
def protocol_cmd(
    walk_id: Annotated[str, typer.Argument(help=t("Vandringens id.", "The walk's id."))],
    out: Annotated[Path, typer.Option("--out", "-o", help=t(
        "Utfil (.html eller .pdf).", "Output file (.html or .pdf)."))],
    internal: Annotated[bool, typer.Option("--internal", help=t(
        "Internt protokoll för personalen (åtgärd, ansvarig, senast, skäl, interna "
        "anteckningar), tydligt märkt. Dela det inte med deltagarna.",
        "Internal protocol for staff (measure, responsible, deadline, reasons, internal "
        "notes), clearly marked. Do not share it with participants."))] = False,
    store: StoreOpt = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
) -> None:
    from walks.protocol import render_protocol

    prof, st = _profile_and_store(profile, store)
    walk = _walk_or_fail(st, walk_id)
    paths = _quiet_layers(prof).paths
    out.parent.mkdir(parents=True, exist_ok=True)
    path = render_protocol(walk, st.findings(include_hidden=internal), out, st.categories,
                           paths=paths, store=st, tz=prof.timezone, internal=internal)
    typer.echo(str(path))
    if internal:
        typer.echo(t("Internt protokoll: dela det inte med deltagarna.",
                     "Internal protocol: do not share it with the participants."))


@walks_app.command("moderate", help=t(
    "Moderera fynd från invånare innan de blir offentliga. Utan --approve/--reject: lista "
    "kön. Originaltexten sparas alltid och syns för personal; allt hamnar i historiken.",
    "Moderate residents' findings before they become public. Without --approve/--reject: "
    "list the queue. The original text is always kept for staff; everything goes into the "
    "history."))
def moderate_cmd(
    approve: Annotated[str | None, typer.Option("--approve", help=t(
        "Godkänn fyndet med detta id för publicering.",
        "Approve the finding with this id for publication."))] = None,
    reject: Annotated[str | None, typer.Option("--reject", help=t(
        "Publicera aldrig fyndet med detta id.", "Never publish the finding with this id."))
    ] = None,
    text: Annotated[str | None, typer.Option("--text", help=t(
        "Redigerad offentlig text (med --approve).",
        "Edited public text (with --approve)."))] = None,
    note: Annotated[str, typer.Option("--note", help=t(
        "Anteckning till historiken.", "Note for the history."))] = "",
    store: StoreOpt = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
) -> None:
    from layers import ValidationError
    from walks.store import ConflictError

    if approve and reject:
        _fail(ValueError(t("ange --approve eller --reject, inte båda",
                           "give --approve or --reject, not both")))
    try:
        _prof, st = _profile_and_store(profile, store)
        if not (approve or reject):
            queue = st.moderation_queue()
            if queue.empty:
                typer.echo(t("Inga fynd väntar på moderering.",
                             "No findings await moderation."))
                return
            for fid, r in queue.iterrows():
                typer.echo(f"{fid}  {str(r['created'])[:10]}  {r['channel'] or '':<20} "
                           f"{r['category']:<28} {str(r['description'])[:70]}")
            return
        fid = str(approve or reject)
        current = st.get_finding(fid)
        done = st.moderate(fid, current.version, "approve" if approve else "reject",
                           public_text=text, note=note, author_role="moderator")
    except KeyError as exc:
        _fail(ValueError(t(f"okänt fynd: {exc}", f"unknown finding: {exc}")))
        return
    except (ValidationError, ConflictError) as exc:
        _fail(exc)
        return
    typer.echo(f"{done.id}: {done.moderation}")


@walks_app.command("faults", help=t(
    "Skriv öppna felanmälningar av armaturer (fynd i kategorin belysning med armatur-id) "
    "per ansvarig, för reparationslaget: .xlsx (ett blad per ansvarig) eller .csv.",
    "Write the open lamp faults (lighting findings with a luminaire id) per responsible "
    "party, for the repair crew: .xlsx (one sheet per party) or .csv."))
def faults_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help=t(
        "Utfil (.xlsx eller .csv).", "Output file (.xlsx or .csv)."))],
    store: StoreOpt = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
) -> None:
    from layers import ValidationError
    from walks.service import write_fault_list

    try:
        prof, st = _profile_and_store(profile, store)
        path, n = write_fault_list(st, out, prof.timezone)
    except (ValidationError, ValueError) as exc:
        _fail(exc)
        return
    typer.echo(t(f"{path}: {n} öppna felanmälningar", f"{path}: {n} open lamp faults"))


def _unknown_walk(walk_id: str) -> None:
    _fail(ValueError(t(f"okänd vandring {walk_id!r}; se `trygga walks list`",
                       f"unknown walk {walk_id!r}; see `trygga walks list`")))


def _walk_or_fail(st, walk_id: str):  # type: ignore[no-untyped-def]
    """The walk, or a clear message and exit 2 when it is not in the store."""
    try:
        return st.get_walk(walk_id)
    except KeyError:
        _unknown_walk(walk_id)


def _quiet_layers(prof):  # type: ignore[no-untyped-def]
    """The profile's layers, without the funnels' data warnings (``trygga layers`` shows
    them)."""
    import warnings

    from layers import LayerWarning
    from layers.loader import load_layers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        return load_layers(prof)


def _local_time(text: str, tz: str, option: str):  # type: ignore[no-untyped-def]
    """An ISO date or date-time in the profile's time zone (typer error when not)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        _fail(ValueError(t(f"{option} {text!r} är ingen tid (ÅÅÅÅ-MM-DD eller "
                           "ÅÅÅÅ-MM-DDTHH:MM)", f"{option} {text!r} is not a time "
                           "(YYYY-MM-DD or YYYY-MM-DDTHH:MM)")))
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))


@walks_app.command("cycle", help=t(
    "Var varje vandring är i cykeln (förmöte, vandring, återkopplingsmöte, protokoll) och "
    "vilka protokoll som är försenade (profilens protocol_weeks).",
    "Where each walk is in the cycle (förmöte, walk, feedback meeting, protocol) and which "
    "protocols are overdue (the profile's protocol_weeks)."))
def cycle_cmd(store: StoreOpt = None, profile: ProfileOpt = DEFAULT_PROFILE) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from layers import ValidationError
    from walks.cycle import walk_cycles

    try:
        prof, st = _profile_and_store(profile, store)
        table = walk_cycles(st.walks(), st.findings(), datetime.now(ZoneInfo(prof.timezone))
                            .date(), protocol_weeks=prof.protocol_weeks, tz=prof.timezone)
    except ValidationError as exc:
        _fail(exc)
        return
    if table.empty:
        typer.echo(t("Inga vandringar.", "No walks."))
        return

    def d(v: object) -> str:
        return str(v) if v is not None and str(v) not in ("None", "NaT") else "–"
    for wid, r in table.iterrows():
        late = t("  FÖRSENAT", "  OVERDUE") if r["protocol_overdue"] else ""
        typer.echo(f"{wid}  {d(r['start_date'])}  {t('förmöte', 'förmöte')} "
                   f"{d(r['premeeting'])}  {t('återkoppling', 'feedback')} "
                   f"{d(r['feedback_meeting'])}  {t('protokoll', 'protocol')} "
                   f"{d(r['protocol_published'])} ({t('senast', 'due')} "
                   f"{d(r['protocol_due'])}){late}  {t('fynd beslutade', 'findings decided')} "
                   f"{r['decided']}/{r['findings']}")


@walks_app.command("meeting", help=t(
    "Registrera förmötet (inbjudna grupper, fokus) eller återkopplingsmötet för en vandring.",
    "Record a walk's förmöte (groups invited, focus) or its feedback meeting."))
def meeting_cmd(
    walk_id: Annotated[str, typer.Argument(help=t("Vandringens id.", "The walk's id."))],
    premeeting: Annotated[str | None, typer.Option("--premeeting", help=t(
        "När förmötet hölls (ÅÅÅÅ-MM-DD[THH:MM]).", "When the förmöte was held."))] = None,
    invite: Annotated[str | None, typer.Option("--invite", help=t(
        "Inbjudna grupper, kommaseparerade (t.ex. boende,unga,polis).",
        "Groups invited, comma-separated (e.g. boende,unga,polis)."))] = None,
    focus: Annotated[str | None, typer.Option("--focus", help=t(
        "Vandringens fokus.", "The walk's focus."))] = None,
    feedback: Annotated[str | None, typer.Option("--feedback", help=t(
        "När återkopplingsmötet hölls.", "When the feedback meeting was held."))] = None,
    store: StoreOpt = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
) -> None:
    from layers import ValidationError
    from walks.store import ConflictError

    try:
        prof, st = _profile_and_store(profile, store)
        walk = st.get_walk(walk_id)
        changes: dict[str, object] = {}
        if premeeting:
            changes["premeeting_at"] = _local_time(premeeting, prof.timezone, "--premeeting")
        if feedback:
            changes["feedback_at"] = _local_time(feedback, prof.timezone, "--feedback")
        if invite is not None:
            changes["invited"] = tuple(g.strip() for g in invite.split(",") if g.strip())
        if focus is not None:
            changes["focus"] = focus.strip()
        if not changes:
            _fail(ValueError(t("inget att registrera: ange --premeeting, --invite, --focus "
                               "eller --feedback", "nothing to record: give --premeeting, "
                               "--invite, --focus or --feedback")))
        walk = st.update_walk(walk_id, walk.version, **changes)
    except KeyError:
        _unknown_walk(walk_id)
        return
    except (ValidationError, ConflictError) as exc:
        _fail(exc)
        return
    typer.echo(t(f"Sparat för {walk.id} (version {walk.version}).",
                 f"Saved for {walk.id} (version {walk.version})."))


@walks_app.command("follow-up", help=t(
    "Planera en uppföljande vandring på samma slinga som en tidigare vandring.",
    "Plan a follow-up walk on the same route as an earlier walk."))
def follow_up_cmd(
    walk_id: Annotated[str, typer.Argument(help=t("Den tidigare vandringens id.",
                                                  "The earlier walk's id."))],
    when: Annotated[str, typer.Option("--when", help=t(
        "Datum och tid, t.ex. 2025-11-20T18:00.", "Date and time, e.g. 2025-11-20T18:00."))],
    new_id: Annotated[str | None, typer.Option("--id", help=t(
        "Den nya vandringens id (standard: <tidigare>-uppfoljning-<datum>).",
        "The new walk's id (default: <earlier>-uppfoljning-<date>)."))] = None,
    store: StoreOpt = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
) -> None:
    from layers import ValidationError
    from walks.cycle import follow_up_walk

    try:
        prof, st = _profile_and_store(profile, store)
        previous = st.get_walk(walk_id)
        start = _local_time(when, prof.timezone, "--when")
        walk = st.add_walk(follow_up_walk(
            previous, new_id or f"{walk_id}-uppfoljning-{start:%Y-%m-%d}", start))
    except KeyError:
        _unknown_walk(walk_id)
        return
    except ValidationError as exc:
        _fail(exc)
        return
    typer.echo(t(f"Uppföljande vandring {walk.id} planerad ({len(walk.stops)} stopp).",
                 f"Follow-up walk {walk.id} planned ({len(walk.stops)} stops)."))


@walks_app.command("compare", help=t(
    "Jämför en uppföljande vandring med den tidigare: vad som åtgärdats och vad som är kvar.",
    "Compare a follow-up walk with the earlier one: what was fixed and what remains."))
def compare_cmd(
    walk_id: Annotated[str, typer.Argument(help=t("Den uppföljande vandringens id.",
                                                  "The follow-up walk's id."))],
    store: StoreOpt = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
) -> None:
    from layers import ValidationError
    from walks.cycle import compare_walks

    try:
        _prof, st = _profile_and_store(profile, store)
        c = compare_walks(st.walks(), st.findings(), walk_id)
    except KeyError:
        _fail(ValueError(t(f"okänd vandring {walk_id!r}", f"unknown walk {walk_id!r}")))
        return
    except (ValidationError, ValueError) as exc:
        _fail(exc)
        return
    typer.echo(t(f"{c.walk_id} följer upp {c.previous_id}: {c.fixed} av {c.total} fynd "
                 f"åtgärdade, {c.closed} avslutade utan åtgärd, {c.remaining} kvar; {c.new} nya "
                 "fynd.", f"{c.walk_id} follows up {c.previous_id}: {c.fixed} of {c.total} "
                 f"findings fixed, {c.closed} closed without action, {c.remaining} remain; "
                 f"{c.new} new findings."))
    for cat, n in c.remaining_by_category.items():
        typer.echo(f"  {t('kvar', 'remaining')}: {cat} {n}")
