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
