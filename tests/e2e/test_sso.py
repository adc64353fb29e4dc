"""Single sign-on to the desktop (docs/security/sso.md), end to end over HTTP with redirects followed by hand: an
api configured for a real OpenID provider on loopback (tests/support/oidc_provider.py), the authorization code
flow with PKCE, and the access token it mints, used on REST and the WebSocket. Every refusal renders a page that
says why, and mints nothing. Sign-ins and refusals are in the audit log; the token is renewed in the browser that
signed in while the person still maps to its worker; signing out ends the provider's session too."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from storage.accounts.service import create_account
from storage.bootstrap import Credentials
from tests.support.contact_center import ok
from tests.support.oidc_provider import OidcProvider, ProviderUser
from tests.support.realtime import RealtimeClient
from tests.support.sso import CLIENT_ID, SsoApi, sso_api

CLIENT_SECRET = "s3cret/with:odd+chars"
LOGIN = "/parley/v1/Sso/Login"
REFRESH = "/parley/v1/Sso/Refresh"
LOGOUT = "/parley/v1/Sso/Logout"
COOKIE = "parley_sso"
SESSION_COOKIE = "parley_sso_session"
AUDIT = "/parley/v1/AuditEvents"


@dataclass
class Center:
    credentials: Credentials
    workspace_sid: str
    workers: dict[str, str]  # friendly name -> sid

    def path(self, suffix: str) -> str:
        return f"/taskrouter/v1/Workspaces/{self.workspace_sid}{suffix}"


WORKERS = {
    # The worker's email differs in case from the provider's: emails match ignoring case.
    "ann": {"email": "Ann.Agent@example.com", "contact_uri": "client:ann", "full_name": "Ann Agent"},
    "bob": {"email": "bob@example.com", "contact_uri": "client:bob", "full_name": "Bob"},
    "twin-1": {"email": "twin@example.com"},
    "twin-2": {"email": "twin@example.com"},
}
USERS = [
    ProviderUser(sub="u-ann", email="ann.agent@example.com", name="Ann Agent", roles=["agent"]),
    ProviderUser(sub="u-sue", email="sue@example.com", name="Sue Supervisor", roles=["supervisor"]),
    ProviderUser(sub="u-nobody", email="nobody@example.com", name="No Body", roles=["agent"]),
    ProviderUser(sub="u-norole", email="bob@example.com", name="Bob Without Role", roles=["sales"]),
    ProviderUser(
        sub="u-unverified", email="bob@example.com", name="Bob?", roles=["agent"], extra={"email_verified": False}
    ),
    ProviderUser(sub="u-twin", email="twin@example.com", name="Twin", roles=["agent"]),
    ProviderUser(sub="u-new", email="new.agent@example.com", name="New Agent", roles=["agent"]),
    # Her worker is made (and changed, and deleted) by the renewal test alone.
    ProviderUser(sub="u-dee", email="dee@example.com", name="Dee", roles=["agent"]),
]


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider() as idp:
        for user in USERS:
            idp.add_user(user)
        yield idp


@pytest.fixture(scope="module")
async def center(parley: Any, db: Any) -> Center:
    async with db.unit() as uow:
        credentials = await create_account(uow, friendly_name="Single sign-on")
    async with httpx.AsyncClient(
        base_url=parley.base_url, auth=(credentials.account_sid, credentials.auth_token), timeout=30
    ) as admin:
        workspace = await ok(await admin.post("/taskrouter/v1/Workspaces", data={"FriendlyName": "SSO"}), 201)
        workers = {}
        for name, attributes in WORKERS.items():
            created = await admin.post(
                f"/taskrouter/v1/Workspaces/{workspace['sid']}/Workers",
                data={"FriendlyName": name, "Attributes": json.dumps(attributes)},
            )
            workers[name] = (await ok(created, 201))["sid"]
    return Center(credentials=credentials, workspace_sid=workspace["sid"], workers=workers)


@pytest.fixture(scope="module")
def sso(parley: Any, provider: OidcProvider, center: Center) -> Iterator[SsoApi]:
    """A confidential client (client_secret_basic); the public-client case has its own api below."""
    with sso_api(parley, provider, workspace_sid=center.workspace_sid, client_secret=CLIENT_SECRET) as api:
        yield api


class Browser:
    """One browser: its own cookies, every redirect followed by hand so each hop can be looked at."""

    def __init__(self, api: SsoApi, provider: OidcProvider) -> None:
        self.api = api
        self.provider = provider
        self.http = httpx.AsyncClient(timeout=30)

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def start(self) -> str:
        """Opens the login route; returns where it sends the browser (the provider's authorization URL)."""
        response = await self.http.get(f"{self.api.base_url}{LOGIN}")
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        assert location.startswith(f"{self.provider.issuer}/authorize?"), location
        return location

    async def at_provider(self, authorize_url: str, sub: str | None, *, cancel: bool = False) -> str:
        """Signs in as `sub` on the provider's page (or cancels); returns the redirect back to Parley."""
        page = await self.http.get(authorize_url)
        assert page.status_code == 200, page.text
        request_id = re.search(r'name="request" value="([^"]+)"', page.text)
        assert request_id, page.text
        form = {"request": request_id.group(1), "action": "cancel" if cancel else "sign_in"}
        if sub:
            form["user"] = sub
        answer = await self.http.post(f"{self.provider.issuer}/authorize", data=form)
        assert answer.status_code == 302, answer.text
        callback: str = answer.headers["location"]
        assert callback.startswith(f"{self.api.base_url}/parley/v1/Sso/Callback?"), callback
        return callback

    async def back(self, callback_url: str, **headers: str) -> httpx.Response:
        return await self.http.get(callback_url, headers=headers)

    async def sign_in(self, sub: str) -> httpx.Response:
        return await self.back(await self.at_provider(await self.start(), sub))


def token_of(response: httpx.Response) -> str:
    """The access token the callback hands the desktop: in the fragment of a redirect to /agent/."""
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path, location.query) == ("", "", "/agent/", ""), location
    assert response.headers["cache-control"] == "no-store"
    [token] = parse_qs(location.fragment)["token"]
    return token


def refused(response: httpx.Response, status: int, says: str) -> None:
    """A page that says why, no redirect, no token, and the sign-in cookie spent."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers
    assert says in response.text, response.text
    assert "You were not signed in" in response.text
    assert 'href="/agent/"' in response.text
    assert re.search(rf"{COOKIE}=\"?\"?;", response.headers.get("set-cookie", "")), response.headers
    assert not re.search(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+", response.text)


def grants_of(token: str) -> dict[str, Any]:
    grants: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})["grants"]
    return grants


def with_param(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | params
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_sso_config_is_public_and_says_whether_sso_is_on(sso: SsoApi, parley: Any) -> None:
    async with httpx.AsyncClient() as http:
        on = await http.get(f"{sso.base_url}/parley/v1/Sso/Config")
        off = await http.get(f"{parley.base_url}/parley/v1/Sso/Config")
        login_off = await http.get(f"{parley.base_url}{LOGIN}")
    assert on.json() == {
        "enabled": True,
        "login_url": LOGIN,
        "refresh_url": REFRESH,
        "logout_url": LOGOUT,
        "renew_before": 300,
    }
    assert off.json() == {
        "enabled": False,
        "login_url": None,
        "refresh_url": None,
        "logout_url": None,
        "renew_before": 300,
    }
    assert login_off.status_code == 404 and "Single sign-on is off" in login_off.text


async def test_login_asks_for_a_code_with_pkce_s256_and_a_nonce_in_a_sealed_httponly_cookie(
    sso: SsoApi, provider: OidcProvider
) -> None:
    async with Browser(sso, provider) as browser:
        response = await browser.http.get(f"{sso.base_url}{LOGIN}")
    assert response.status_code == 303 and response.headers["cache-control"] == "no-store"
    query = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"{sso.base_url}/parley/v1/Sso/Callback"
    assert set(query["scope"].split()) == {"openid", "email", "profile"}
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32 and query["state"] != query["nonce"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=lax", "Path=/parley/v1/Sso", "Max-Age=600"):
        assert attribute.lower() in cookie.lower(), cookie
    # Sealed, not merely signed: neither the state, the nonce nor the verifier can be read from it.
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    for secret in (query["state"], query["nonce"]):
        assert secret not in value and secret not in base64.urlsafe_b64decode(value.split(".")[1] + "==").decode(
            "latin-1"
        )


async def test_an_agent_signs_in_and_its_token_acts_as_its_worker_on_rest_and_websocket(
    sso: SsoApi, provider: OidcProvider, center: Center
) -> None:
    requests_before = len(provider.token_requests)
    async with Browser(sso, provider) as browser:
        callback = await browser.at_provider(await browser.start(), "u-ann")
        assert browser.http.cookies.get(COOKIE)
        response = await browser.back(callback)
        token = token_of(response)
        assert not browser.http.cookies.get(COOKIE), "the sign-in cookie is spent"
    # Parley redeemed the code as a confidential client, with the PKCE verifier the provider checked.
    [sent] = provider.token_requests[requests_before:]
    assert sent["grant_type"] == "authorization_code" and len(sent["code_verifier"]) >= 43
    assert sent["authorization"].startswith("Basic ") and "client_secret" not in sent

    ann = center.workers["ann"]
    assert grants_of(token) == {
        "identity": "ann",
        "task_router": {"workspace_sid": center.workspace_sid, "worker_sid": ann, "role": "worker"},
        "chat": {"service_sid": grants_of(token)["chat"]["service_sid"]},
        "sso": {"sub": "u-ann"},  # marks it renewable (POST /parley/v1/Sso/Refresh)
    }
    async with httpx.AsyncClient(base_url=sso.base_url, headers={"X-Twilio-Token": token}) as rest:
        me = await ok(await rest.get(center.path(f"/Workers/{ann}")))
        assert me["friendly_name"] == "ann"
        offline = next(
            a["sid"]
            for a in (await ok(await rest.get(center.path("/Activities"))))["activities"]
            if a["friendly_name"] == "Offline"
        )
        await ok(await rest.post(center.path(f"/Workers/{ann}"), data={"ActivitySid": offline}))
        other = await rest.post(center.path(f"/Workers/{center.workers['bob']}"), data={"ActivitySid": offline})
        assert other.status_code == 403, other.text
        assert (await rest.post("/taskrouter/v1/Workspaces", data={"FriendlyName": "x"})).status_code == 403
    async with RealtimeClient(sso.base_url, token) as socket:
        ready = socket.frames[0]
        assert (ready["type"], ready["identity"], ready["role"], ready["worker_sid"]) == ("ready", "ann", "agent", ann)
        await socket.subscribe(ann)
        frame_id = await socket.send({"type": "subscribe", "stream": center.workers["bob"], "after": 0})
        answer = await socket.wait_for(lambda f: f.get("id") == frame_id)
        assert answer["type"] == "error", answer
    assert token not in sso.process.log_path.read_text(errors="replace")


async def test_a_supervisor_claim_gets_a_supervisor_token_for_the_workspace(
    sso: SsoApi, provider: OidcProvider, center: Center
) -> None:
    async with Browser(sso, provider) as browser:
        token = token_of(await browser.sign_in("u-sue"))
    grants = grants_of(token)
    assert grants["identity"] == "sue@example.com"
    assert grants["task_router"] == {"workspace_sid": center.workspace_sid, "worker_sid": None, "role": "supervisor"}
    async with httpx.AsyncClient(base_url=sso.base_url, headers={"X-Twilio-Token": token}) as rest:
        workers = await ok(await rest.get(center.path("/Workers?PageSize=50")))
        assert {w["friendly_name"] for w in workers["workers"]} >= {"ann", "bob"}
        assert (await rest.get(center.path("/RealTimeStatistics"))).status_code == 200
    async with RealtimeClient(sso.base_url, token) as socket:
        assert socket.frames[0]["role"] == "supervisor"


async def test_a_callback_whose_state_is_not_this_browsers_is_refused_before_the_code_is_redeemed(
    sso: SsoApi, provider: OidcProvider
) -> None:
    async with Browser(sso, provider) as browser:
        callback = await browser.at_provider(await browser.start(), "u-ann")
        requests_before = len(provider.token_requests)
        refused(await browser.back(with_param(callback, state="forged-state")), 400, "does not belong to the sign-in")
        assert len(provider.token_requests) == requests_before


async def test_a_callback_in_a_browser_that_started_no_sign_in_is_refused(sso: SsoApi, provider: OidcProvider) -> None:
    async with Browser(sso, provider) as victim, Browser(sso, provider) as attacker:
        # Login CSRF: the attacker's own code, fed to another browser, signs nobody in there.
        callback = await attacker.at_provider(await attacker.start(), "u-ann")
        refused(await victim.back(callback), 400, "has expired or was started in another browser")
        refused(await victim.back(callback, cookie=f"{COOKIE}=dev.AAAA"), 400, "has expired")


async def test_a_replayed_code_is_refused(sso: SsoApi, provider: OidcProvider) -> None:
    async with Browser(sso, provider) as browser:
        callback = await browser.at_provider(await browser.start(), "u-ann")
        cookie = browser.http.cookies[COOKIE]
        token_of(await browser.back(callback))
        # The same answer again, even with the sign-in cookie kept from before: the code is spent.
        refused(await browser.back(callback, cookie=f"{COOKIE}={cookie}"), 400, "may have been used already")


def _tamper_payload(token: str) -> str:
    """Changes the signed claims (to Bob's email) and keeps the signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["email"] = "bob@example.com"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


FOREIGN_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda idp, claims: _tamper_payload(idp.sign(claims)), id="claims-changed-after-signing"),
        pytest.param(lambda idp, claims: idp.sign(claims, key=FOREIGN_KEY), id="signed-by-another-key"),
        pytest.param(lambda idp, claims: idp.sign({**claims, "aud": "someone-else"}), id="for-another-client"),
        pytest.param(lambda idp, claims: idp.sign({**claims, "iss": "http://127.0.0.1:1"}), id="another-issuer"),
        pytest.param(lambda idp, claims: idp.sign({**claims, "exp": claims["iat"] - 3600}), id="expired"),
        pytest.param(
            lambda idp, claims: jwt.encode(claims, "", algorithm="none", headers={"kid": idp.kid}), id="unsigned"
        ),
        pytest.param(
            lambda idp, claims: jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": idp.kid}),
            id="hs256",
        ),
        pytest.param(lambda idp, claims: idp.sign({k: v for k, v in claims.items() if k != "nonce"}), id="no-nonce"),
    ],
)
async def test_an_id_token_that_fails_verification_is_refused(sso: SsoApi, provider: OidcProvider, forge: Any) -> None:
    async with Browser(sso, provider) as browser:
        callback = await browser.at_provider(await browser.start(), "u-ann")
        with provider.reshaping(lambda claims: forge(provider, claims)):
            refused(await browser.back(callback), 400, "could not be verified")


async def test_an_id_token_for_another_sign_ins_nonce_is_refused(sso: SsoApi, provider: OidcProvider) -> None:
    async with Browser(sso, provider) as browser:
        authorize = await browser.start()
        # The provider is asked (by someone else's sign-in) with another nonce: its ID token carries that one.
        callback = await browser.at_provider(with_param(authorize, nonce="an-injected-nonce-" + "x" * 20), "u-ann")
        refused(await browser.back(callback), 400, "could not be verified")


@pytest.mark.parametrize(
    ("sub", "says"),
    [
        ("u-nobody", "No agent in Parley has the email nobody@example.com"),
        ("u-norole", "has no Parley role"),
        ("u-unverified", "is not verified"),
        ("u-twin", "More than one agent in Parley has the email twin@example.com"),
    ],
)
async def test_a_person_parley_cannot_place_is_refused_and_nothing_is_created(
    sso: SsoApi, provider: OidcProvider, center: Center, sub: str, says: str
) -> None:
    async with Browser(sso, provider) as browser:
        refused(await browser.sign_in(sub), 403, says)
    c = center.credentials
    async with httpx.AsyncClient(base_url=sso.base_url, auth=(c.account_sid, c.auth_token)) as admin:
        workers = await ok(await admin.get(center.path("/Workers?PageSize=50")))
    assert len(workers["workers"]) == len(WORKERS)


async def test_cancelling_at_the_provider_says_so_and_signs_nobody_in(sso: SsoApi, provider: OidcProvider) -> None:
    async with Browser(sso, provider) as browser:
        callback = await browser.at_provider(await browser.start(), None, cancel=True)
        assert "error=access_denied" in callback
        refused(await browser.back(callback), 403, "You cancelled the sign-in")


@pytest.fixture
async def creating_api(parley: Any, provider: OidcProvider, center: Center) -> AsyncIterator[SsoApi]:
    """A public client (PKCE alone, no secret) whose unknown agents get a worker."""
    with sso_api(
        parley, provider, workspace_sid=center.workspace_sid, client_id="parley-public", create_workers="true"
    ) as api:
        yield api


async def test_with_worker_creation_on_a_new_agent_gets_a_worker_named_by_its_email(
    creating_api: SsoApi, provider: OidcProvider, center: Center
) -> None:
    requests_before = len(provider.token_requests)
    async with Browser(creating_api, provider) as browser:
        token = token_of(await browser.sign_in("u-new"))
    [sent] = provider.token_requests[requests_before:]
    assert sent["client_id"] == "parley-public" and "authorization" not in sent and "client_secret" not in sent
    grants = grants_of(token)
    assert grants["identity"] == "new.agent@example.com" and grants["task_router"]["role"] == "worker"
    c = center.credentials
    async with httpx.AsyncClient(base_url=creating_api.base_url, auth=(c.account_sid, c.auth_token)) as admin:
        worker = await ok(await admin.get(center.path(f"/Workers/{grants['task_router']['worker_sid']}")))
        assert worker["friendly_name"] == "new.agent@example.com"
        assert json.loads(worker["attributes"]) == {
            "email": "new.agent@example.com",
            "full_name": "New Agent",
            "contact_uri": "client:new.agent@example.com",
            "roles": ["agent"],
        }
        # Signing in again finds that worker instead of making another.
        async with Browser(creating_api, provider) as browser:
            again = grants_of(token_of(await browser.sign_in("u-new")))
        assert again["task_router"]["worker_sid"] == worker["sid"]
        await ok(await admin.delete(center.path(f"/Workers/{worker['sid']}")), 204)


# --- the audit log ---------------------------------------------------------------------------------------


async def audit_events(api: SsoApi, center: Center, *, action: str) -> list[dict[str, Any]]:
    """The single sign-on account's audit events of one action, newest first (raw JSON too, to search it)."""
    c = center.credentials
    async with httpx.AsyncClient(base_url=api.base_url, auth=(c.account_sid, c.auth_token)) as admin:
        listing = await ok(await admin.get(AUDIT, params={"PageSize": "1000"}))
    return [event for event in listing["audit_events"] if event["action"] == action]


def carries_no_token(event: dict[str, Any], *tokens: str) -> None:
    text = json.dumps(event)
    for token in tokens:
        assert token not in text
    assert not re.search(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+", text), event


async def test_a_sign_in_is_in_the_audit_log_with_who_and_from_where_and_no_token(
    sso: SsoApi, provider: OidcProvider, center: Center
) -> None:
    before = {e["sid"] for e in await audit_events(sso, center, action="sso.sign_in")}
    async with Browser(sso, provider) as browser:
        callback = await browser.at_provider(await browser.start(), "u-ann")
        token = token_of(await browser.back(callback))
    [event] = [e for e in await audit_events(sso, center, action="sso.sign_in") if e["sid"] not in before]
    ann = center.workers["ann"]
    assert event == {
        **event,
        "account_sid": center.credentials.account_sid,
        "credential_sid": center.credentials.api_key_sid,  # the key that signed the token
        "role": "agent",
        "identity": "ann.agent@example.com",  # as the provider vouched for it
        "subject": "u-ann",
        "worker_sid": ann,
        "resource_sid": ann,
        "reason": None,
        "method": "GET",
        "path_template": "/parley/v1/Sso/Callback",
        "path": "/parley/v1/Sso/Callback",  # never the query: it carries the authorization code
        "status_code": 303,
        "client_ip": "127.0.0.1",
    }
    assert event["user_agent"].startswith("python-httpx/")
    carries_no_token(event, token, parse_qs(urlsplit(callback).query)["code"][0])
    # A supervisor's sign-in names its role, and no worker.
    async with Browser(sso, provider) as browser:
        token_of(await browser.sign_in("u-sue"))
    sue = (await audit_events(sso, center, action="sso.sign_in"))[0]
    assert (sue["role"], sue["identity"], sue["worker_sid"]) == ("supervisor", "sue@example.com", None)


async def test_a_refused_sign_in_is_in_the_audit_log_with_why_and_from_where(
    sso: SsoApi, provider: OidcProvider, center: Center
) -> None:
    before = {e["sid"] for e in await audit_events(sso, center, action="sso.sign_in_refused")}
    async with Browser(sso, provider) as browser:
        refused(await browser.sign_in("u-nobody"), 403, "No agent in Parley has the email nobody@example.com")
        callback = await browser.at_provider(await browser.start(), None, cancel=True)
        refused(await browser.back(callback), 403, "You cancelled")
        # Not a sign-in this browser started (no sign-in cookie): the api's log says it, the audit log does not.
        refused(await browser.back(callback), 400, "has expired or was started in another browser")
    cancelled, nobody = [
        e for e in await audit_events(sso, center, action="sso.sign_in_refused") if e["sid"] not in before
    ]
    assert nobody == {
        **nobody,
        "account_sid": center.credentials.account_sid,
        "credential_sid": None,  # nothing was minted
        "role": "agent",
        "identity": "nobody@example.com",
        "subject": "u-nobody",
        "worker_sid": None,
        "reason": "unknown identity",
        "method": "GET",
        "path": "/parley/v1/Sso/Callback",
        "status_code": 403,
        "client_ip": "127.0.0.1",
    }
    # The provider's answer named nobody: who was refused is unknown, why is not.
    assert (cancelled["identity"], cancelled["subject"], cancelled["role"]) == (None, None, None)
    assert cancelled["reason"] == "provider answered 'access_denied'" and cancelled["status_code"] == 403
    for event in (nobody, cancelled):
        carries_no_token(event)


async def test_an_id_token_that_fails_verification_is_audited_without_naming_anyone(
    sso: SsoApi, provider: OidcProvider, center: Center
) -> None:
    before = {e["sid"] for e in await audit_events(sso, center, action="sso.sign_in_refused")}
    async with Browser(sso, provider) as browser:
        callback = await browser.at_provider(await browser.start(), "u-ann")
        with provider.reshaping(lambda claims: provider.sign(claims, key=FOREIGN_KEY)):
            refused(await browser.back(callback), 400, "could not be verified")
    [event] = [e for e in await audit_events(sso, center, action="sso.sign_in_refused") if e["sid"] not in before]
    assert event["identity"] is None and event["subject"] is None
    assert event["reason"].startswith("ID token refused") and event["status_code"] == 400
    carries_no_token(event)


# --- renewing the token ----------------------------------------------------------------------------------


async def renew(browser: Browser, token: str) -> httpx.Response:
    return await browser.http.post(f"{browser.api.base_url}{REFRESH}", data={"Token": token})


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def test_the_desktop_renews_its_token_in_the_browser_that_signed_in(
    sso: SsoApi, provider: OidcProvider, center: Center
) -> None:
    async with Browser(sso, provider) as browser:
        response = await browser.sign_in("u-ann")
        token = token_of(response)
        session_cookie = response.headers.get_list("set-cookie")
        [sealed] = [c for c in session_cookie if c.startswith(f"{SESSION_COOKIE}=")]
        for attribute in ("HttpOnly", "SameSite=lax", "Path=/parley/v1/Sso", "Max-Age=43200"):
            assert attribute.lower() in sealed.lower(), sealed
        assert "u-ann" not in sealed and "example.com" not in sealed and "eyJ" not in sealed, "it is sealed"

        async with RealtimeClient(sso.base_url, token) as socket:
            answer = await renew(browser, token)
            assert answer.status_code == 200, answer.text
            assert answer.headers["cache-control"] == "no-store"
            renewed = answer.json()
            assert 3590 <= renewed["expires_in"] <= 3600
            # The same person and grants, for another hour.
            assert grants_of(renewed["token"]) == grants_of(token)
            assert claims_of(renewed["token"])["exp"] >= claims_of(token)["exp"]
            # The socket takes it (update_token) and stays open; REST takes it too.
            frame_id = await socket.send({"type": "update_token", "token": renewed["token"]})
            ack = await socket.wait_for(lambda f: f.get("id") == frame_id)
            assert ack["type"] == "ack" and ack["expires_at"] == claims_of(renewed["token"])["exp"], ack
        ann = center.workers["ann"]
        async with httpx.AsyncClient(base_url=sso.base_url, headers={"X-Twilio-Token": renewed["token"]}) as rest:
            assert (await ok(await rest.get(center.path(f"/Workers/{ann}"))))["sid"] == ann
    assert renewed["token"] not in sso.process.log_path.read_text(errors="replace")


async def test_a_token_expired_a_moment_ago_is_still_renewed_but_not_one_long_gone(
    sso: SsoApi, provider: OidcProvider, center: Center
) -> None:
    async with Browser(sso, provider) as browser:
        token = token_of(await browser.sign_in("u-ann"))
        claims = claims_of(token)
        key = center.credentials.api_key_secret

        def expired(seconds_ago: int) -> str:
            exp = int(claims["exp"]) - 3600 - seconds_ago  # a token of the same layout that expired then
            changed = {**claims, "nbf": exp - 3600, "exp": exp}
            return jwt.encode(changed, key, algorithm="HS256", headers={"cty": "twilio-fpa;v=1"})

        answer = await renew(browser, expired(30))
        assert answer.status_code == 200, answer.text
        assert (await renew(browser, expired(600))).status_code == 401


async def test_a_renewal_is_refused_without_the_browsers_session_or_for_a_token_sso_did_not_mint(
    sso: SsoApi, provider: OidcProvider, center: Center
) -> None:
    before = {e["sid"] for e in await audit_events(sso, center, action="sso.refresh_refused")}
    c = center.credentials
    ann = center.workers["ann"]
    async with Browser(sso, provider) as ann_browser, Browser(sso, provider) as elsewhere:
        token = token_of(await ann_browser.sign_in("u-ann"))
        # A token copied elsewhere (a log, another machine) is not renewed there: the session cookie is not.
        answer = await renew(elsewhere, token)
        assert answer.status_code == 403 and "has ended in this browser" in answer.json()["message"], answer.text
        # Another person's session in the browser does not renew Ann's token.
        token_of(await elsewhere.sign_in("u-sue"))
        answer = await renew(elsewhere, token)
        assert answer.status_code == 403 and "another person" in answer.json()["message"], answer.text
        # A token an admin minted for the same worker is not single sign-on's to renew.
        async with httpx.AsyncClient(base_url=sso.base_url, auth=(c.account_sid, c.auth_token)) as admin:
            minted = await ok(
                await admin.post("/parley/v1/Tokens", data={"WorkspaceSid": center.workspace_sid, "WorkerSid": ann}),
                201,
            )
        answer = await renew(ann_browser, minted["token"])
        assert answer.status_code == 403 and "Only a token from single sign-on" in answer.json()["message"]
        # Not a token at all, or a forged one: 401, and no event (nobody to name).
        assert (await renew(ann_browser, "not-a-token")).status_code == 401
        assert (await renew(ann_browser, _tamper_payload(token))).status_code == 401
    events = [e for e in await audit_events(sso, center, action="sso.refresh_refused") if e["sid"] not in before]
    assert [e["reason"] for e in events] == [
        "not a single sign-on token",
        "the session cookie is subject 'u-sue''s, the token subject 'u-ann''s",
        "no session cookie, or it has ended or cannot be opened",
    ]
    for event in events:
        assert (event["worker_sid"], event["role"], event["status_code"]) == (ann, "agent", 403)
        assert event["method"] == "POST" and event["path"] == REFRESH
        carries_no_token(event, token, minted["token"])


async def test_a_renewal_checks_that_the_person_still_maps_to_the_tokens_worker_and_role(
    sso: SsoApi, provider: OidcProvider, center: Center
) -> None:
    c = center.credentials
    async with httpx.AsyncClient(base_url=sso.base_url, auth=(c.account_sid, c.auth_token)) as admin:
        attributes = {"email": "dee@example.com", "contact_uri": "client:dee", "roles": ["agent"]}
        dee = await ok(
            await admin.post(
                center.path("/Workers"), data={"FriendlyName": "dee", "Attributes": json.dumps(attributes)}
            ),
            201,
        )
        worker = center.path(f"/Workers/{dee['sid']}")
        try:
            async with Browser(sso, provider) as browser:
                token = token_of(await browser.sign_in("u-dee"))
                assert (await renew(browser, token)).status_code == 200
                refusals = []
                # The worker no longer carries her email: she is somebody else now.
                changed = {**attributes, "email": "someone.else@example.com"}
                await ok(await admin.post(worker, data={"Attributes": json.dumps(changed)}))
                refusals.append(await renew(browser, token))
                # Her worker's Flex roles no longer make her an agent.
                demoted = {**attributes, "roles": ["supervisor"]}
                await ok(await admin.post(worker, data={"Attributes": json.dumps(demoted)}))
                refusals.append(await renew(browser, token))
                for answer, says in zip(refusals, ["removed or changed", "role in Parley has changed"], strict=True):
                    assert answer.status_code == 403 and says in answer.json()["message"], answer.text
                # Deleted, her worker is gone: her token is no longer good for anything (401; 403 while the
                # api still remembers the worker, for up to 30 s), a renewal included.
                await ok(await admin.post(worker, data={"Attributes": json.dumps(attributes)}))
                assert (await renew(browser, token)).status_code == 200
                await ok(await admin.delete(worker), 204)
                assert (await renew(browser, token)).status_code in (401, 403)
        finally:
            await admin.delete(worker)
    events = [e for e in await audit_events(sso, center, action="sso.refresh_refused") if e["worker_sid"] == dee["sid"]]
    reasons = [e["reason"] for e in reversed(events)]  # oldest first
    assert reasons[0].startswith(f"worker {dee['sid']} is deleted or not the one worker with email=dee@example.com")
    assert "roles ['supervisor'] no longer include agent" in reasons[1]
    assert {e["identity"] for e in events} == {"dee@example.com"} and len(events) in (2, 3)


# --- signing out -----------------------------------------------------------------------------------------


async def test_signing_out_ends_the_session_here_and_at_the_provider(sso: SsoApi, provider: OidcProvider) -> None:
    async with Browser(sso, provider) as browser:
        token = token_of(await browser.sign_in("u-ann"))
        response = await browser.http.get(f"{sso.base_url}{LOGOUT}")
        assert response.status_code == 303 and response.headers["cache-control"] == "no-store"
        location = urlsplit(response.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == f"{provider.issuer}/logout"
        query = {k: v[0] for k, v in parse_qs(location.query).items()}
        assert query["client_id"] == CLIENT_ID
        assert query["post_logout_redirect_uri"] == f"{sso.base_url}/agent/"
        # The hint is the ID token of this sign-in, which Parley kept sealed in the session cookie.
        hint = jwt.decode(query["id_token_hint"], provider.key.public_key(), algorithms=["RS256"], audience=CLIENT_ID)
        assert hint["sub"] == "u-ann"
        assert re.search(rf"{SESSION_COOKIE}=\"?\"?;", response.headers["set-cookie"]), response.headers
        assert not browser.http.cookies.get(SESSION_COOKIE)
        back = await browser.http.get(response.headers["location"])
        assert back.status_code == 302 and back.headers["location"] == f"{sso.base_url}/agent/"
        assert provider.logouts[-1].sub == "u-ann" and provider.logouts[-1].client_id == CLIENT_ID
        # Signed out, the token is renewed no more.
        answer = await renew(browser, token)
        assert answer.status_code == 403 and "has ended in this browser" in answer.json()["message"]


async def test_signing_out_without_a_session_still_ends_the_providers_and_without_sso_just_goes_back(
    sso: SsoApi, provider: OidcProvider, parley: Any
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{sso.base_url}{LOGOUT}")
        off = await http.get(f"{parley.base_url}{LOGOUT}")
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert response.status_code == 303 and "id_token_hint" not in query and query["client_id"] == [CLIENT_ID]
    assert off.status_code == 303 and off.headers["location"] == "/agent/"
