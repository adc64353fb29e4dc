"""Signing in to the desktop through single sign-on, in Chromium: the sign-in page offers "Sign in with SSO", the
test identity provider (tests/support/oidc_provider.py) asks who you are, and the desktop opens as that agent;
a person Parley cannot place gets a page that says why, with the way back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from storage.bootstrap import create_account, create_demo_workspace
from tests.browser.support import Demo, screenshot, watch_errors
from tests.support.contact_center import ok
from tests.support.oidc_provider import OidcProvider, ProviderUser
from tests.support.sso import SsoApi, sso_api


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
