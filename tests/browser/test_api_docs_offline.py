"""/docs and /redoc in Debian's Chromium with every request off the loopback address aborted, as on a machine
with no internet: Swagger UI renders the operations and an Authorize button that works, and ReDoc renders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from storage.bootstrap import Credentials

# What a page may still try to fetch from elsewhere without needing it: ReDoc's "API docs by Redocly" logo, an
# <img> that hides itself when it fails to load. Anything else (a script, a stylesheet, a font) is a failure.
TOLERATED_OFFSITE = {("image", "cdn.redoc.ly")}


class Offline:
    """A browser context whose every request to a host other than 127.0.0.1 is aborted, and recorded."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.blocked: list[tuple[str, str]] = []  # (resource type, url)
        self.errors: list[str] = []

    async def start(self) -> Offline:
        await self.context.route("**/*", self._route)
        return self

    async def _route(self, route: Route) -> None:
        request = route.request
        if urlsplit(request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            self.blocked.append((request.resource_type, request.url))
            await route.abort("internetdisconnected")

    async def page(self) -> Page:
        page = await self.context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        return page

    def assert_nothing_needed_offsite(self) -> None:
        needed = [(kind, url) for kind, url in self.blocked if (kind, urlsplit(url).hostname) not in TOLERATED_OFFSITE]
        assert not needed, f"the page needed off-site resources: {needed}"
        assert not self.errors, self.errors


@pytest.fixture
async def offline(browser: Browser) -> AsyncIterator[Offline]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield await Offline(context).start()
    finally:
        await context.close()


async def test_swagger_ui_renders_offline_and_authorize_works(parley, account: Credentials, offline: Offline):
    page = await offline.page()
    await page.goto(f"{parley.base_url}/docs")
    await expect(page.locator(".information-container .title")).to_contain_text("Parley")
    await expect(page.locator(".opblock-tag-section").filter(has_text="TaskRouter: Workspaces")).to_be_visible()
    list_workspaces = page.locator(".opblock-get").filter(
        has=page.locator('.opblock-summary-path[data-path="/taskrouter/v1/Workspaces"]')
    )
    await expect(list_workspaces).to_be_visible()
    assert await page.locator(".opblock").count() > 30  # every operation, not just one section

    # Authorize offers the three schemes; HTTP Basic with the account's credentials then signs "Try it out".
    await page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".dialog-ux .modal-ux")
    for scheme in ("AccountCredentials", "AccessToken", "TwilioTokenHeader"):
        await expect(dialog.get_by_text(f"{scheme} (", exact=False)).to_be_visible()
    basic = dialog.locator(".auth-container").filter(has_text="AccountCredentials")
    await basic.locator("input[type=text]").fill(account.account_sid)
    await basic.locator("input[type=password]").fill(account.auth_token)
    await basic.get_by_role("button", name="Apply credentials").click()
    await expect(basic.locator("button", has_text="Logout")).to_be_visible()
    await basic.locator("button", has_text="Close").click()
    await expect(dialog).to_have_count(0)

    await list_workspaces.locator(".opblock-summary").click()
    await list_workspaces.get_by_role("button", name="Try it out").click()
    await list_workspaces.get_by_role("button", name="Execute").click()
    status = list_workspaces.locator(".live-responses-table .response .response-col_status")
    await expect(status).to_have_text("200")
    offline.assert_nothing_needed_offsite()


async def test_redoc_renders_offline(parley, offline: Offline):
    page = await offline.page()
    await page.goto(f"{parley.base_url}/redoc")
    await expect(page.locator(".api-info h1")).to_contain_text("Parley")
    # The description's Authentication section, the tags and an operation, all rendered from /openapi.json.
    await expect(page.get_by_text("Wire-compatible with Twilio.").first).to_be_visible()
    await expect(page.locator('[data-section-id="tag/TaskRouter:-Workspaces"]')).to_be_attached()
    await expect(page.get_by_role("heading", name="List Workspaces").first).to_be_attached()
    await expect(page.get_by_text("X-Twilio-Token").first).to_be_visible()
    offline.assert_nothing_needed_offsite()
