"""Browser tests: a real ``streamlit run app.py`` driven by Playwright and Debian's Chromium.

Every request to a host other than loopback is aborted and recorded, so these tests also
show that the app needs no CDN. Screenshots go to ``$TRYGGA_TEST_ARTIFACTS`` (CI sets it to
``test-artifacts/`` and keeps them as artefacts), else to a temporary folder. Waits use
selectors, never sleeps.
"""

from __future__ import annotations

import re
import uuid

import pytest
from _server import (
    APP_IDLE,
    INTERNAL_NOTES,
    MAP_FRAME,
    NON_PUBLIC_TEXT,
    browser,  # noqa: F401  (fixture)
    new_page,
    open_public_page,
    screenshot,
    shared_server,
    skip_without_chromium,
    wait_for_map,
)

pytestmark = skip_without_chromium()

LOAD_MS = 90_000


@pytest.fixture(scope="module")
def staff(request):
    return shared_server(request, "staff")


@pytest.fixture(scope="module")
def public(request):
    return shared_server(request, "public")


def test_map_page_renders_vector_layers_offline(staff, browser):  # noqa: F811
    context, page, blocked, dialogs = new_page(browser)
    try:
        page.goto(staff.url, wait_until="domcontentloaded")
        frame = wait_for_map(page, LOAD_MS)
        n_paths = frame.locator("path.leaflet-interactive").count()
        assert n_paths > 0
        # The ranked segments are one canvas layer; it reports how many runs it drew.
        drawn = frame.locator(".leaflet-container").get_attribute("data-trygga-lines")
        assert drawn is not None and drawn.startswith("Segment:")
        assert int(drawn.split(":")[1]) > 100
        assert frame.locator("canvas.leaflet-zoom-animated").count() >= 1
        # The legend is HTML inside the map, not a branca colormap (which would load d3).
        assert frame.locator(".trygga-legend").count() == 1
        screenshot(page, "map_page_offline")
    finally:
        context.close()
    assert blocked.urls == [], f"requests left loopback: {blocked.urls}"
    assert dialogs == []


def test_public_page_shows_only_public_text(public, browser):  # noqa: F811
    context, page, blocked, dialogs = new_page(browser)
    try:
        table = open_public_page(page, public.url, LOAD_MS)
        frame = wait_for_map(page, LOAD_MS)
        body = page.locator("body").inner_text()
        table_text = table.inner_text()
        map_html = page.locator(MAP_FRAME).first.content_frame.locator("html").inner_html()
        frame.locator(".trygga-legend").wait_for()
        screenshot(page, "public_page")
    finally:
        context.close()
    assert INTERNAL_NOTES
    for text in (body, map_html):
        for note in INTERNAL_NOTES:
            assert note not in text
        assert NON_PUBLIC_TEXT not in text
    # A script tag in a description is shown as text and never runs.
    assert "<script>alert(1)</script>" in table_text
    assert "<script>alert(1)</script>" not in map_html
    assert dialogs == []
    assert blocked.urls == [], f"requests left loopback: {blocked.urls}"


def test_public_mode_has_no_staff_page(public, browser):  # noqa: F811
    context, page, blocked, _ = new_page(browser, height=900)
    try:
        page.goto(f"{public.url}/lager", wait_until="domcontentloaded")
        # An unknown URL falls back to the default page (a public one): no staff page runs.
        page.locator(APP_IDLE).wait_for(state="attached", timeout=LOAD_MS)
        page.locator("h1").first.wait_for(timeout=LOAD_MS)
        nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
        body = page.locator("body").inner_text()
    finally:
        context.close()
    for staff_title in ("Karta & prioritering", "Lager", "Trygghetsvandringar", "Åtgärder"):
        assert staff_title not in nav
    assert "Karta & prioritering" not in body
    assert blocked.urls == []


def test_click_map_and_submit_creates_a_stored_finding(staff, browser):  # noqa: F811
    text = f"Webbtest {uuid.uuid4().hex[:8]}: mörkt vid busshållplatsen"
    context, page, blocked, dialogs = new_page(browser)
    try:
        page.goto(staff.url, wait_until="domcontentloaded")
        nav = page.locator('[data-testid="stSidebarNav"]')
        nav.get_by_role("link", name="Trygghetsvandringar").click()
        page.get_by_text("Registrera fynd", exact=True).click()
        page.get_by_text("Klicka på kartan där fyndet finns").wait_for()
        page.locator(APP_IDLE).wait_for(state="attached")  # no stale map from "Planera"
        frame = wait_for_map(page, LOAD_MS)
        frame.locator(".leaflet-container").click(position=_map_centre(page))
        # The click reruns the script; the chosen position is shown beside the form.
        page.get_by_text(re.compile(r"Vald plats: \d+\.\d+, \d+\.\d+")).wait_for(
            timeout=LOAD_MS)
        page.get_by_role("textbox", name="Beskrivning (offentlig)").fill(text)
        page.get_by_role("button", name="Spara fyndet").click()
        saved = page.get_by_text(re.compile(r"Fyndet \(.+\) är sparat"))
        anyway = page.get_by_role("button", name="Spara ändå")
        saved.or_(anyway).first.wait_for(timeout=LOAD_MS)
        if anyway.count():  # a duplicate suggestion: this test wants a new finding
            anyway.click()
            saved.wait_for(timeout=LOAD_MS)
        page.locator(APP_IDLE).wait_for(state="attached")
        screenshot(page, "walks_finding_saved")
        # After a reload (a new session) the finding comes back from the store: the
        # public page lists it, so the store's cache key saw the write too.
        page.reload(wait_until="domcontentloaded")
        table = open_public_page(page, staff.url, LOAD_MS)
        table.get_by_text(text).wait_for(timeout=LOAD_MS)
        screenshot(page, "walks_finding_public_after_reload")
    finally:
        context.close()
    from layers import load_profile
    from walks.service import open_store

    with open_store(load_profile(staff.profile)) as store:
        found = store.findings()
    new = found[found["description"].astype(str).eq(text)]
    assert len(new) == 1
    assert new["channel"].astype(str).tolist() == ["app"]
    assert blocked.urls == []
    assert dialogs == []


def _map_centre(page) -> dict[str, float]:
    """A point a little above the map's centre (clear of the legend and the layer box)."""
    box = page.locator(MAP_FRAME).first.bounding_box()
    assert box is not None
    return {"x": box["width"] * 0.5, "y": box["height"] * 0.4}
