"""Staff login for the staff pages: OIDC, a local password, or the demo without login.

Which one applies is decided by ``secrets.toml`` (see ``.streamlit/secrets.toml.example``):

1. An ``[auth]`` section: Streamlit's built-in OIDC (``st.login`` / ``st.user``) against
   the kommun's identity provider.
2. Else local accounts: ``[trygga.accounts]`` with one scrypt hash per staff member
   (``anna = "scrypt$n$r$p$salt_hex$hash_hex"``), or the older single shared
   ``[trygga] password_hash``. Make a hash with ``python -m ui.auth hash``.
3. Else, on the synthetic demo profile (``demo = true``): allowed, with a visible
   "Demo, ingen inloggning." notice.
4. Else (real data and no secrets): refused, with instructions.

Who did what: every write records a pseudonymous user id (:func:`current_user_id`): the
OIDC subject (``oidc:<sub>``), the local account name (``local:<name>``), ``local:staff``
for the shared password, or ``demo``. E-mail addresses and passwords are never logged or
stored; public outputs never show user ids.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import hmac
import logging
import math
import secrets
import sys
from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitDuplicateElementKey

from ui.st_cache import inputs_key, profile_path, st_profile
from ui.state import t
from ui.throttle import LOGIN_THROTTLE, client_id

logger = logging.getLogger(__name__)

#: The role every logged-in staff member gets (written to the history, never a name).
STAFF_ROLE = "staff"
#: Session-state key remembering a successful password login (the role, nothing else).
SESSION_KEY = "auth_role"
#: Session-state key of the logged-in local account's user id (``local:<name>``).
USER_KEY = "auth_user"
#: Default scrypt cost parameters: n = 2**14, r = 8, p = 1 (16 MiB, ~50 ms).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_DKLEN = 32


# --------------------------------------------------------------------------------------
# Password hashes (no Streamlit)
# --------------------------------------------------------------------------------------

def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * n * r * p + 1024 * 1024, dklen=dklen)


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    """A ``"scrypt$n$r$p$salt_hex$hash_hex"`` hash of *password* with a random salt.

    Examples
    --------
    >>> h = hash_password("hemligt", n=2**10)
    >>> h.startswith("scrypt$1024$8$1$"), verify_password("hemligt", h)
    (True, True)
    """
    if not password:
        raise ValueError("an empty password cannot be used. Fix: choose a password")
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, r, p, _DKLEN)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when *password* matches the stored scrypt hash (constant-time comparison).

    Raises
    ------
    ValueError
        *stored* is not a ``"scrypt$n$r$p$salt_hex$hash_hex"`` string; the message says
        how to make one.
    """
    parts = str(stored).strip().split("$")
    try:
        if len(parts) != 6 or parts[0] != "scrypt":
            raise ValueError("wrong form")
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
        if n < 2 or n & (n - 1) or r < 1 or p < 1 or not salt or not digest:
            raise ValueError("bad parameters")
    except ValueError:
        raise ValueError("[trygga] password_hash in secrets.toml is not of the form "
                         "scrypt$n$r$p$salt_hex$hash_hex. Fix: make a new one with "
                         "`python -m ui.auth hash`") from None
    candidate = _scrypt(password, salt, n, r, p, len(digest))
    return hmac.compare_digest(candidate, digest)


# --------------------------------------------------------------------------------------
# Streamlit
# --------------------------------------------------------------------------------------

def _secrets() -> dict[str, Any]:
    """The app's secrets as a plain dict; empty when there is no secrets.toml."""
    if not st.secrets.load_if_toml_exists():  # none, or unreadable (logged by Streamlit)
        return {}
    return dict(st.secrets.to_dict())


def _notice_once(kind: str, text: str) -> None:
    """Show *text* once per run, even if both app.py and a page call :func:`require_staff`."""
    try:
        box = st.sidebar.container(key=f"auth_notice_{kind}")
    except StreamlitDuplicateElementKey:
        return
    box.info(text, icon="🔓" if kind == "demo" else "🔐")


def _oidc(auth: Mapping[str, Any]) -> str:
    """Streamlit's built-in OIDC login (``st.login``); only ``is_logged_in`` is read."""
    if st.user.is_logged_in:
        with contextlib.suppress(StreamlitDuplicateElementKey):
            st.sidebar.button(t("auth_logout"), on_click=st.logout, key="auth_logout_oidc")
        return STAFF_ROLE
    providers = [k for k, v in auth.items() if isinstance(v, Mapping)]
    provider = None if "client_id" in auth or not providers else providers[0]
    st.title(t("auth_title"))
    st.info(t("auth_oidc_intro"))
    if st.button(t("auth_login"), key="auth_login_oidc", type="primary"):
        st.login(provider)
    st.stop()
    raise AssertionError("unreachable: st.stop() raises")


def _password(accounts: Mapping[str, str]) -> str:
    """A login form; a correct password is remembered (role and user id) for the session.

    *accounts* maps account names to scrypt hashes; the single shared password is the
    account ``""`` (no user name field is shown then).
    """
    if st.session_state.get(SESSION_KEY) == STAFF_ROLE:
        _notice_once("password", t("auth_logged_in"))
        try:
            if st.sidebar.button(t("auth_logout"), key="auth_logout_pw"):
                st.session_state.pop(SESSION_KEY, None)
                st.session_state.pop(USER_KEY, None)
                st.rerun()
        except StreamlitDuplicateElementKey:
            pass
        return STAFF_ROLE
    named = list(accounts) != [""]
    st.title(t("auth_title"))
    with st.form("auth_login_form"):
        user = st.text_input(t("auth_user"), key="auth_username") if named else ""
        password = st.text_input(t("auth_password"), type="password", key="auth_password")
        submitted = st.form_submit_button(t("auth_login"), type="primary", key="auth_submit")
    if submitted:
        name = (user or "").strip()
        stored = accounts.get(name)
        try:
            # The throttle refuses (without hashing) while an account or client is slowed
            # down or locked out; unknown names are checked against a dummy hash: same
            # time, same answer.
            attempt = LOGIN_THROTTLE.attempt(
                name or "staff", client_id(_client_ip()),
                lambda: verify_password(password or "", stored or _DUMMY_HASH)
                and stored is not None)
        except ValueError as exc:
            st.error(str(exc))
            st.stop()
            raise AssertionError("unreachable: st.stop() raises") from None
        if not attempt.checked:
            st.error(t("auth_locked").format(minutes=math.ceil(attempt.retry_after_s / 60))
                     if attempt.locked else
                     t("auth_throttled").format(seconds=math.ceil(attempt.retry_after_s)))
            st.stop()
        ok = attempt.ok
        if ok:
            st.session_state[SESSION_KEY] = STAFF_ROLE
            st.session_state[USER_KEY] = f"local:{name or 'staff'}"
            st.session_state.pop("auth_password", None)
            logger.info("staff password login")  # never the password or a name
            st.rerun()
        logger.warning("failed staff password login")
        st.error(t("auth_wrong_password"))
    st.stop()
    raise AssertionError("unreachable: st.stop() raises")


def _client_ip() -> str | None:
    """The client's IP address as Streamlit sees it (None in tests and without one)."""
    try:
        ip = st.context.ip_address
    except Exception:  # no script run context (AppTest) or an older Streamlit
        return None
    return ip if isinstance(ip, str) else None


#: A valid hash no password matches in practice (for unknown account names).
_DUMMY_HASH = ("scrypt$16384$8$1$00000000000000000000000000000000$"
               "0000000000000000000000000000000000000000000000000000000000000000")


def local_accounts(trygga: Mapping[str, Any]) -> dict[str, str]:
    """Account name → scrypt hash from the ``[trygga]`` secrets (``accounts`` table and/or
    the shared ``password_hash``, which becomes the account ``""``).

    Raises
    ------
    ValueError
        An account name that is not a short plain name.
    """
    out: dict[str, str] = {}
    accounts = trygga.get("accounts")
    if isinstance(accounts, Mapping):
        for name, h in accounts.items():
            if not (isinstance(name, str) and 0 < len(name) <= 64
                    and all(c.isalnum() or c in "._-" for c in name)):
                raise ValueError(f"[trygga.accounts] {name!r} is not a plain account name. "
                                 "Fix: use letters, digits, '.', '_' or '-'")
            out[name] = str(h)
    if trygga.get("password_hash") and not out:
        out[""] = str(trygga["password_hash"])
    return out


def current_user_id() -> str:
    """The pseudonymous id of the logged-in staff member, for the history.

    ``oidc:<subject>`` with OIDC, ``local:<account>`` with a local account, ``demo`` on
    the demo without login.
    """
    try:
        if st.user.is_logged_in:
            sub = st.user.get("sub")
            return f"oidc:{sub}" if sub else "oidc:unknown"
    except Exception:  # no auth configured: st.user has no login state
        pass
    return str(st.session_state.get(USER_KEY) or "demo")


def require_staff() -> str:
    """Let only staff past this point; returns the role (``"staff"``) for the history.

    Call it at the top of every staff page (and in app.py's staff branch). Shows a login
    (OIDC or password) and stops the script until the user is logged in; on the demo
    without secrets it shows the "Demo, ingen inloggning." notice; on real data without
    secrets it refuses with instructions.
    """
    conf = _secrets()
    auth = conf.get("auth")
    if isinstance(auth, Mapping) and auth:
        return _oidc(auth)
    trygga = conf.get("trygga")
    accounts = local_accounts(trygga) if isinstance(trygga, Mapping) else {}
    if accounts:
        return _password(accounts)
    path = profile_path()
    profile = st_profile(str(path), inputs_key(path))
    if profile.demo:
        _notice_once("demo", t("demo_no_login"))
        return STAFF_ROLE
    st.error(t("auth_not_configured"))
    st.stop()
    raise AssertionError("unreachable: st.stop() raises")


def main(argv: list[str] | None = None) -> int:
    """``python -m ui.auth hash``: print a password hash for ``secrets.toml``."""
    args = sys.argv[1:] if argv is None else argv
    if args != ["hash"]:
        print("usage: python -m ui.auth hash", file=sys.stderr)
        return 2
    first = getpass.getpass("Lösenord / password: ")
    second = getpass.getpass("Igen / again: ")
    if first != second:
        print("Lösenorden skiljer sig / the passwords differ", file=sys.stderr)
        return 1
    if len(first) < 12:
        print("Använd minst 12 tecken / use at least 12 characters", file=sys.stderr)
        return 1
    print("[trygga]")
    print(f'password_hash = "{hash_password(first)}"')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
