"""The OpenID Connect relying party behind the desktop's single sign-on (docs/security/sso.md): discovery, the
authorization request (state, nonce, PKCE S256), the code exchange, and the ID token checked against the
provider's JWKS, and the provider's logout (RP-Initiated Logout 1.0). No web framework and no storage here:
api/routes/sso.py drives it, api/sso.py maps the verified claims to a worker."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

ID_TOKEN_ALGORITHMS = ["RS256"]
DISCOVERY_TTL = 3600.0  # seconds a provider's discovery document is reused
JWKS_TTL = 300  # seconds its signing keys are reused (an unknown `kid` refetches them sooner)
HTTP_TIMEOUT = 10.0
CLOCK_SKEW = 60  # seconds of leeway on `exp` and `iat`
ATTEMPT_TTL = 600  # seconds from the authorization request to the callback
_ATTEMPT_AAD = b"parley/sso-attempt"


class OidcError(Exception):
    """A sign-in that cannot go on: `message` is for the person signing in, `detail` only for the log."""

    def __init__(self, message: str, *, status: int = 400, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail or message


def seal(payload: dict[str, Any], *, aad: bytes, key_id: str, key: bytes) -> str:
    """`payload` (JSON) sealed with AES-256-GCM as `key_id.base64url(nonce ‖ ciphertext)`: what Parley hands a
    browser to keep (a cookie) and only Parley can read. `aad` names the purpose, so one kind of sealed value
    never opens as another."""
    plain = json.dumps(payload, separators=(",", ":")).encode()
    iv = secrets.token_bytes(12)
    sealed = iv + AESGCM(key).encrypt(iv, plain, aad + key_id.encode())
    return f"{key_id}.{base64.urlsafe_b64encode(sealed).rstrip(b'=').decode('ascii')}"


def unseal(sealed: str, *, aad: bytes, key_for: Callable[[str], bytes]) -> dict[str, Any]:
    """The payload `seal` sealed; `key_for(key_id)` gives the key (KeyError if unknown). ValueError when it is
    malformed, forged, sealed for another purpose or under an unknown key."""
    key_id, _, encoded = sealed.partition(".")
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        payload = json.loads(AESGCM(key_for(key_id)).decrypt(raw[:12], raw[12:], aad + key_id.encode()))
    except (KeyError, ValueError, TypeError, InvalidTag, binascii.Error):
        raise ValueError("not a sealed value of this purpose") from None
    if not isinstance(payload, dict):
        raise ValueError("not a sealed value of this purpose")
    return payload


@dataclass(frozen=True)
class LoginAttempt:
    """What one sign-in carries from the authorization request to the callback, and nowhere else: the
    `state` the callback must echo, the `nonce` the ID token must carry, and the PKCE verifier."""

    state: str
    nonce: str
    code_verifier: str
    expires_at: int

    @classmethod
    def new(cls, *, now: float | None = None) -> LoginAttempt:
        return cls(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(64),  # 86 characters: RFC 7636 wants 43 to 128
            expires_at=int(now if now is not None else time.time()) + ATTEMPT_TTL,
        )

    @property
    def code_challenge(self) -> str:
        """S256: base64url(SHA-256(verifier)), unpadded."""
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def seal(self, *, key_id: str, key: bytes) -> str:
        """Sealed (`seal`): the browser keeps it, but can neither read nor change it (the verifier stays secret
        from anything that sees the redirect to the provider)."""
        payload = {"s": self.state, "n": self.nonce, "v": self.code_verifier, "e": self.expires_at}
        return seal(payload, aad=_ATTEMPT_AAD, key_id=key_id, key=key)

    @classmethod
    def unseal(cls, sealed: str, *, key_for: Callable[[str], bytes], now: float | None = None) -> LoginAttempt:
        """The attempt sealed by `seal`; `key_for(key_id)` gives the key (KeyError if unknown). Raises
        OidcError when it is malformed, forged, sealed under an unknown key, or expired."""
        expired = OidcError("This sign-in has expired or was started in another browser. Please sign in again.")
        try:
            fields = unseal(sealed, aad=_ATTEMPT_AAD, key_for=key_for)
            attempt = cls(
                state=str(fields["s"]),
                nonce=str(fields["n"]),
                code_verifier=str(fields["v"]),
                expires_at=int(fields["e"]),
            )
        except (KeyError, ValueError, TypeError):
            raise expired from None
        if attempt.expires_at < (now if now is not None else time.time()):
            raise expired
        return attempt

    def check_state(self, state: str | None) -> None:
        if not state or not hmac.compare_digest(state.encode(), self.state.encode()):
            raise OidcError(
                "This sign-in answer does not belong to the sign-in this browser started. Please sign in again.",
                detail="state mismatch",
            )


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the provider's discovery document a code flow needs."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_endpoint_auth_methods: tuple[str, ...]
    # RP-Initiated Logout 1.0: where signing out of Parley ends the provider's session too (None: not offered).
    end_session_endpoint: str | None = None

    @classmethod
    def parse(cls, document: Any, *, expected_issuer: str) -> ProviderMetadata:
        if not isinstance(document, dict):
            raise ValueError("the discovery document is not a JSON object")
        for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(name), str) or not document[name]:
                raise ValueError(f"the discovery document has no {name}")
        # OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
        if document["issuer"].rstrip("/") != expected_issuer.rstrip("/"):
            raise ValueError(f"the discovery document names issuer {document['issuer']!r}")
        methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        end_session = document.get("end_session_endpoint")
        return cls(
            issuer=document["issuer"],
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            jwks_uri=document["jwks_uri"],
            token_endpoint_auth_methods=tuple(str(m) for m in methods),
            end_session_endpoint=end_session if isinstance(end_session, str) and end_session else None,
        )


@dataclass(frozen=True)
class IdToken:
    """A verified ID token: its claims, and the token itself (the `id_token_hint` of a later logout)."""

    claims: dict[str, Any]
    raw: str


class RelyingParty:
    """One OpenID provider and Parley's client registration at it."""

    def __init__(
        self, *, issuer: str, client_id: str, client_secret: str | None, redirect_uri: str, scopes: str
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret or None
        self.redirect_uri = redirect_uri
        self.scopes = scopes if "openid" in scopes.split() else f"openid {scopes}".strip()
        self._metadata: ProviderMetadata | None = None
        self._fetched_at = 0.0
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = asyncio.Lock()

    async def metadata(self) -> ProviderMetadata:
        async with self._lock:
            if self._metadata is None or time.monotonic() - self._fetched_at > DISCOVERY_TTL:
                url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
                try:
                    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
                        response = await http.get(url, headers={"Accept": "application/json"})
                    response.raise_for_status()
                    metadata = ProviderMetadata.parse(response.json(), expected_issuer=self.issuer)
                except (httpx.HTTPError, ValueError) as exc:
                    raise _unreachable(f"discovery at {url} failed: {exc}") from None
                if self._metadata is None or metadata.jwks_uri != self._metadata.jwks_uri:
                    self._jwks = jwt.PyJWKClient(metadata.jwks_uri, lifespan=JWKS_TTL, timeout=HTTP_TIMEOUT)
                self._metadata, self._fetched_at = metadata, time.monotonic()
            return self._metadata

    async def authorization_url(self, attempt: LoginAttempt) -> str:
        metadata = await self.metadata()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.scopes,
                "state": attempt.state,
                "nonce": attempt.nonce,
                "code_challenge": attempt.code_challenge,
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        return f"{metadata.authorization_endpoint}{separator}{query}"

    async def redeem(self, code: str, attempt: LoginAttempt, *, iss: str | None = None) -> IdToken:
        """The verified ID token the provider gives for `code`. `iss` is the callback's issuer parameter
        (RFC 9207), if the provider sends one: an answer from another provider is refused."""
        metadata = await self.metadata()
        if iss is not None and iss != metadata.issuer:
            raise OidcError(
                "This sign-in answer came from another identity provider, so you were not signed in.",
                detail=f"callback iss {iss!r} is not {metadata.issuer!r}",
            )
        id_token = await self._exchange(metadata, code, attempt)
        return IdToken(claims=await self._verify(metadata, id_token, attempt), raw=id_token)

    async def logout_url(self, *, post_logout_redirect_uri: str, id_token_hint: str | None = None) -> str | None:
        """Where to send the browser to end its session at the provider (OpenID Connect RP-Initiated Logout
        1.0), with the ID token of the sign-in as `id_token_hint` when there is one, and always `client_id`
        (so a provider can check the return address without a hint); None if the provider offers no logout."""
        metadata = await self.metadata()
        if metadata.end_session_endpoint is None:
            return None
        params = {"client_id": self.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token_hint:
            params = {"id_token_hint": id_token_hint, **params}
        separator = "&" if "?" in metadata.end_session_endpoint else "?"
        return f"{metadata.end_session_endpoint}{separator}{urlencode(params)}"

    async def _exchange(self, metadata: ProviderMetadata, code: str, attempt: LoginAttempt) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": attempt.code_verifier,
        }
        headers = {"Accept": "application/json"}
        if self.client_secret is None:
            form["client_id"] = self.client_id  # a public client names itself (RFC 6749 §4.1.3)
        elif "client_secret_basic" in metadata.token_endpoint_auth_methods:
            # RFC 6749 §2.3.1: both parts form-encoded before they are joined.
            pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            form |= {"client_id": self.client_id, "client_secret": self.client_secret}
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
                response = await http.post(metadata.token_endpoint, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise _unreachable(f"token endpoint: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 500 or not isinstance(body, dict):
            raise _unreachable(f"token endpoint answered {response.status_code}")
        if response.status_code != 200:
            error = str(body.get("error") or response.status_code)
            raise OidcError(
                "The identity provider did not accept this sign-in (it may have been used already or have "
                "expired). Please sign in again.",
                detail=f"token endpoint refused the code: {error}",
            )
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("The identity provider sent no ID token.", status=502, detail="no id_token in the answer")
        return id_token

    async def _verify(self, metadata: ProviderMetadata, id_token: str, attempt: LoginAttempt) -> dict[str, Any]:
        refused = "The identity provider's answer could not be verified, so you were not signed in."
        jwks = self._jwks
        assert jwks is not None  # set with the metadata
        try:
            key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, id_token)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=ID_TOKEN_ALGORITHMS,
                audience=self.client_id,
                issuer=metadata.issuer,
                leeway=CLOCK_SKEW,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise _unreachable(f"JWKS: {exc}") from None
        except jwt.PyJWTError as exc:
            raise OidcError(refused, detail=f"ID token refused: {exc}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp = claims.get("azp")
        if (len(audiences) > 1 or azp is not None) and azp != self.client_id:
            raise OidcError(refused, detail=f"ID token authorized party is {azp!r}")
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(), attempt.nonce.encode()):
            raise OidcError(refused, detail="ID token nonce does not match this sign-in")
        return claims


def _unreachable(detail: str) -> OidcError:
    return OidcError(
        "The identity provider could not be reached. Please try again in a moment.", status=502, detail=detail
    )
