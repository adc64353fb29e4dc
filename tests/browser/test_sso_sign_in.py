"""Signing in to the desktop through single sign-on, in Chromium: the sign-in page offers "Sign in with SSO", the
test identity provider (tests/support/oidc_provider.py) asks who you are, and the desktop opens as that agent;
a person Parley cannot place gets a page that says why, with the way back. A signed-in desktop renews its token
before it expires, on its socket and for REST, and signing out ends the provider's session too."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from playwright.async_api import Browser, Page, WebSocket, expect
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant, TaskRouterGrant

from storage.bootstrap import create_account, create_demo_workspace
from tests.browser.support import Demo, open_desktop, screenshot, set_activity, watch_errors, worker_activity
from tests.support.contact_center import ok
from tests.support.oidc_provider import OidcProvider, ProviderUser
from tests.support.sso import SsoApi, sso_api
from tests.support.waiting import eventually

TOKEN_KEY = "parley.agent.token"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider() as idp:
        idp.add_user(ProviderUser(sub="alice-1", email="alice@example.test", name="Alice Example", roles=["agent"]))
        idp.add_user(ProviderUser(sub="eve-1", email="eve@example.test", name="Eve Unknown", roles=["agent"]))
        yield idp


@pytest.fixture(scope="module")
async def sso_demo(parley: Any, db: Any) -> Demo:
    """A demo workspace whose alice carries the email the provider knows her by."""
    async with db.unit() as uow:
        credentials = await create_account(uow, friendly_name="Browser single sign-on")
        workspace = await create_demo_workspace(uow, account_sid=credentials.account_sid)
    demo = Demo(credentials, workspace)
    path = f"/taskrouter/v1/Workspaces/{workspace.workspace_sid}/Workers/{workspace.agents['alice']}"
    async with demo.admin(parley.base_url) as admin:
        alice = await ok(await admin.get(path))
        attributes = json.loads(alice["attributes"]) | {"email": "alice@example.test"}
        await ok(await admin.post(path, data={"Attributes": json.dumps(attributes)}))
    return demo


@pytest.fixture(scope="module")
def sso(parley: Any, provider: OidcProvider, sso_demo: Demo) -> Iterator[SsoApi]:
    with sso_api(parley, provider, workspace_sid=sso_demo.workspace.workspace_sid, client_secret="desk") as api:
        yield api


async def test_an_agent_signs_in_with_sso_and_lands_on_the_desktop_as_itself(browser: Browser, sso: SsoApi) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors = watch_errors(page)
    try:
        await page.goto(f"{sso.base_url}/agent/")
        sso_button = page.get_by_role("button", name="Sign in with SSO")
        await expect(sso_button).to_be_visible()
        await expect(sso_button).to_be_focused()
        await expect(page.get_by_label("Access token")).to_be_visible()  # the token way in stays
        await screenshot(page, "sso-sign-in-page")
        await sso_button.click()

        await expect(page.get_by_role("heading", name="Sign in to the test identity provider")).to_be_visible()
        await page.get_by_label("Alice Example (alice@example.test)").check()
        await page.get_by_role("button", name="Sign in").click()

        await expect(page.locator("#me-name")).to_have_text("alice")
        await expect(page.get_by_role("status").filter(has_text="Online")).to_be_visible()
        await expect(page.get_by_role("heading", name="Incoming")).to_be_visible()
        assert page.url == f"{sso.base_url}/agent/", "the token is taken off the address bar"
        token = await page.evaluate("sessionStorage.getItem('parley.agent.token')")
        assert token and token.count(".") == 2
        await screenshot(page, "sso-signed-in")

        # A reload keeps the session, as with a pasted token.
        await page.reload()
        await expect(page.locator("#me-name")).to_have_text("alice")
        assert errors == []
    finally:
        await context.close()


async def test_a_person_parley_cannot_place_is_told_why_and_can_go_back(browser: Browser, sso: SsoApi) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{sso.base_url}/agent/")
        await page.get_by_role("button", name="Sign in with SSO").click()
        await page.get_by_label("Eve Unknown (eve@example.test)").check()
        await page.get_by_role("button", name="Sign in").click()

        await expect(page.get_by_role("heading", name="You were not signed in")).to_be_visible()
        await expect(page.get_by_role("alert")).to_contain_text("No agent in Parley has the email eve@example.test")
        await screenshot(page, "sso-refused")
        await page.get_by_role("link", name="Back to sign-in").click()
        await expect(page.get_by_role("button", name="Sign in with SSO")).to_be_visible()
        assert await page.evaluate("sessionStorage.getItem('parley.agent.token')") is None
    finally:
        await context.close()


@pytest.fixture(scope="module")
def renewing_sso(parley: Any, provider: OidcProvider, sso_demo: Demo) -> Iterator[SsoApi]:
    """Tokens of a minute (the shortest PARLEY_SSO_TOKEN_TTL), so the desktop renews one within the test."""
    with sso_api(
        parley, provider, workspace_sid=sso_demo.workspace.workspace_sid, client_id="parley-renewing", token_ttl="60"
    ) as api:
        yield api


def expiry_of(token: str) -> int:
    return int(jwt.decode(token, options={"verify_signature": False})["exp"])


async def stored_token(page: Page) -> str:
    token = await page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')")
    assert isinstance(token, str), token
    return token


async def test_the_desktop_renews_its_token_before_it_expires_and_signs_out_at_the_provider(
    browser: Browser, renewing_sso: SsoApi, sso_demo: Demo, provider: OidcProvider
) -> None:
    ws = sso_demo.workspace
    alice = ws.agents["alice"]
    async with sso_demo.admin(renewing_sso.base_url) as admin:
        await set_activity(admin, ws.workspace_sid, alice, ws.offline_activity_sid)
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors = watch_errors(page)
    # What goes over the desktop's sockets, as the server sees it.
    sockets: list[WebSocket] = []
    sent: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []

    def watch(socket: WebSocket) -> None:
        sockets.append(socket)
        socket.on("framesent", lambda payload: sent.append(json.loads(payload)))
        socket.on("framereceived", lambda payload: received.append(json.loads(payload)))

    page.on("websocket", watch)
    try:
        await page.goto(f"{renewing_sso.base_url}/agent/")
        await page.get_by_role("button", name="Sign in with SSO").click()
        await page.get_by_label("Alice Example (alice@example.test)").check()
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#me-name")).to_have_text("alice")
        await expect(page.get_by_role("status").filter(has_text="Online")).to_be_visible()
        first = await stored_token(page)
        first_expiry = expiry_of(first)

        # Half-way through its minute the desktop renews the token and hands the new one to its socket.
        async def renewed() -> str | None:
            token = await stored_token(page)
            return token if expiry_of(token) > first_expiry else None

        second = await eventually(renewed, timeout=60, what="a renewed token in the desktop")

        async def acked() -> dict[str, Any] | None:
            [update] = [f for f in sent if f.get("type") == "update_token" and f.get("token") == second] or [None]
            acks = [f for f in received if update and f.get("id") == update["id"] and f["type"] == "ack"]
            return acks[0] if acks else None

        ack = await eventually(acked, what="update_token with the renewed token, and the server's ack")
        assert ack["expires_at"] == expiry_of(second)

        # Past the first token's expiry the same socket is still open, and REST calls still go through.
        async def first_expired() -> bool:
            return time.time() > first_expiry + 2

        await eventually(first_expired, timeout=70, what="the first token's expiry")
        assert len(sockets) == 1 and not sockets[0].is_closed(), "the socket was never closed or reopened"
        assert not [f for f in received if f.get("code") == 20104], received  # never told its token expired
        await page.get_by_label("Status").select_option(label="Available")
        async with sso_demo.admin(renewing_sso.base_url) as admin:

            async def available() -> bool:
                return await worker_activity(admin, ws.workspace_sid, alice) == "Available"

            await eventually(available, what="alice available, set after the first token expired")
        await expect(page.locator("#banner")).to_be_hidden()  # nothing said the session would end

        # Signing out goes through the provider's logout, which names Alice's sign-in, and back.
        logouts = len(provider.logouts)
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
        await expect(page.locator("#signin-notice")).to_have_text("You have signed out. Your status is now Offline.")
        assert page.url == f"{renewing_sso.base_url}/agent/"
        [logout] = provider.logouts[logouts:]
        assert (logout.client_id, logout.sub) == ("parley-renewing", "alice-1")
        assert await page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") is None
        async with sso_demo.admin(renewing_sso.base_url) as admin:
            assert await worker_activity(admin, ws.workspace_sid, alice) == "Offline"
        assert errors == []
    finally:
        await context.close()


async def test_a_pasted_token_that_cannot_be_renewed_is_announced_before_it_expires(
    browser: Browser, parley: Any, sso_demo: Demo
) -> None:
    c, ws = sso_demo.credentials, sso_demo.workspace
    # A token of 20 s, pasted: the desktop warns half-way through (its `renew_before` is longer than that).
    access = AccessToken(c.account_sid, c.api_key_sid, c.api_key_secret, identity="bob", ttl=20)
    access.add_grant(TaskRouterGrant(workspace_sid=ws.workspace_sid, worker_sid=ws.agents["bob"], role="worker"))
    access.add_grant(ChatGrant())
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await open_desktop(page, parley.base_url, str(access.to_jwt()))
        banner = page.get_by_role("alert").filter(has_text="Your session ends in 1 minute — sign in again.")
        await expect(banner).to_be_visible()
        await screenshot(page, "session-ending")
        # Once it has expired the server closes the socket, and the desktop says the session is over.
        await expect(page.get_by_role("alert").filter(has_text="expired")).to_be_visible(timeout=30_000)
        await page.get_by_role("button", name="Sign in again").click()
        await expect(page.get_by_label("Access token")).to_be_visible()
        assert await page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") is None
    finally:
        await context.close()
