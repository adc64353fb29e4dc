"""Single sign-on for the agent desktop (docs/security/sso.md): OpenID Connect's authorization code flow with PKCE.
`GET /parley/v1/Sso/Config` says whether it is on; `…/Login` sends the browser to the identity provider with the
sign-in's state, nonce and PKCE verifier sealed in a short-lived cookie; `…/Callback` takes it back, verifies who
it is and hands the desktop an access token in the URL fragment, which browsers never send to a server. These
are browser pages, not API operations, so the OpenAPI document leaves them out."""

from __future__ import annotations

import html
import logging
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from api.deps import DbDep, SettingsDep
from api.sso import DESKTOP_PATH, LOGIN_PATH, PREFIX, relying_party, sign_in
from core.keys import KeyPurpose, keyring_for
from core.oidc import ATTEMPT_TTL, LoginAttempt, OidcError, RelyingParty
from core.settings import Settings
from domain.errors import ParleyError

log = logging.getLogger(__name__)

router = APIRouter(prefix=PREFIX, tags=["Parley: single sign-on"], include_in_schema=False)

COOKIE = "parley_sso"
_PROVIDER_ERRORS = {
    "access_denied": "You cancelled the sign-in at your identity provider.",
    "login_required": "Your identity provider needs you to sign in there first.",
    "consent_required": "Your identity provider needs your consent before Parley may sign you in.",
    "interaction_required": "Your identity provider needs you to sign in there first.",
}


class SsoConfig(BaseModel):
    enabled: bool
    login_url: str | None = None


@router.get("/Config", response_model=SsoConfig)
async def sso_config(settings: SettingsDep) -> SsoConfig:
    """Public: whether the desktop's sign-in page offers "Sign in with SSO", and where it goes."""
    return SsoConfig(enabled=settings.sso_enabled, login_url=LOGIN_PATH if settings.sso_enabled else None)


@router.get("/Login")
async def login(request: Request, settings: SettingsDep) -> Response:
    if not settings.sso_enabled:
        return _page(404, "Single sign-on is off", "This Parley has no identity provider set up.")
    attempt = LoginAttempt.new()
    try:
        url = await _relying_party(request, settings).authorization_url(attempt)
    except OidcError as exc:
        log.warning("single sign-on could not start: %s", exc.detail)
        return _refused(exc)
    ring = keyring_for(settings)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        COOKIE,
        attempt.seal(key_id=ring.active, key=ring.derived(KeyPurpose.SSO_STATE)),
        max_age=ATTEMPT_TTL,
        path=PREFIX,
        secure=settings.base_url.startswith("https://"),
        httponly=True,
        # Lax: the provider's redirect back is a top-level GET from another site, which Lax lets through.
        samesite="lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/Callback")
async def callback(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
    iss: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    response: Response
    try:
        if not settings.sso_enabled:
            raise OidcError("This Parley has no identity provider set up.", status=404)
        attempt = _attempt(request, settings)
        attempt.check_state(state)
        if error:
            message = _PROVIDER_ERRORS.get(error, f"Your identity provider refused the sign-in ({error[:64]}).")
            raise OidcError(message, status=403, detail=f"provider answered {error[:64]!r}")
        if not code:
            raise OidcError("The identity provider sent no authorization code.", detail="no code in the callback")
        claims = await _relying_party(request, settings).redeem(code, attempt, iss=iss)
        session = await sign_in(db, settings, claims)
    except OidcError as exc:
        log.warning("single sign-on refused (%s): %s", exc.status, exc.detail)
        response = _refused(exc)
    except ParleyError as exc:
        log.warning("single sign-on failed: %s", exc)
        response = _page(500, "You were not signed in", "Parley could not sign you in. Please tell your administrator.")
    else:
        # A fragment never reaches a server (no access log, no Referer); the desktop takes it off the address bar.
        response = RedirectResponse(f"{DESKTOP_PATH}#{urlencode({'token': session.token})}", status_code=303)
    # One sign-in, one callback: the attempt is spent whatever the outcome.
    response.delete_cookie(
        COOKIE, path=PREFIX, secure=settings.base_url.startswith("https://"), httponly=True, samesite="lax"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _attempt(request: Request, settings: Settings) -> LoginAttempt:
    sealed = request.cookies.get(COOKIE)
    if not sealed:
        raise OidcError(
            "This sign-in has expired or was started in another browser. Please sign in again.",
            detail="no sign-in cookie",
        )
    ring = keyring_for(settings)
    return LoginAttempt.unseal(sealed, key_for=lambda key_id: ring.derived(KeyPurpose.SSO_STATE, key_id))


def _relying_party(request: Request, settings: Settings) -> RelyingParty:
    """One per app, made on first use: it caches the provider's discovery document and signing keys."""
    party: RelyingParty | None = getattr(request.app.state, "sso", None)
    if party is None:
        party = request.app.state.sso = relying_party(settings)
    return party


def _refused(exc: OidcError) -> HTMLResponse:
    return _page(exc.status, "You were not signed in", exc.message)


def _page(status: int, title: str, message: str) -> HTMLResponse:
    """A page in the desktop's look that says what went wrong, with the way back to the sign-in page."""
    body = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{html.escape(title)} · Parley</title>
  <link rel="stylesheet" href="{DESKTOP_PATH}agent.css">
</head>
<body>
  <main class="signin">
    <section class="signin__card" aria-labelledby="sso-title">
      <h1 id="sso-title">{html.escape(title)}</h1>
      <p id="sso-message" role="alert">{html.escape(message)}</p>
      <p><a class="button" href="{DESKTOP_PATH}">Back to sign-in</a></p>
    </section>
  </main>
</body>
</html>
"""
    return HTMLResponse(body, status_code=status)
