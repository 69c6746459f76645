"""A stand-in OpenID Connect provider on loopback, for the staff login tests.

It speaks the authorization-code flow as a kommun's identity provider does: discovery
(``/.well-known/openid-configuration``), ``/authorize`` (no login form: it answers at once
for the configured user), ``/token`` (checks the client secret, the redirect URI and the
PKCE verifier, and returns an RS256-signed ID token with the nonce), ``/jwks`` and
``/userinfo``. Every request is recorded for the assertions.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey


@dataclass
class OIDCProvider:
    """The running provider: its base URL, the user it logs in, what it saw."""

    client_id: str = "trygga"
    client_secret: str = "hemligt-klient-secret-42"
    sub: str = "a1b2c3-handläggare"
    email: str = "handlaggare@stromstad.example"
    base: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _codes: dict[str, dict[str, str]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})

    # ------------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        b = self.base
        return {"issuer": b, "authorization_endpoint": f"{b}/authorize",
                "token_endpoint": f"{b}/token", "jwks_uri": f"{b}/jwks",
                "userinfo_endpoint": f"{b}/userinfo", "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                          "client_secret_post"]}

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {"iss": self.base, "sub": self.sub, "aud": self.client_id, "iat": now,
                  "exp": now + 300, "nonce": nonce, "email": self.email,
                  "name": "Anna Handläggare"}
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)

    def start(self) -> OIDCProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                provider.requests.append(("GET", url.path))
                if url.path == "/.well-known/openid-configuration":
                    self._json(200, provider.metadata())
                elif url.path == "/jwks":
                    self._json(200, {"keys": [provider.key.as_dict(private=False)]})
                elif url.path == "/authorize":
                    if q.get("client_id") != provider.client_id or "state" not in q:
                        self._json(400, {"error": "invalid_request"})
                        return
                    code = secrets.token_urlsafe(16)
                    provider._codes[code] = q
                    back = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"
                    self.send_response(302)
                    self.send_header("Location", back)
                    self.end_headers()
                elif url.path == "/userinfo":
                    self._json(200, {"sub": provider.sub, "email": provider.email})
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                url = urlparse(self.path)
                provider.requests.append(("POST", url.path))
                n = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(n).decode()).items()}
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    cid, _, sec = base64.b64decode(auth[6:]).decode().partition(":")
                    from urllib.parse import unquote_plus

                    form.setdefault("client_id", unquote_plus(cid))
                    form.setdefault("client_secret", unquote_plus(sec))
                provider.token_requests.append(form)
                if url.path != "/token":
                    self._json(404, {"error": "not_found"})
                    return
                asked = provider._codes.pop(form.get("code", ""), None)
                if (asked is None or form.get("client_id") != provider.client_id
                        or form.get("client_secret") != provider.client_secret
                        or form.get("redirect_uri") != asked.get("redirect_uri")):
                    self._json(400, {"error": "invalid_grant"})
                    return
                challenge = asked.get("code_challenge")
                if challenge is not None:
                    verifier = form.get("code_verifier", "")
                    digest = base64.urlsafe_b64encode(
                        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                    if digest != challenge:
                        self._json(400, {"error": "invalid_grant", "error_description": "pkce"})
                        return
                self._json(200, {"access_token": secrets.token_urlsafe(24),
                                 "token_type": "Bearer", "expires_in": 300,
                                 "id_token": provider.id_token(asked.get("nonce", ""))})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
