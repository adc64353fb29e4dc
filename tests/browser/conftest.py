"""Fixtures of the browser tests: one headless Debian Chromium per module and a fresh demo workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright, expect

from storage.bootstrap import create_account, create_demo_workspace
from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, Demo

# Routing goes through the outbox and Temporal: give the UI a realistic, still bounded, time to react.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}; the browser tests need Debian's build: "
            "run `apt-get update && apt-get install -y chromium`",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def demo(db) -> Demo:
    async with db.unit() as uow:
        credentials = await create_account(uow, friendly_name="Browser test")
        workspace = await create_demo_workspace(uow, account_sid=credentials.account_sid)
    return Demo(credentials, workspace)
