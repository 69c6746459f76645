"""Staff login through OpenID Connect, end to end, against a stand-in provider.

A real ``streamlit run app.py`` with an ``[auth]`` section in its secrets (as a kommun
configures its identity provider), Debian's Chromium through Playwright, and the
stand-in provider of ``tests/_oidc.py`` on loopback (every other host is blocked). The
test clicks "Logga in", follows the authorization-code flow with PKCE, and checks that
the staff pages open, that the provider saw a correct token request, that a walk saved
after the login records the pseudonymous user id ``oidc:<sub>`` (never the e-mail or the
name), and that "Logga ut" logs out.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from _oidc import OIDCProvider
from _server import (
    Server,
    browser,  # noqa: F401  (fixture)
    new_page,
    screenshot,
    skip_without_chromium,
    start_server,
    temp_profile,
)

from layers import load_profile
from walks.service import open_store

pytestmark = skip_without_chromium()

LOAD_MS = 120_000


@pytest.fixture(scope="module")
def idp() -> Iterator[OIDCProvider]:
    provider = OIDCProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def oidc_app(tmp_path_factory: pytest.TempPathFactory,
             idp: OIDCProvider) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("oidc")
    profile = temp_profile(folder / "prof")
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f'client_id = "{idp.client_id}"\n'
        f'client_secret = "{idp.client_secret}"\n'
        f'server_metadata_url = "{idp.base}/.well-known/openid-configuration"\n',
        encoding="utf-8")
    server = start_server(profile, "staff", timeout_s=90,
                          extra_args=("--secrets.files", str(secrets_file)))
    yield server
    server.stop()


def test_staff_log_in_with_the_kommuns_identity_provider(oidc_app: Server, idp: OIDCProvider,
                                                         browser) -> None:  # noqa: F811
    context, page, blocked, _dialogs = new_page(browser, height=1400)
    try:
        page.goto(oidc_app.url, wait_until="domcontentloaded")
        page.get_by_text("Inloggning för personal").wait_for(timeout=LOAD_MS)
        assert page.get_by_text("Logga in med kommunens konto.").is_visible()
        screenshot(page, "oidc_login")
        page.get_by_role("button", name="Logga in").click()
        # authorize → callback → the app again, now logged in: the staff map page
        page.get_by_role("button", name="Logga ut").wait_for(timeout=LOAD_MS)
        assert page.get_by_text("Inloggning för personal").count() == 0
        screenshot(page, "oidc_logged_in")
        assert ("GET", "/authorize") in idp.requests and ("POST", "/token") in idp.requests
        (tok,) = idp.token_requests
        assert tok["grant_type"] == "authorization_code"
        assert tok["redirect_uri"].startswith(oidc_app.url) and tok["redirect_uri"].endswith(
            "/oauth2callback")
        assert len(tok.get("code_verifier", "")) >= 43  # PKCE S256 was used

        # Save a walk: the history records oidc:<sub>, never the e-mail or the name.
        page.goto(f"{oidc_app.url}/vandringar", wait_until="domcontentloaded")
        page.get_by_text("Planera", exact=False).first.wait_for(timeout=LOAD_MS)
        page.get_by_text("Planera", exact=False).first.click()
        page.get_by_role("button", name="Föreslå rutt").click()
        page.get_by_role("button", name="Spara vandringen").wait_for(timeout=LOAD_MS)
        page.get_by_role("button", name="Spara vandringen").click()
        page.get_by_text("är sparad", exact=False).first.wait_for(timeout=LOAD_MS)
        with open_store(load_profile(oidc_app.profile)) as store:
            walks = store.walks()
        assert len(walks) == 1
        created_by = str(walks["created_by"].iloc[0])
        assert created_by == f"oidc:{idp.sub}"
        assert idp.email not in created_by and "Anna" not in created_by

        page.get_by_role("button", name="Logga ut").click()
        page.get_by_text("Inloggning för personal").wait_for(timeout=LOAD_MS)
        assert blocked.urls == []  # loopback only: the provider and the app
    finally:
        context.close()


def test_a_wrong_client_secret_does_not_log_in(tmp_path: Path, idp: OIDCProvider,
                                               browser) -> None:  # noqa: F811
    profile = temp_profile(tmp_path / "prof")
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f'client_id = "{idp.client_id}"\n'
        'client_secret = "fel"\n'
        f'server_metadata_url = "{idp.base}/.well-known/openid-configuration"\n',
        encoding="utf-8")
    server = start_server(profile, "staff", timeout_s=90,
                          extra_args=("--secrets.files", str(secrets_file)))
    context, page, _blocked, _dialogs = new_page(browser, height=1400)
    try:
        page.goto(server.url, wait_until="domcontentloaded")
        login = page.get_by_role("button", name="Logga in")
        login.wait_for(timeout=LOAD_MS)
        n_before = len(idp.token_requests)
        # the provider refuses the token request: back at the login, never the staff pages
        with page.expect_response(lambda r: "/oauth2callback" in r.url, timeout=LOAD_MS):
            login.click()
        page.get_by_text("Inloggning för personal").wait_for(timeout=LOAD_MS)
        assert page.get_by_role("button", name="Logga ut").count() == 0
        assert len(idp.token_requests) == n_before + 1
        assert idp.token_requests[-1]["client_secret"] == "fel"
    finally:
        context.close()
        server.stop()
