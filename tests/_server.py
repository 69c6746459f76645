"""Shared helpers for the app tests: a temporary demo profile, a real Streamlit server and
Debian's Chromium with every non-loopback request blocked.

Imported by test_app_public.py, test_browser.py and test_accessibility.py. Servers are
started once per pytest session and mode (``staff``/``public``), each on its own
temporary copy of the demo profile and store, and stopped when the session ends.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
DEMO_PROFILE = ROOT / "data" / "stromstad" / "profile.toml"
CHROMIUM = Path("/usr/bin/chromium")
#: Where screenshots go: ``$TRYGGA_TEST_ARTIFACTS`` (CI sets it to ``test-artifacts/`` to
#: keep them), else a temporary folder of the session, so a local run writes nothing into
#: the checkout.
ARTIFACTS = Path(os.environ.get("TRYGGA_TEST_ARTIFACTS")
                 or Path(tempfile.gettempdir()) / f"trygga-test-artifacts-{os.getuid()}")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
#: Text of a finding marked ``non_public`` in the temporary store (must never be shown).
NON_PUBLIC_TEXT = "Icke-offentligt testfynd 7f3a"
DEMO_FINDINGS = ROOT / "data" / "demo" / "fynd_demo.geojson"
#: The internal notes of the demo findings (none may reach a public page).
INTERNAL_NOTES = sorted({
    f["properties"]["internal_note"]
    for f in json.loads(DEMO_FINDINGS.read_text(encoding="utf-8"))["features"]
    if f["properties"].get("internal_note")})
#: Hosts the browser may talk to; everything else is aborted and recorded.
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

_STRING_VALUE = re.compile(r'^(\s*[A-Za-z_][A-Za-z0-9_]*\s*=\s*)"([^"]*)"(.*)$')


def temp_profile(folder: Path, source: Path = DEMO_PROFILE) -> Path:
    """A copy of *source* in *folder*: file paths made absolute, the store in *folder*.

    Every quoted value that names an existing file relative to the profile's folder is
    replaced by its absolute path; ``store`` points at ``folder / "walks.gpkg"``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines():
        m = _STRING_VALUE.match(line)
        if m:
            key = m.group(1).split("=")[0].strip()
            value = m.group(2)
            if key == "store":
                value = (folder / "walks.gpkg").as_posix()
            elif value and (source.parent / value).exists():
                value = (source.parent / value).resolve().as_posix()
            line = f'{m.group(1)}"{value}"{m.group(3)}'
        lines.append(line)
    out = folder / "profile.toml"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def seed_store(profile: Path, non_public: bool = True) -> None:
    """Seed the profile's store with the demo findings; mark one of them ``non_public``.

    The marked finding gets :data:`NON_PUBLIC_TEXT` as its description, so tests can
    look for it.
    """
    from layers import load_profile
    from walks.service import open_store

    prof = load_profile(profile)
    with open_store(prof) as store:
        if non_public:
            found = store.findings()
            candidates = found[found["state_type"].astype(str).eq("open")
                               & ~found["description"].str.contains("<", regex=False)]
            fid = str(candidates.index[0])
            finding = store.get_finding(fid)
            store.update_finding(fid, finding.version, note="test", author_role="staff",
                                 non_public=True, description=NON_PUBLIC_TEXT)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running ``streamlit run app.py`` on loopback."""

    url: str
    profile: Path
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Stop the server and its children (its own process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_server(profile: Path, mode: str = "staff", timeout_s: float = 60.0,
                 app: Path = APP, extra_args: tuple[str, ...] = ()) -> Server:
    """Start *app* on a free loopback port and wait until ``/_stcore/health`` answers.

    Streamlit runs the page script only when a browser connects, so a healthy server
    has not rendered anything yet (TRAPS.md).
    """
    port = free_port()
    env = {**os.environ, "TRYGGA_PROFILE": str(profile), "TRYGGA_MODE": mode,
           "PYTHONUNBUFFERED": "1"}
    log = profile.parent / f"streamlit-{mode}.log"
    # The same launcher as README's command 1 (./dev.sh app): preload, then streamlit run.
    cmd = [sys.executable, "-m", "ui.serve", str(app),
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--server.enableStaticServing", "true",
           *extra_args]
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", profile, proc, log)
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n"
                               f"{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"streamlit did not become healthy in {timeout_s:.0f} s:\n"
                               f"{log.read_text(errors='replace')}")
        time.sleep(0.2)  # polling a socket, not waiting for the page


_SERVERS = pytest.StashKey[dict[str, Server]]()


def shared_server(request: pytest.FixtureRequest, mode: str) -> Server:
    """One server per pytest session and *mode*, on its own temporary demo store.

    The store of every server has one demo finding marked ``non_public``
    (:data:`NON_PUBLIC_TEXT`). Stopped when the session ends.
    """
    servers = request.config.stash.setdefault(_SERVERS, {})
    if mode not in servers:
        folder = request.getfixturevalue("tmp_path_factory").mktemp(f"app-{mode}")
        profile = temp_profile(folder)
        seed_store(profile)
        server = start_server(profile, mode)
        request.config.add_cleanup(server.stop)
        servers[mode] = server
    return servers[mode]


@dataclass
class Blocked:
    """Requests the browser tried to make to a non-loopback host (all aborted)."""

    urls: list[str] = field(default_factory=list)


def block_network(context: Any) -> Blocked:
    """Abort every request of *context* that is not loopback, ``file:``, ``data:`` or ``blob:``."""
    blocked = Blocked()

    def handle(route: Any) -> None:
        url = route.request.url
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob", "file", "about") or parsed.hostname in LOOPBACK:
            route.continue_()
        else:
            blocked.urls.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", handle)
    return blocked


def skip_without_chromium() -> pytest.MarkDecorator:
    """Module mark: skip when Debian's Chromium is missing (CI installs it)."""
    return pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
               "; CI installs it")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def new_page(browser: Any, height: int = 2400, timeout_ms: float = 90_000,
             width: int = 1280) -> tuple[Any, Any, Blocked, list[str]]:
    """A fresh context and page with the network blocked and dialogs recorded.

    *timeout_ms* is the default for every wait: a cold first run takes seconds, more on
    a busy CI machine.

    Returns (context, page, blocked requests, dialog messages). A tall viewport, because
    ``full_page`` screenshots do not capture Streamlit's inner scroll (TRAPS.md).
    """
    context = browser.new_context(viewport={"width": width, "height": height},
                                  locale="sv-SE", service_workers="block")
    context.set_default_timeout(timeout_ms)
    blocked = block_network(context)
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return context, page, blocked, dialogs


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot under :data:`ARTIFACTS` (CI keeps them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
#: Streamlit's app root once a script run has finished (its own e2e tests use this).
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def wait_for_map(page: Any, timeout_ms: float = 60_000) -> Any:
    """Scroll the lazily loaded map iframe into view and wait for its vector layers.

    Returns the iframe's FrameLocator.
    """
    for attempt in range(6):
        iframe = page.locator(MAP_FRAME).first
        iframe.wait_for(state="attached", timeout=timeout_ms)
        try:
            iframe.scroll_into_view_if_needed(timeout=timeout_ms)
            break
        except Exception as exc:  # playwright Error: a rerun replaced the iframe meanwhile
            if "not attached" not in str(exc) or attempt == 5:
                raise
            page.wait_for_timeout(500)
    frame = page.frame_locator(MAP_FRAME).first
    frame.locator("path.leaflet-interactive").first.wait_for(state="attached",
                                                            timeout=timeout_ms)
    return frame


def open_public_page(page: Any, server_url: str, timeout_ms: float = 90_000) -> Any:
    """Open "Offentlig karta" through the navigation (its URL is ``/`` when it is the
    default page and ``/offentlig`` otherwise) and wait for its list.

    Returns the locator of the findings table.
    """
    page.goto(server_url, wait_until="domcontentloaded")
    # The sidebar's link (the public pages also link to each other in the page itself).
    link = page.locator('[data-testid="stSidebarNav"]').get_by_role("link",
                                                                   name="Offentlig karta")
    link.wait_for(timeout=timeout_ms)
    link.click()
    table = page.locator("table.trygga-public-list")
    table.wait_for(timeout=timeout_ms)
    return table
