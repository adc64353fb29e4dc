"""Single sign-on for the agent desktop (docs/security/sso.md): OpenID Connect's authorization code flow with PKCE.
`GET /parley/v1/Sso/Config` says whether it is on; `…/Login` sends the browser to the identity provider with the
sign-in's state, nonce and PKCE verifier sealed in a short-lived cookie; `…/Callback` takes it back, verifies who
it is, leaves the sealed session cookie and hands the desktop an access token in the URL fragment, which browsers
never send to a server. `POST …/Refresh` renews that token while the session lasts; `…/Logout` ends the session,
at the identity provider too. These are the desktop's own pages and calls (the renewal needs the browser's
session cookie), not API operations, so the OpenAPI document leaves them out."""

from __future__ import annotations

import html
import logging
import time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from api.auth import Authenticator
from api.deps import DbDep, SettingsDep
from api.sso import (
    DESKTOP_PATH,
    LOGIN_PATH,
    LOGOUT_PATH,
    PREFIX,
    REFRESH_GRACE,
    REFRESH_PATH,
    RENEW_BEFORE,
    Origin,
    RefreshRefused,
    SsoSession,
    audit_refusal,
    audit_role,
    audit_sign_in,
    email_of,
    refresh,
    relying_party,
    role_of,
    sign_in,
    sso_subject,
)
from api.throttle import client_ip
from core.keys import KeyPurpose, keyring_for
from core.oidc import ATTEMPT_TTL, IdToken, LoginAttempt, OidcError, RelyingParty
from core.settings import Settings
from domain.errors import NotFound, ParleyError, PermissionDenied
from storage.audit.service import AuditAction
from storage.db import Database

log = logging.getLogger(__name__)

router = APIRouter(prefix=PREFIX, tags=["Parley: single sign-on"], include_in_schema=False)

COOKIE = "parley_sso"  # one sign-in's state, nonce and PKCE verifier, from Login to Callback
SESSION_COOKIE = "parley_sso_session"  # the signed-in person, from Callback to Logout (SsoSession)
_PROVIDER_ERRORS = {
    "access_denied": "You cancelled the sign-in at your identity provider.",
    "login_required": "Your identity provider needs you to sign in there first.",
    "consent_required": "Your identity provider needs your consent before Parley may sign you in.",
    "interaction_required": "Your identity provider needs you to sign in there first.",
}


class SsoConfig(BaseModel):
    enabled: bool
    login_url: str | None = None
    refresh_url: str | None = None
    logout_url: str | None = None
    # Seconds before a token expires that the desktop renews it, or warns that it cannot be.
    renew_before: int = RENEW_BEFORE


class RenewedToken(BaseModel):
    token: str
    expires_in: int


@router.get("/Config", response_model=SsoConfig)
async def sso_config(settings: SettingsDep) -> SsoConfig:
    """Public: whether the desktop's sign-in page offers "Sign in with SSO", where it goes, and how the desktop
    keeps a session going."""
    if not settings.sso_enabled:
        return SsoConfig(enabled=False)
    return SsoConfig(enabled=True, login_url=LOGIN_PATH, refresh_url=REFRESH_PATH, logout_url=LOGOUT_PATH)


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
    sealed = attempt.seal(key_id=ring.active, key=ring.derived(KeyPurpose.SSO_STATE))
    _set_cookie(response, settings, COOKIE, sealed, max_age=ATTEMPT_TTL)
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
    origin = _origin(request)
    attempt: LoginAttempt | None = None
    verified: IdToken | None = None
    try:
        if not settings.sso_enabled:
            raise OidcError("This Parley has no identity provider set up.", status=404)
        attempt = _attempt(request, settings)
        attempt.check_state(state)
    except OidcError as exc:
        # Not a sign-in this browser started (no or a stale sign-in cookie, another sign-in's answer): nobody to
        # name, and anyone can send it, so the api's log says it, not the audit log.
        log.warning("single sign-on refused (%s): %s", exc.status, exc.detail)
        attempt = None
        response = _refused(exc)
    if attempt is not None:
        try:
            if error:
                message = _PROVIDER_ERRORS.get(error, f"Your identity provider refused the sign-in ({error[:64]}).")
                raise OidcError(message, status=403, detail=f"provider answered {error[:64]!r}")
            if not code:
                raise OidcError("The identity provider sent no authorization code.", detail="no code in the callback")
            verified = await _relying_party(request, settings).redeem(code, attempt, iss=iss)
            session = await sign_in(db, settings, verified.claims)
        except OidcError as exc:
            log.warning("single sign-on refused (%s): %s", exc.status, exc.detail)
            await _audit_refused_sign_in(db, settings, origin, verified, status=exc.status, reason=exc.detail)
            response = _refused(exc)
        except ParleyError as exc:
            log.warning("single sign-on failed: %s", exc)
            await _audit_refused_sign_in(db, settings, origin, verified, status=500, reason=str(exc))
            response = _page(
                500, "You were not signed in", "Parley could not sign you in. Please tell your administrator."
            )
        else:
            # A fragment never reaches a server (no access log, no Referer); the desktop takes it off the address bar.
            response = RedirectResponse(f"{DESKTOP_PATH}#{urlencode({'token': session.token})}", status_code=303)
            assert verified is not None
            signed_in = SsoSession.starting(
                settings, subject=session.subject, email=session.email, id_token=verified.raw
            )
            ring = keyring_for(settings)
            _set_cookie(
                response,
                settings,
                SESSION_COOKIE,
                signed_in.seal(key_id=ring.active, key=ring.derived(KeyPurpose.SSO_STATE)),
                max_age=settings.sso_session_lifetime,
            )
            await audit_sign_in(db, origin, session, status=response.status_code)
    # One sign-in, one callback: the attempt is spent whatever the outcome.
    response.delete_cookie(
        COOKIE, path=PREFIX, secure=settings.base_url.startswith("https://"), httponly=True, samesite="lax"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def _audit_refused_sign_in(
    db: Database, settings: Settings, origin: Origin, verified: IdToken | None, *, status: int, reason: str
) -> None:
    """Who was refused, as far as the provider vouched for it (nobody, if its answer did not verify)."""
    claims = verified.claims if verified else {}
    role = role_of(claims, settings) if verified else None
    await audit_refusal(
        db,
        settings,
        origin,
        AuditAction.SSO_SIGN_IN_REFUSED,
        status=status,
        reason=reason,
        identity=email_of(claims, settings),
        subject=str(claims["sub"]) if "sub" in claims else None,
        role=None if role is None else audit_role(role),
    )


@router.post("/Refresh", response_model=RenewedToken)
async def refresh_token(
    request: Request,
    response: Response,
    db: DbDep,
    settings: SettingsDep,
    token: Annotated[str, Form(alias="Token", min_length=1, max_length=8192)],
) -> RenewedToken:
    """A new access token for the desktop's single sign-on token (current, or expired less than REFRESH_GRACE
    seconds ago), in the browser that signed in (its session cookie): 401 for a token that is not genuine, 403
    (and an audit event) when the person must sign in again."""
    if not settings.sso_enabled:
        raise NotFound("This Parley has no identity provider set up.")
    authenticator: Authenticator = request.app.state.authenticator
    principal = await authenticator.token(token, leeway=REFRESH_GRACE)
    subject = sso_subject(token)
    session = _session(request, settings)
    try:
        renewed = await refresh(db, settings, principal, subject=subject, session=session)
    except RefreshRefused as exc:
        log.warning("single sign-on renewal refused for %s: %s", principal.identity, exc.reason)
        await audit_refusal(
            db,
            settings,
            _origin(request),
            AuditAction.SSO_REFRESH_REFUSED,
            status=PermissionDenied.status,
            reason=exc.reason,
            account_sid=principal.account_sid,
            credential_sid=principal.credential_sid,
            role=principal.role,
            identity=session.email if session else principal.identity,
            worker_sid=principal.worker_sid,
            subject=subject,
        )
        raise PermissionDenied(exc.message) from None
    response.headers["Cache-Control"] = "no-store"
    return RenewedToken(token=renewed.token, expires_in=max(0, renewed.expires_at - int(time.time())))


@router.get("/Logout")
async def logout(request: Request, settings: SettingsDep) -> Response:
    """Ends the browser's single sign-on: the session cookie goes, and the browser is sent to the provider's
    logout (RP-Initiated Logout 1.0) when it offers one, which sends it back to the desktop's sign-in page."""
    back = settings.sso_post_logout_redirect_url or f"{settings.base_url}{DESKTOP_PATH}"
    target = DESKTOP_PATH
    if settings.sso_enabled:
        session = _session(request, settings)
        try:
            url = await _relying_party(request, settings).logout_url(
                post_logout_redirect_uri=back, id_token_hint=session.id_token if session else None
            )
        except OidcError as exc:
            log.warning("single sign-on logout at the provider skipped: %s", exc.detail)
            url = None
        # No logout at the provider (none offered, or unreachable): the desktop says the provider's session stays.
        target = url or f"{DESKTOP_PATH}#{urlencode({'sso_logout': 'incomplete'})}"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path=PREFIX, secure=settings.base_url.startswith("https://"), httponly=True, samesite="lax"
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


def _session(request: Request, settings: Settings) -> SsoSession | None:
    sealed = request.cookies.get(SESSION_COOKIE)
    if not sealed:
        return None
    ring = keyring_for(settings)
    return SsoSession.unseal(sealed, key_for=lambda key_id: ring.derived(KeyPurpose.SSO_STATE, key_id))


def _set_cookie(response: Response, settings: Settings, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        secure=settings.base_url.startswith("https://"),
        httponly=True,
        # Lax: the provider's redirect back is a top-level GET from another site, which Lax lets through.
        samesite="lax",
    )


def _origin(request: Request) -> Origin:
    """The route (never its query: a callback's carries the authorization code) and where the request came from."""
    return Origin(
        method=request.method,
        path=request.url.path,
        client_ip=client_ip(request) if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


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
