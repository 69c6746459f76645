"""App timings with Playwright and headless Chromium against a local server (run by hand).

    .venv/bin/python bench/app_perf.py [--cold-runs 3] [--warm-runs 5] [--app app.py]

Measures on a temporary copy of the demo profile and store, with every non-loopback
request blocked (the app must work offline):

* **first run ever**: the first server start on a new profile path, whose Streamlit disk
  cache (layers, school routes, ranking) is still empty; reported, no target.
* **cold first render**: a freshly started server (``ui.serve``, as README command 1: a new
  process, the disk cache from the run before); from navigation to the first
  ``path.leaflet-interactive`` of the map page. Twice: in a **new browser** (a fresh
  context whose requests are routed to block the network, which also turns Chromium's
  HTTP cache off, so all of Streamlit's JavaScript is fetched and compiled), and in a
  **returning browser** (a persistent profile that has opened the app before, network
  blocked by host-resolver rules), which is what staff who use the app every week see.
* **warm page switch**: clicking a page in the navigation until that page has rendered
  (the map page: until its vector layers are drawn again).
* **warm filter change**: a widget change until the result is on screen ("Färg efter:
  poäng" on the map page, "Visa: Åtgärdad" on the public page).

Targets (issue 5): cold ≤ 3 s, warm ≤ 1 s. Prints a table; record it in
docs/benchmarks.md. Not part of the test suite. Needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _server import (  # noqa: E402  (the tests' server and browser helpers)
    APP,
    APP_IDLE,
    CHROMIUM,
    CHROMIUM_ARGS,
    MAP_FRAME,
    new_page,
    seed_store,
    start_server,
    temp_profile,
)

TIMEOUT_MS = 120_000


def _idle(page: Any) -> None:
    page.locator(APP_IDLE).wait_for(state="attached", timeout=TIMEOUT_MS)


def _map_drawn(page: Any) -> None:
    iframe = page.locator(MAP_FRAME).first
    iframe.wait_for(state="attached", timeout=TIMEOUT_MS)
    iframe.scroll_into_view_if_needed(timeout=TIMEOUT_MS)
    page.frame_locator(MAP_FRAME).first.locator("path.leaflet-interactive").first.wait_for(
        state="visible", timeout=TIMEOUT_MS)


def _title(page: Any, text: str) -> None:
    page.locator("h1", has_text=text).first.wait_for(timeout=TIMEOUT_MS)


def _timed(action: Callable[[], None], done: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    action()
    done()
    return time.perf_counter() - t0


def _nav(page: Any, name: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name).click()


#: Chromium flag for the returning-browser runs: every host but loopback fails to resolve.
#: (Playwright's request routing, used by the tests, turns the HTTP cache off.)
LOOPBACK_ONLY = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"


def cold_first_render(browser: Any, profile: Path, app: Path, mode: str = "staff",
                      context: Any = None) -> float:
    """Seconds from navigation to the drawn map on a server that has just started.

    ``staff``: the default page "Karta & prioritering". ``public``: "Offentlig karta", the
    default page in public mode (its list and map). With *context* (a persistent browser
    context that has seen the app before) the page opens there, with its HTTP cache;
    otherwise in a new context with the network blocked by request routing (no cache).
    """
    server = start_server(profile, mode, app=app)
    if context is None:
        ctx, page, blocked, _ = new_page(browser, height=1400)
        urls = blocked.urls
    else:
        ctx, page = None, context.new_page()
        urls = []
        page.on("request", lambda r: urls.append(r.url)
                if urlparse(r.url).hostname not in (None, "127.0.0.1", "localhost")
                and urlparse(r.url).scheme in ("http", "https", "ws", "wss") else None)

    def public_drawn() -> None:
        _title(page, "Offentlig karta")
        page.locator("table.trygga-public-list").wait_for(timeout=TIMEOUT_MS)
        _map_drawn(page)

    try:
        return _timed(lambda: page.goto(server.url, wait_until="commit"),
                      (lambda: _map_drawn(page)) if mode == "staff" else public_drawn)
    finally:
        page.close()
        if ctx is not None:
            ctx.close()
        server.stop()
        if urls:
            print(f"warning: non-loopback requests: {urls}", file=sys.stderr)


def returning_browser(p: Any, folder: Path) -> Any:
    """A persistent Chromium context (its own profile folder) that keeps its HTTP cache
    between runs, like the browser of someone who uses the app every week."""
    return p.chromium.launch_persistent_context(
        str(folder), executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, LOOPBACK_ONLY],
        viewport={"width": 1280, "height": 1400}, locale="sv-SE", service_workers="block")


def warm_runs(browser: Any, profile: Path, app: Path, n: int,
              returning: Any = None) -> dict[str, list[float]]:
    """Warm page switches and filter changes, *n* times each, on one server.

    In *returning* (a persistent context, HTTP cache on) when given, else in a new context
    with request routing (HTTP cache off: every map iframe fetches its scripts again).
    """
    server = start_server(profile, "staff", app=app)
    if returning is None:
        context, page, blocked, _ = new_page(browser, height=1400)
    else:
        context, page = None, returning.new_page()
        blocked = type("NoBlocked", (), {"urls": []})()
    out: dict[str, list[float]] = {k: [] for k in (
        "page switch → Offentlig karta", "page switch → Karta & prioritering",
        "filter: Visa åtgärdade (public)", "filter: färg efter poäng (map)",
        "English toggle (map)")}
    try:
        page.goto(server.url, wait_until="commit")
        _map_drawn(page)
        _idle(page)
        # Warm up every page and widget once (fills st.cache_data) before measuring.
        _nav(page, "Offentlig karta")
        _title(page, "Offentlig karta")
        _idle(page)
        _nav(page, "Karta & prioritering")
        _title(page, "Karta & prioritering")
        _map_drawn(page)
        _idle(page)
        sidebar = page.locator('[data-testid="stSidebar"]')
        legend = page.frame_locator(MAP_FRAME).first.locator(".trygga-legend")
        for _ in range(n):
            def to_public() -> None:
                _title(page, "Offentlig karta")
                _idle(page)  # the old page's elements are gone once the run ends
                page.locator("table.trygga-public-list").wait_for(timeout=TIMEOUT_MS)
                _map_drawn(page)

            out["page switch → Offentlig karta"].append(
                _timed(lambda: _nav(page, "Offentlig karta"), to_public))

            fixed = page.get_by_role("radiogroup").get_by_text("Åtgärdad", exact=True)
            caption = page.locator("table.trygga-public-list caption")
            before = caption.inner_text()

            def filtered(before: str = before) -> None:
                page.wait_for_function(
                    "([sel, old]) => { const c = document.querySelector(sel);"
                    " return c && c.innerText !== old; }",
                    arg=["table.trygga-public-list caption", before], timeout=TIMEOUT_MS)
                _idle(page)

            out["filter: Visa åtgärdade (public)"].append(_timed(fixed.click, filtered))
            page.get_by_role("radiogroup").get_by_text("Alla", exact=True).click()
            page.wait_for_function(
                "([sel, old]) => { const c = document.querySelector(sel);"
                " return c && c.innerText === old; }",
                arg=["table.trygga-public-list caption", before], timeout=TIMEOUT_MS)
            _idle(page)

            def to_map() -> None:
                _title(page, "Karta & prioritering")
                _idle(page)
                _map_drawn(page)

            out["page switch → Karta & prioritering"].append(
                _timed(lambda: _nav(page, "Karta & prioritering"), to_map))

            def recoloured() -> None:
                legend.filter(has_text="Poäng").wait_for(timeout=TIMEOUT_MS)
                _map_drawn(page)
                _idle(page)

            out["filter: färg efter poäng (map)"].append(
                _timed(sidebar.get_by_text("poäng", exact=True).click, recoloured))
            sidebar.get_by_text("belysningsstatus", exact=True).click()
            legend.filter(has_text="Teckenförklaring").wait_for(timeout=TIMEOUT_MS)
            _idle(page)

            def in_english() -> None:
                _title(page, "Map & priorities")
                _idle(page)
                _map_drawn(page)

            out["English toggle (map)"].append(
                _timed(sidebar.get_by_text("English", exact=True).click, in_english))
            sidebar.get_by_text("Svenska", exact=True).click()
            _title(page, "Karta & prioritering")
            _idle(page)
            _map_drawn(page)
    finally:
        page.close()
        if context is not None:
            context.close()
        server.stop()
    if blocked.urls:
        print(f"warning: blocked non-loopback requests: {blocked.urls}", file=sys.stderr)
    return out


def _warm_target(name: str) -> float:
    """Targets of the warm measurements (issue 14): 1 s, the English toggle 1.5 s."""
    return 1.5 if name.startswith("English") else 1.0


def main(argv: list[str] | None = None) -> None:
    """Run the measurements and print a table (seconds)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--warm-runs", type=int, default=5)
    ap.add_argument("--app", type=Path, default=APP, help="Streamlit entry script")
    args = ap.parse_args(argv)
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        profile = temp_profile(Path(tmp))
        seed_store(profile)
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # The very first run after set-up fills Streamlit's disk cache (layers, school
            # routes, ranking); it is reported apart. "Cold" below is what every later
            # server start gives: a new process with nothing imported, the disk cache warm.
            first = [cold_first_render(browser, profile, args.app.resolve())]
            cold = [cold_first_render(browser, profile, args.app.resolve())
                    for _ in range(args.cold_runs)]
            cold_public = [cold_first_render(browser, profile, args.app.resolve(), "public")
                           for _ in range(args.cold_runs)]
            returning = returning_browser(p, Path(tmp) / "chromium-profile")
            try:  # one visit fills the browser's cache, then restarted servers
                cold_first_render(browser, profile, args.app.resolve(), context=returning)
                cold_ret = [cold_first_render(browser, profile, args.app.resolve(),
                                              context=returning)
                            for _ in range(args.cold_runs)]
                cold_ret_public = [cold_first_render(browser, profile, args.app.resolve(),
                                                     "public", context=returning)
                                   for _ in range(args.cold_runs)]
                warm_ret = warm_runs(browser, profile, args.app.resolve(), args.warm_runs,
                                     returning)
            finally:
                returning.close()
            warm = warm_runs(browser, profile, args.app.resolve(), args.warm_runs)
        finally:
            browser.close()
    rows = [("first run ever, map page (empty disk cache)", first, float("nan")),
            ("cold first render, map page, new browser", cold, 3.0),
            ("cold first render, public page, new browser", cold_public, 3.0),
            ("cold first render, map page, returning browser", cold_ret, 3.0),
            ("cold first render, public page, returning browser", cold_ret_public, 3.0),
            *((f"{name}, new browser", values, _warm_target(name))
              for name, values in warm.items()),
            *((f"{name}, returning browser", values, _warm_target(name))
              for name, values in warm_ret.items())]
    print(f"{'measurement':50s} {'median s':>9s} {'min s':>7s} {'max s':>7s} {'n':>3s}"
          f" {'target s':>9s}")
    for name, values, target in rows:
        print(f"{name:50s} {statistics.median(values):9.2f} {min(values):7.2f} "
              f"{max(values):7.2f} {len(values):3d} {target:9.1f}")


if __name__ == "__main__":
    main()
