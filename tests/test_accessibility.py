"""Accessibility: axe-core (WCAG 2.1 AA rules) on the residents' maps: 0 serious or critical.

axe-core comes from ``static/vendor/axe-core`` (fetched from npm at set-up, like Leaflet)
and is injected into the page and into the map's iframe; nothing is loaded from a CDN.
Checked: the static HTML written by ``trygga public-map`` and the "Offentlig karta" page
of the running app in public mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _server import (
    ROOT,
    browser,  # noqa: F401  (fixture)
    new_page,
    open_public_page,
    screenshot,
    seed_store,
    shared_server,
    skip_without_chromium,
    temp_profile,
    wait_for_map,
)

AXE = ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"
LOAD_MS = 90_000
#: WCAG 2.0/2.1 A and AA: what Swedish public-sector websites must meet (DOS-lagen).
AXE_OPTIONS = {"runOnly": {"type": "tag",
                           "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                      "best-practice"]},
               "resultTypes": ["violations"]}

pytestmark = [
    skip_without_chromium(),
    pytest.mark.skipif(not AXE.exists(), reason=f"{AXE} is missing: run ./dev.sh setup"),
]


def _axe(page: Any) -> list[dict[str, Any]]:
    """axe-core in the page and every same-origin frame; serious/critical violations."""
    for frame in page.frames:
        frame.add_script_tag(path=str(AXE))
    result = page.evaluate("opts => axe.run(document, opts)", AXE_OPTIONS)
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {node['target']}: {node.get('failureSummary', '')[:300]}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def static_map(tmp_path_factory) -> Path:
    """``trygga public-map`` output on a temporary copy of the demo store."""
    from typer.testing import CliRunner

    from trygga_cli.main import app

    folder = tmp_path_factory.mktemp("static-map")
    profile = temp_profile(folder)
    seed_store(profile)
    out = folder / "karta.html"
    result = CliRunner().invoke(app, ["public-map", "--out", str(out), "--profile",
                                      str(profile)])
    assert result.exit_code == 0, result.output
    return out


def test_static_public_map_has_no_serious_violations(static_map, browser):  # noqa: F811
    context, page, blocked, _ = new_page(browser, height=1600)
    try:
        page.goto(static_map.as_uri(), wait_until="domcontentloaded")
        page.locator("path.leaflet-interactive").first.wait_for(state="attached",
                                                                timeout=LOAD_MS)
        page.locator("table").first.wait_for()
        violations = _axe(page)
        screenshot(page, "static_public_map")
    finally:
        context.close()
    assert blocked.urls == [], f"the static map made third-party requests: {blocked.urls}"
    assert violations == [], _describe(violations)


def test_public_page_has_no_serious_violations(request, browser):  # noqa: F811
    server = shared_server(request, "public")
    context, page, blocked, _ = new_page(browser)
    try:
        open_public_page(page, server.url, LOAD_MS)
        frame = wait_for_map(page, LOAD_MS)
        frame.locator(".trygga-legend").wait_for()
        page.get_by_text("årsrapporten").first.wait_for()
        violations = _axe(page)
        screenshot(page, "public_page_axe")
    finally:
        context.close()
    assert blocked.urls == []
    assert violations == [], _describe(violations)


VIEWPORTS = [(1440, 900), (390, 844)]


def _open(page: Any, url: str, which: str) -> None:
    """Open a public page by its visible link in the page itself (as a phone user does)."""
    page.goto(url, wait_until="domcontentloaded")
    link = page.locator('[data-testid="stMain"]').get_by_role("link", name=which)
    link.wait_for(timeout=LOAD_MS)
    link.click()
    page.locator("h1", has_text=which).first.wait_for(timeout=LOAD_MS)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        state="attached", timeout=LOAD_MS)


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=["desktop", "phone"])
@pytest.mark.parametrize("which", ["Offentlig karta", "Uppföljning"])
def test_every_public_page_passes_axe_at_both_widths(request, browser, viewport,  # noqa: F811
                                                     which):
    server = shared_server(request, "public")
    width, height = viewport
    context, page, blocked, _ = new_page(browser, height=height, width=width)
    try:
        _open(page, server.url, which)
        if which == "Offentlig karta":
            page.locator("table.trygga-public-list").wait_for(timeout=LOAD_MS)
            wait_for_map(page, LOAD_MS)
        lang = page.evaluate("document.documentElement.lang")
        violations = _axe(page)
        screenshot(page, f"axe_{which.split()[0].lower()}_{width}")
    finally:
        context.close()
    assert lang == "sv"
    assert blocked.urls == []
    assert violations == [], _describe(violations)


@pytest.mark.parametrize("which", ["Offentlig karta", "Uppföljning"])
def test_public_pages_fit_a_phone(request, browser, which):  # noqa: F811
    """390 px wide: nothing wider than the screen, the list stacked into cards, and the
    links between the public pages on the page itself."""
    server = shared_server(request, "public")
    context, page, blocked, _ = new_page(browser, height=844, width=390)
    try:
        _open(page, server.url, which)
        widths = page.evaluate("""() => {
            var main = document.querySelector('[data-testid=stMain]');
            var wide = [];
            main.querySelectorAll('table, img, [data-testid=stMetric], iframe').forEach(e => {
                var r = e.getBoundingClientRect();
                if (r.right > window.innerWidth + 1) wide.push(e.tagName + ':' + r.right);
            });
            return {doc: document.documentElement.scrollWidth,
                    main: main.scrollWidth, wide: wide}; }""")
        # In the page itself, visible (the sidebar is folded away on a phone).
        main = page.locator('[data-testid="stMain"]')
        links = [int(main.get_by_role("link", name=n).is_visible())
                 for n in ("Offentlig karta", "Uppföljning")]
        cards = None
        if which == "Offentlig karta":
            wait_for_map(page, LOAD_MS)
            row = page.locator("table.trygga-public-list tbody tr").first
            row.wait_for(timeout=LOAD_MS)
            cards = row.evaluate("r => getComputedStyle(r).display")
            frame = page.locator('iframe[title="streamlit_folium.st_folium"]').first
            viewports = frame.element_handle().content_frame().evaluate(
                "Array.from(document.querySelectorAll('meta[name=viewport]'))"
                ".map(m => m.content)")
            # The column name in front of each cell (CSS ::before from data-label).
            text = row.evaluate("""r => Array.from(r.cells).map(c =>
                getComputedStyle(c, '::before').content.replace(/"/g, '') + ' ' +
                c.innerText).join('\\n')""")
            screenshot(page, "public_page_phone")
        else:
            screenshot(page, "followup_page_phone")
    finally:
        context.close()
    assert widths["doc"] <= 390 and widths["main"] <= 390, widths
    assert widths["wide"] == [], widths
    assert all(n >= 1 for n in links), links
    if cards is not None:
        assert cards == "block"
        # The map page must not forbid zooming (folium's header says user-scalable=no).
        assert viewports and not any("user-scalable=no" in v.replace(" ", "")
                                     or "maximum-scale" in v for v in viewports), viewports
        # Each card says where, what, and its status.
        for label in ("Datum:", "Gata eller plats:", "Kategori:", "Status:"):
            assert label in text, text
    assert blocked.urls == []


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=["desktop", "phone"])
@pytest.mark.parametrize(("which", "english"), [("Offentlig karta", "Public map"),
                                                ("Uppföljning", "Follow-up")],
                         ids=["offentlig", "uppfoljning"])
def test_every_public_page_passes_axe_in_english(request, browser, viewport, which,  # noqa: F811
                                                 english):
    """The same under the English toggle (chosen at desktop width, where the sidebar is
    open; the page is then shown at the tested width)."""
    server = shared_server(request, "public")
    width, height = viewport
    context, page, blocked, _ = new_page(browser, height=900, width=1440)
    try:
        _open(page, server.url, which)
        page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
        page.wait_for_function("document.documentElement.lang === 'en'", timeout=LOAD_MS)
        page.locator("h1", has_text=english).first.wait_for(timeout=LOAD_MS)
        page.set_viewport_size({"width": width, "height": height})
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
            state="attached", timeout=LOAD_MS)
        if which == "Offentlig karta":
            page.locator("table.trygga-public-list").wait_for(timeout=LOAD_MS)
            wait_for_map(page, LOAD_MS)
        lang = page.evaluate("document.documentElement.lang")
        violations = _axe(page)
        screenshot(page, f"axe_en_{which.split()[0].lower()}_{width}")
    finally:
        context.close()
    assert lang == "en"
    assert blocked.urls == []
    assert violations == [], _describe(violations)


def test_english_toggle_sets_lang_and_survives_a_page_switch(request, browser):  # noqa: F811
    server = shared_server(request, "public")
    context, page, blocked, _ = new_page(browser, height=900, width=1440)
    try:
        _open(page, server.url, "Offentlig karta")
        page.get_by_text("English", exact=True).click()
        page.locator("h1", has_text="Public map").first.wait_for(timeout=LOAD_MS)
        page.wait_for_function("document.documentElement.lang === 'en'", timeout=LOAD_MS)
        page.locator('[data-testid="stMain"]').get_by_role("link", name="Follow-up").click()
        page.locator("h1", has_text="Follow-up").first.wait_for(timeout=LOAD_MS)
        lang = page.evaluate("document.documentElement.lang")
    finally:
        context.close()
    assert lang == "en"
    assert blocked.urls == []
