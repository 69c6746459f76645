"""Throttling failed logins, per account and per client (no Streamlit here).

Every failed login counts against the account name tried *and* the client (IP address)
it came from. After :attr:`ThrottlePolicy.free_failures` failures in a row each further
attempt must wait an exponentially growing delay (1 s, 2 s, 4 s … up to
:attr:`ThrottlePolicy.max_delay_s`); after :attr:`ThrottlePolicy.lockout_failures` the key
is locked for :attr:`ThrottlePolicy.lockout_s`. A success clears both keys. Failures older
than :attr:`ThrottlePolicy.window_s` are forgotten.

A throttled attempt is refused *before* the password is checked, so a flood of guesses
costs no scrypt work, and the delay is not slept on the server (a Streamlit thread stays
free): the caller shows "try again in N s". Failures and lock-outs are logged at WARNING
with hashed keys only (names, e-mail and IP addresses are personal data, never logged).

One process-wide :data:`LOGIN_THROTTLE` is shared by every session (thread-safe). Passwords
themselves are compared in constant time by :func:`ui.auth.verify_password`
(``hmac.compare_digest``); :func:`constant_time_equal` is the same for other secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThrottlePolicy:
    """How failed logins are slowed down and locked out (seconds).

    Attributes
    ----------
    free_failures : int
        Failures in a row without any delay (typos).
    base_delay_s : float
        Delay after the first failure beyond the free ones; doubles with each further one.
    max_delay_s : float
        Longest delay between attempts before the lock-out.
    lockout_failures : int
        Failures in a row that lock the account or client.
    lockout_s : float
        How long a lock-out lasts.
    window_s : float
        Failures older than this (since the last failure) are forgotten.
    max_keys : int
        Most accounts/clients remembered (the oldest are forgotten first), so a flood of
        made-up names cannot fill the memory.
    """

    free_failures: int = 3
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    lockout_failures: int = 10
    lockout_s: float = 900.0
    window_s: float = 900.0
    max_keys: int = 10_000

    def delay_after(self, failures: int) -> float:
        """Seconds to wait after *failures* failures in a row (before the lock-out)."""
        if failures <= self.free_failures:
            return 0.0
        return min(self.base_delay_s * 2 ** (failures - self.free_failures - 1),
                   self.max_delay_s)


@dataclass(frozen=True)
class Attempt:
    """Outcome of :meth:`LoginThrottle.attempt`.

    Attributes
    ----------
    ok : bool
        The password was checked and was right.
    retry_after_s : float
        When not ok: seconds until the next attempt is allowed (0: at once).
    locked : bool
        The account or client is locked out for :attr:`retry_after_s`.
    checked : bool
        The password was checked (False when the attempt was refused unchecked).
    """

    ok: bool
    retry_after_s: float = 0.0
    locked: bool = False
    checked: bool = True


@dataclass
class _Record:
    failures: int = 0
    last_failure: float = 0.0
    blocked_until: float = 0.0
    locked: bool = False


def _label(kind: str, value: str) -> str:
    """``account#1a2b3c4d``: a key for the log that names nobody."""
    return f"{kind}#{hashlib.sha256(value.encode('utf-8')).hexdigest()[:8]}"


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    """Compare two secrets in time independent of where they differ."""
    a_b = a.encode("utf-8") if isinstance(a, str) else a
    b_b = b.encode("utf-8") if isinstance(b, str) else b
    return hmac.compare_digest(a_b, b_b)


class LoginThrottle:
    """Failed-login bookkeeping for accounts and clients; see the module docstring.

    Parameters
    ----------
    policy : ThrottlePolicy, optional
    clock : callable, optional
        Seconds, monotonic (``time.monotonic``); tests pass a fake clock.
    """

    def __init__(self, policy: ThrottlePolicy | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.policy = policy or ThrottlePolicy()
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}

    def _keys(self, account: str, client: str) -> tuple[str, str]:
        return f"account:{account.strip().casefold()}", f"client:{client}"

    def _get(self, key: str, now: float) -> _Record:
        rec = self._records.get(key)
        if rec is not None and now - rec.last_failure > max(self.policy.window_s,
                                                           rec.blocked_until - rec.last_failure):
            del self._records[key]  # forgotten
            rec = None
        return rec or _Record()

    def retry_after(self, account: str, client: str) -> tuple[float, bool]:
        """(seconds until the next attempt is allowed, locked?) for this account/client."""
        now = self._clock()
        with self._lock:
            records = [self._get(k, now) for k in self._keys(account, client)]
        wait, locked = max((r.blocked_until - now, r.locked) for r in records)
        return (max(wait, 0.0), locked and wait > 0)

    def failure(self, account: str, client: str) -> Attempt:
        """Record a failed login; returns how long the next attempt must wait."""
        now = self._clock()
        p = self.policy
        result = Attempt(ok=False)
        with self._lock:
            for key in self._keys(account, client):
                rec = self._get(key, now)
                rec.failures += 1
                rec.last_failure = now
                if rec.failures >= p.lockout_failures:
                    rec.locked, rec.blocked_until = True, now + p.lockout_s
                else:
                    rec.blocked_until = now + p.delay_after(rec.failures)
                self._records.pop(key, None)
                self._records[key] = rec  # most recent last, for the size cap
                wait = rec.blocked_until - now
                if wait > result.retry_after_s:
                    result = Attempt(ok=False, retry_after_s=wait, locked=rec.locked)
            while len(self._records) > p.max_keys:
                del self._records[next(iter(self._records))]
        kind = "locked out" if result.locked else "failed login"
        logger.warning("%s: %s from %s, next attempt allowed in %.0f s", kind,
                       _label("account", account.strip().casefold()),
                       _label("client", client), result.retry_after_s)
        return result

    def success(self, account: str, client: str) -> None:
        """Clear the failures of this account and client after a successful login."""
        with self._lock:
            for key in self._keys(account, client):
                self._records.pop(key, None)

    def attempt(self, account: str, client: str, verify: Callable[[], bool]) -> Attempt:
        """Check a login through the throttle: refuse while throttled (without calling
        *verify*), else call *verify* and record the outcome.

        Parameters
        ----------
        account : str
            The account name tried (``"staff"`` for the one shared password).
        client : str
            Who tries: the client's IP address (:func:`client_id`).
        verify : callable
            Checks the password (e.g. ``lambda: verify_password(pw, stored)``), True when
            right. Called only when the attempt is allowed.
        """
        wait, locked = self.retry_after(account, client)
        if wait > 0:
            logger.warning("refused login attempt while %s: %s from %s (%.0f s left)",
                           "locked out" if locked else "throttled",
                           _label("account", account.strip().casefold()),
                           _label("client", client), wait)
            return Attempt(ok=False, retry_after_s=wait, locked=locked, checked=False)
        if verify():
            self.success(account, client)
            return Attempt(ok=True)
        return self.failure(account, client)


def client_id(ip_address: str | None) -> str:
    """The throttle's client key: the IP address Streamlit reports, or ``"unknown"``."""
    return (ip_address or "").strip() or "unknown"


#: The process-wide throttle of the staff login (every session shares it).
LOGIN_THROTTLE = LoginThrottle()
