"""Tests for walks.protocol: the printable walk protocol and the empty walk-leader form."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, date, datetime, timedelta, timezone

import geopandas as gpd
import pytest
from PIL import Image
from shapely.geometry import LineString, Point

from walks import model as m
from walks.categories import CATEGORIES, checklist
from walks.protocol import (
    INTERNAL_LABEL,
    ProtocolError,
    render_protocol,
    render_protocol_html,
)
from walks.store import GeoPackageStore

X0, Y0 = 102_000.0, 6_535_000.0  # Strömstad, EPSG:3007 (metres)
CRS = "EPSG:3007"
CEST = timezone(timedelta(hours=2))
NOW = datetime(2025, 10, 15, 16, 30, tzinfo=UTC)
SECRET = "HEMLIG-INTERN-ANTECKNING-4711"
SCRIPT = '<script>alert("x")</script> Mörkt vid trappan'
HIDDEN_TEXT = "Fynd som inte är offentligt"
OTHER_WALK_TEXT = "Fynd från en annan vandring"
PUBLIC_NOTE = "Fastighetsägaren har fått synpunkten."
PENDING_TEXT = "Invånarens fynd som väntar på moderering"


def make_walk(**kw: object) -> m.Walk:
    route = LineString([(X0, Y0), (X0 + 400, Y0), (X0 + 400, Y0 + 300), (X0, Y0 + 300),
                        (X0, Y0)])
    base: dict[str, object] = dict(
        id="stromstierna-2025-host", title="Kvällsvandring <Strömstierna> & co",
        start=datetime(2025, 10, 15, 18, 0, tzinfo=CEST), light="mörker",
        area="Strömsdalen", school="Strömstiernaskolan", route=route,
        stops=(m.Stop(Point(X0, Y0), "Start och mål: Strömstiernaskolan"),
               m.Stop(Point(X0 + 400, Y0 + 150), "Rankad sträcka nr 5: Underbelyst GC-väg")),
        organiser="Samhällsbyggnad", participants={"boende": 7, "unga": 3, "polis": 1},
        state=m.WALK_GENOMFORD)
    base.update(kw)
    return m.Walk(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def paths() -> gpd.GeoDataFrame:
    lines = [LineString([(X0 - 200 + 100 * i, Y0 - 200), (X0 - 200 + 100 * i, Y0 + 500)])
             for i in range(9)]
    lines += [LineString([(X0 - 200, Y0 - 200 + 100 * j), (X0 + 600, Y0 - 200 + 100 * j)])
              for j in range(8)]
    return gpd.GeoDataFrame({"path_type": ["footway"] * len(lines)}, geometry=lines, crs=CRS)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> GeoPackageStore:
    folder = tmp_path_factory.mktemp("protocol")
    st = GeoPackageStore(folder / "walks.gpkg", CRS)
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "PNG")
    photo = st.add_photo(buf.getvalue(), "lampa.png")
    walk = make_walk()

    def add(dx: float, dy: float, **kw: object) -> m.Finding:
        base: dict[str, object] = dict(
            id=m.new_id(), geometry=Point(X0 + dx, Y0 + dy), created=NOW, category="belysning",
            severity=2, description="Släckt lampa", internal_note=SECRET, walk_id=walk.id,
            deadline=date(2026, 3, 31))
        base.update(kw)
        return st.add_finding(m.Finding(**base))  # type: ignore[arg-type]

    add(400, 100, description=SCRIPT, measure="Byt armatur till LED",
        responsible="kommun gata/park", deadline=date(2025, 12, 31), photos=(photo.sha256,),
        created=NOW + timedelta(minutes=1))
    add(200, 300, category="vegetation/buskage", description="Buskar skymmer lampan",
        measure="Beskär buskarna", responsible="kommun gata/park",
        created=NOW + timedelta(minutes=2))
    closed = add(0, 150, category="gångväg/tillgänglighet", description="Trappan är hal",
                 created=NOW + timedelta(minutes=3))
    st.set_state(closed.id, closed.version, "avslutad utan åtgärd", note="",
                 author_role="staff", reason="Trappan ligger på privat mark",
                 public_note=PUBLIC_NOTE)
    add(80, 80, description=PENDING_TEXT, channel="public")  # awaits moderation
    add(50, 50, description=HIDDEN_TEXT, non_public=True)
    add(60, 60, category="känslig plats", description="Känslig uppgift")
    add(70, 70, description=OTHER_WALK_TEXT, walk_id="annan-vandring")
    return st


@pytest.fixture(scope="module")
def protocol_html(store: GeoPackageStore, paths: gpd.GeoDataFrame) -> str:
    return render_protocol_html(make_walk(), store.findings(), paths=paths, store=store,
                                generated=NOW)


def test_protocol_header_and_participant_counts(protocol_html: str):
    html = protocol_html
    assert "Kvällsvandring &lt;Strömstierna&gt; &amp; co" in html
    assert "15 oktober 2025 kl. 18.00" in html
    assert "mörker" in html and "Strömsdalen" in html and "Strömstiernaskolan" in html
    assert re.search(r"<td>boende</td><td class=\"num\">7</td>", html)
    assert re.search(r"<th>Totalt</th><th class=\"num\">11</th>", html)
    assert 'lang="sv"' in html


def test_protocol_findings_table(protocol_html: str):
    html = protocol_html
    assert 'class="findings"' in html
    rows = re.findall(r'<tr class="finding">(.*?)</tr>', html, flags=re.S)
    assert len(rows) == 3  # this walk's public findings only
    assert "Släckt lampa" not in rows[0] and "Mörkt vid trappan" in rows[0]
    assert ">ny<" in rows[0] and "Buskar skymmer lampan" in rows[1]
    assert "avslutad utan åtgärd" in rows[2]


def test_shared_protocol_leaves_out_measures_responsibility_deadlines_and_reasons(
        protocol_html: str):
    """The participants' protocol: no measure, responsible party, deadline, closing
    reason, internal note or organiser (staff may have written a contact person there)."""
    html = protocol_html
    for internal_text in ("Byt armatur till LED", "Beskär buskarna", "kommun gata/park",
                          "2025-12-31", "2026-03-31", "Trappan ligger på privat mark",
                          SECRET, "Samhällsbyggnad", "Arrangör", "Ansvarig", "Åtgärd</th>",
                          "INTERNT"):
        assert internal_text not in html, internal_text
    assert 'id="avslutade"' not in html


def test_shared_protocol_shows_the_public_explanation_and_no_unmoderated_finding(
        protocol_html: str):
    rows = re.findall(r'<tr class="finding">(.*?)</tr>', protocol_html, flags=re.S)
    closed = next(r for r in rows if "Trappan är hal" in r)
    assert PUBLIC_NOTE in closed
    assert PENDING_TEXT not in protocol_html


@pytest.fixture(scope="module")
def internal_html(store: GeoPackageStore, paths: gpd.GeoDataFrame) -> str:
    return render_protocol_html(make_walk(), store.findings(), paths=paths, store=store,
                                generated=NOW, internal=True)


def test_internal_protocol_has_the_staff_fields_and_is_marked_internal(internal_html: str):
    html = internal_html
    assert html.count(INTERNAL_LABEL) >= 4  # title, banner, page footer (CSS), footer
    assert f"<title>{INTERNAL_LABEL} · Internt protokoll:" in html
    assert '<p class="internal-banner" role="note">' in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    rows = re.findall(r'<tr class="finding">(.*?)</tr>', html, flags=re.S)
    assert len(rows) == 6  # also the non-public, staff-only and unmoderated ones
    lamp = next(r for r in rows if "Mörkt vid trappan" in r)
    assert "Byt armatur till LED" in lamp and "kommun gata/park" in lamp
    assert "2025-12-31" in lamp and ">ny<" in lamp
    assert any("Beskär buskarna" in r for r in rows)
    assert any("Känslig uppgift" in r for r in rows)
    assert 'id="avslutade"' in html and "Trappan ligger på privat mark" in html
    assert f"Intern anteckning: {SECRET}" in html
    assert "Samhällsbyggnad" in html
    assert HIDDEN_TEXT in html and "(ej offentligt)" in html
    assert OTHER_WALK_TEXT not in html  # still only this walk
    assert "<script" not in html.lower()  # escaped here too


def test_internal_protocol_file(store: GeoPackageStore, paths: gpd.GeoDataFrame, tmp_path):
    out = render_protocol(make_walk(), store.findings(), tmp_path / "internt.html",
                          paths=paths, generated=NOW, internal=True)
    assert INTERNAL_LABEL in out.read_text(encoding="utf-8")


def test_protocol_escapes_html_and_hides_internal_text(protocol_html: str):
    html = protocol_html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert SECRET not in html
    assert HIDDEN_TEXT not in html  # non_public finding
    assert "Känslig uppgift" not in html  # staff-only category
    assert OTHER_WALK_TEXT not in html  # another walk's finding
    # standalone: nothing is loaded from anywhere
    assert not re.search(r"(src|href)=\"(?!data:)", html)
    assert "http://" not in html and "https://" not in html


def test_protocol_checklist_and_map(protocol_html: str):
    html = protocol_html
    public = [c for c in CATEGORIES if not c.staff_only]
    for questions in checklist(public).values():
        for q in questions:
            assert q in html
    staff_q = next(c for c in CATEGORIES if c.staff_only).questions[0]
    assert staff_q not in html
    m_png = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert m_png is not None
    png = base64.b64decode(m_png.group(1))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(png)).size[0] >= 800
    # the public photo copy (JPEG, EXIF-free) is embedded too
    assert 'src="data:image/jpeg;base64,' in html


def test_empty_form_before_the_walk(store: GeoPackageStore, paths: gpd.GeoDataFrame,
                                    tmp_path):
    walk = make_walk(id="ny-vandring", state=m.WALK_PLANERAD, participants={})
    out = render_protocol(walk, store.findings(), tmp_path / "form.html", paths=paths,
                          generated=NOW)
    html = out.read_text(encoding="utf-8")
    assert "Underlag för vandringsledare" in html
    assert 'class="findings"' not in html and '<tr class="finding">' not in html
    assert 'class="blank-findings"' in html
    assert html.count('class="write"') >= 2 * sum(
        len(q) for c, q in checklist(CATEGORIES).items()
        if not any(x.staff_only and x.label == c for x in CATEGORIES))
    assert "Är gångytan jämn, hel och fri från hinder?" in html
    assert "Rankad sträcka nr 5: Underbelyst GC-väg" in html  # stops listed
    assert "data:image/png;base64," in html
    assert SECRET not in html


def test_form_without_findings_frame(paths: gpd.GeoDataFrame):
    walk = make_walk(state=m.WALK_PLANERAD)
    html = render_protocol_html(walk, None, paths=paths, generated=NOW)
    assert "Underlag för vandringsledare" in html and "Checklista" in html


def test_held_walk_without_findings_says_so():
    walk = make_walk()
    html = render_protocol_html(walk, None, generated=NOW, form=False)
    assert "Inga fynd registrerades." in html


def test_html_file_is_written(store: GeoPackageStore, paths: gpd.GeoDataFrame, tmp_path):
    out = render_protocol(make_walk(), store.findings(), tmp_path / "sub" / "p.html",
                          paths=paths, generated=NOW)
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert '<tr class="finding">' in html
    assert not list(out.parent.glob(".tmp-*"))


def test_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match=r"\.html, \.htm, \.pdf"):
        render_protocol(make_walk(), None, tmp_path / "p.docx")


def _weasyprint_reason() -> str | None:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"WeasyPrint cannot run here: {exc}"
    return None


@pytest.mark.skipif(_weasyprint_reason() is not None,
                    reason=str(_weasyprint_reason()))
def test_pdf(store: GeoPackageStore, paths: gpd.GeoDataFrame, tmp_path):
    out = render_protocol(make_walk(), store.findings(), tmp_path / "p.pdf", paths=paths,
                          store=store, generated=NOW)
    data = out.read_bytes()
    assert data[:5] == b"%PDF-"
    assert len(data) > 10_000


def test_pdf_error_is_clear_without_weasyprint(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def fake_import(name: str, *args: object, **kwargs: object):
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise ImportError("No module named 'weasyprint'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ProtocolError, match=r"pip install weasyprint.*or write HTML"):
        render_protocol(make_walk(), None, tmp_path / "p.pdf")
    assert not (tmp_path / "p.pdf").exists()
