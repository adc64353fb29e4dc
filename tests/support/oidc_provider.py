"""A small but real OpenID provider for the single sign-on tests, served on loopback from a thread: discovery, a
JWKS with its RSA key, /authorize with a sign-in page (pick an account, or cancel), /token that checks the
client, the redirect URI, the code (usable once, for a minute) and the PKCE verifier (S256), RS256 ID tokens
that carry the request's nonce, and /logout (RP-Initiated Logout 1.0) that checks the ID token hint and the
return address and sends the browser back. A test can make it answer like a forger would (`reshape_id_token`)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CODE_TTL = 60
ID_TOKEN_TTL = 300
_VERIFIER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@dataclass
class ProviderUser:
    """An account at the provider; `claims` go into its ID tokens beside the standard ones."""

    sub: str
    email: str
    name: str
    roles: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def claims(self, scopes: set[str]) -> dict[str, Any]:
        claims: dict[str, Any] = {"roles": self.roles}
        if "email" in scopes:
            claims |= {"email": self.email, "email_verified": True}
        if "profile" in scopes:
            claims["name"] = self.name
        return claims | self.extra


@dataclass
class ProviderClient:
    """A relying party registered at the provider; no secret makes it a public client (PKCE alone)."""

    client_id: str
    redirect_uris: list[str]
    client_secret: str | None = None
    post_logout_redirect_uris: list[str] = field(default_factory=list)


@dataclass
class Logout:
    """A logout the provider carried out: the client, and whose session the ID token hint named (if any)."""

    client_id: str
    sub: str | None
    post_logout_redirect_uri: str


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    user: ProviderUser
    scopes: set[str]
    nonce: str | None
    code_challenge: str
    expires_at: float
    used: bool = False


class OidcProvider:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"test-{secrets.token_hex(4)}"
        self.users: dict[str, ProviderUser] = {}
        self.clients: dict[str, ProviderClient] = {}
        # Given the claims the provider would sign, returns the ID token to send instead (None: behave).
        self.reshape_id_token: Callable[[dict[str, Any]], str] | None = None
        # Every token request as received (form fields, and `authorization` if a Basic header came).
        self.token_requests: list[dict[str, str]] = []
        self.logouts: list[Logout] = []
        self._pending: dict[str, dict[str, str]] = {}
        self._codes: dict[str, _Code] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-provider", daemon=True)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_user(self, user: ProviderUser) -> ProviderUser:
        self.users[user.sub] = user
        return user

    def register_client(self, client: ProviderClient) -> None:
        self.clients[client.client_id] = client

    def sign(self, claims: dict[str, Any], *, key: rsa.RSAPrivateKey | None = None) -> str:
        """`claims` as an RS256 JWT with this provider's `kid`, signed by its key (or by `key`)."""
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    def __enter__(self) -> OidcProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    @contextmanager
    def reshaping(self, reshape: Callable[[dict[str, Any]], str]) -> Iterator[None]:
        self.reshape_id_token = reshape
        try:
            yield
        finally:
            self.reshape_id_token = None

    # --- the endpoints -------------------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "claims_supported": ["sub", "email", "email_verified", "name", "roles"],
        }

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        client = self.clients.get(query.get("client_id", ""))
        redirect_uri = query.get("redirect_uri", "")
        if client is None or redirect_uri not in client.redirect_uris:
            # Never redirect to a URI the client did not register (RFC 6749 §4.1.2.1).
            return 400, {}, _page("Unknown client", "<p>The client or its redirect URI is not registered.</p>")
        state = query.get("state")

        def back(**params: str) -> tuple[int, dict[str, str], str]:
            return 302, {"Location": _with_query(redirect_uri, {**params, **({"state": state} if state else {})})}, ""

        if query.get("response_type") != "code":
            return back(error="unsupported_response_type")
        if "openid" not in query.get("scope", "").split():
            return back(error="invalid_scope", error_description="openid is required")
        if not query.get("code_challenge") or query.get("code_challenge_method") != "S256":
            return back(error="invalid_request", error_description="PKCE with S256 is required")
        request_id = secrets.token_urlsafe(16)
        with self._lock:
            self._pending[request_id] = dict(query)
        choices = "".join(
            f'<label><input type="radio" name="user" value="{html.escape(u.sub)}" required> '
            f"{html.escape(u.name)} ({html.escape(u.email)})</label><br>"
            for u in self.users.values()
        )
        form = (
            f"<p>{html.escape(client.client_id)} asks you to sign in.</p>"
            '<form method="post" action="/authorize">'
            f'<input type="hidden" name="request" value="{request_id}">'
            f"<fieldset><legend>Choose an account</legend>{choices}</fieldset>"
            '<button type="submit" name="action" value="sign_in">Sign in</button> '
            '<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>'
            "</form>"
        )
        return 200, {}, _page("Sign in to the test identity provider", form)

    def decide(self, form: dict[str, str]) -> tuple[int, dict[str, str], str]:
        with self._lock:
            query = self._pending.pop(form.get("request", ""), None)
        if query is None:
            return 400, {}, _page("Unknown request", "<p>This sign-in request is unknown or already answered.</p>")
        redirect_uri, state = query["redirect_uri"], query.get("state")
        extra = {"state": state} if state else {}
        user = self.users.get(form.get("user", ""))
        if form.get("action") == "cancel" or user is None:
            return 302, {"Location": _with_query(redirect_uri, {"error": "access_denied", **extra})}, ""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                client_id=query["client_id"],
                redirect_uri=redirect_uri,
                user=user,
                scopes=set(query.get("scope", "").split()),
                nonce=query.get("nonce"),
                code_challenge=query["code_challenge"],
                expires_at=time.time() + CODE_TTL,
            )
        return 302, {"Location": _with_query(redirect_uri, {"code": code, **extra})}, ""

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        self.token_requests.append({**form, **({"authorization": authorization} if authorization else {})})
        client = self._authenticate(form, authorization)
        if client is None:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            grant = self._codes.get(form.get("code", ""))
            reused = grant is not None and grant.used
            if grant is not None:
                grant.used = True  # one use, whatever happens next
        if grant is None or reused or grant.expires_at < time.time():
            return 400, {"error": "invalid_grant", "error_description": "unknown, used or expired code"}
        if grant.client_id != client.client_id or grant.redirect_uri != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "code issued to another client or URI"}
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or not set(verifier) <= _VERIFIER_CHARS:
            return 400, {"error": "invalid_grant", "error_description": "malformed code_verifier"}
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not secrets.compare_digest(challenge, grant.code_challenge):
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": grant.user.sub,
            "aud": client.client_id,
            "iat": now,
            "exp": now + ID_TOKEN_TTL,
            "auth_time": now,
            **({"nonce": grant.nonce} if grant.nonce else {}),
            **grant.user.claims(grant.scopes),
        }
        id_token = self.reshape_id_token(claims) if self.reshape_id_token else self.sign(claims)
        return 200, {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": ID_TOKEN_TTL,
            "scope": " ".join(sorted(grant.scopes)),
            "id_token": id_token,
        }

    def logout(self, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        """RP-Initiated Logout 1.0: an `id_token_hint` must be one of this provider's ID tokens for the client
        (expired ones too); the return address must be registered for that client."""
        client_id, sub = query.get("client_id"), None
        hint = query.get("id_token_hint")
        if hint:
            try:
                claims = jwt.decode(
                    hint,
                    self.key.public_key(),
                    algorithms=["RS256"],
                    audience=client_id or None,
                    issuer=self.issuer,
                    options={"verify_exp": False, "verify_aud": bool(client_id)},
                )
            except jwt.PyJWTError as exc:
                return (
                    400,
                    {},
                    _page("Bad logout request", f"<p>The ID token hint is not valid: {html.escape(str(exc))}</p>"),
                )
            sub, client_id = str(claims["sub"]), client_id or str(claims["aud"])
        client = self.clients.get(client_id or "")
        back = query.get("post_logout_redirect_uri")
        if client is None or (back is not None and back not in client.post_logout_redirect_uris):
            return 400, {}, _page("Bad logout request", "<p>Unknown client or unregistered return address.</p>")
        with self._lock:
            self.logouts.append(Logout(client_id=client.client_id, sub=sub, post_logout_redirect_uri=back or ""))
        if back is None:
            return 200, {}, _page("You have signed out", "<p>You have signed out of the test identity provider.</p>")
        state = query.get("state")
        return 302, {"Location": _with_query(back, {"state": state}) if state else back}, ""

    def _authenticate(self, form: dict[str, str], authorization: str | None) -> ProviderClient | None:
        """client_secret_basic, client_secret_post, or none (a public client)."""
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
            except ValueError:
                return None
            client_id, _, secret = (unquote(part) for part in decoded.partition(":"))
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        client = self.clients.get(client_id)
        if client is None:
            return None
        if client.client_secret is None:
            return client if not secret else None
        return client if secret and secrets.compare_digest(secret, client.client_secret) else None


def _with_query(uri: str, params: dict[str, str]) -> str:
    return f"{uri}{'&' if urlsplit(uri).query else '?'}{urlencode(params)}"


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _handler_for(provider: OidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/.well-known/openid-configuration":
                self._json(200, provider.discovery())
            elif url.path == "/jwks":
                self._json(200, provider.jwks())
            elif url.path == "/authorize":
                self._answer(*provider.authorize(dict(parse_qsl(url.query))))
            elif url.path == "/logout":
                self._answer(*provider.logout(dict(parse_qsl(url.query))))
            else:
                self._answer(404, {}, _page("Not found", ""))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            path = urlsplit(self.path).path
            if path == "/authorize":
                self._answer(*provider.decide(form))
            elif path == "/token":
                self._json(*provider.token(form, self.headers.get("Authorization")))
            else:
                self._answer(404, {}, _page("Not found", ""))

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._send(status, {"Content-Type": "application/json", "Cache-Control": "no-store"}, json.dumps(body))

        def _answer(self, status: int, headers: dict[str, str], body: str) -> None:
            self._send(status, {"Content-Type": "text/html; charset=utf-8", **headers}, body)

        def _send(self, status: int, headers: dict[str, str], body: str) -> None:
            data = body.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest shows failures, not every request

    return Handler
