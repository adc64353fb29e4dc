"""A customer texts the contact center from a phone (the stand-in providers' phone page, speaking Twilio's
WhatsApp protocol and Meta's Messenger protocol to Parley) and an agent answers on the desktop: the offer shows
the customer's name and number, the reply reaches the phone, and the desktop shows it delivered, then read when
the customer opens it. An image the customer sends shows up in the desktop's transcript."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from storage.bootstrap import DEMO_MESSENGER_PAGE, DEMO_WHATSAPP_NUMBER, create_demo_channels
from tests.browser.support import (
    Demo,
    accept_offer,
    agent_says,
    offer_from,
    open_desktop,
    screenshot,
    set_activity,
    watch_errors,
)
from tests.support.channels import Standin, running_standin

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def standin() -> Iterator[Standin]:
    with running_standin() as running:
        yield running


async def _wire(db, parley, demo: Demo, standin: Standin) -> None:
    """The demo's channels (as `make dev` makes them), pointed at this test's stand-in."""
    async with db.unit() as uow:
        numbers = await create_demo_channels(
            uow,
            account_sid=demo.credentials.account_sid,
            workspace_sid=demo.workspace.workspace_sid,
            workflow_sid=demo.workspace.workflow_sid,
            standin_url=standin.base_url,
            base_url=parley.base_url,
        )
    for number in numbers:
        await standin.register(number)


async def _phone(page: Page, standin: Standin, *, number: str, name: str, to: str) -> None:
    await page.goto(f"{standin.base_url}/phone/?me={number.replace('+', '%2B')}&to={to.replace('+', '%2B')}")
    await expect(page.get_by_label("Write to")).to_have_value(to)
    await page.get_by_label("My name").fill(name)


async def _text(page: Page, body: str) -> None:
    await page.get_by_role("textbox", name="Message", exact=True).fill(body)
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("list", name="Messages").get_by_text(body)).to_be_visible()
    await expect(page.get_by_role("alert")).to_be_hidden()


async def test_whatsapp_customer_and_agent_with_delivery_and_read_receipts(
    browser: Browser, parley, db, demo: Demo, standin: Standin
) -> None:
    await _wire(db, parley, demo, standin)
    ws = demo.workspace
    alice = ws.agents["alice"]
    desktop_context = await browser.new_context(viewport={"width": 1280, "height": 800})
    phone_context = await browser.new_context(viewport={"width": 420, "height": 760})
    agent, phone = await desktop_context.new_page(), await phone_context.new_page()
    errors = watch_errors(agent, phone)
    try:
        async with demo.admin(parley.base_url) as admin:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
        await open_desktop(agent, parley.base_url, demo.token(alice, identity="alice"))
        await _phone(phone, standin, number="+15557001234", name="Dana", to=DEMO_WHATSAPP_NUMBER)
        await _text(phone, "Hi, my parcel has not arrived")

        await expect(offer_from(agent, "Dana")).to_be_visible()
        log = await accept_offer(agent, "Dana")
        await expect(log.get_by_text("Hi, my parcel has not arrived")).to_be_visible()
        await expect(agent.locator("#conversation-meta")).to_have_text(re.compile(r"WhatsApp.*\+15557001234"))
        await expect(agent.get_by_role("complementary", name="Customer details")).to_contain_text("+15557001234")
        await agent_says(agent, "Dana", "Sorry Dana, it ships today")

        # The reply reaches the phone, which opens it (the page is in front): delivered, then read.
        thread = phone.get_by_role("list", name="Messages")
        await expect(thread.locator(".bubble--in").filter(has_text="Sorry Dana, it ships today")).to_be_visible()
        mine = log.locator(".msg").filter(has_text="Sorry Dana, it ships today")
        await expect(mine.get_by_text("Read")).to_be_visible()
        await screenshot(agent, "channel-whatsapp-read")
        await screenshot(phone, "channel-whatsapp-phone")

        # The customer sends a photo: it is in the agent's transcript.
        picture = Path(__file__).resolve().parents[2] / ".data" / "phone-photo.png"
        picture.parent.mkdir(parents=True, exist_ok=True)
        picture.write_bytes(PNG)
        await phone.get_by_label("Attach an image").set_input_files(str(picture))
        await expect(phone.get_by_text("phone-photo.png")).to_be_visible()
        await _text(phone, "This is the label")
        incoming = log.locator(".msg").filter(has_text="This is the label")
        await expect(incoming.locator("img")).to_be_visible()
    finally:
        await desktop_context.close()
        await phone_context.close()
    assert errors == []


async def test_messenger_customer_sees_the_reply_and_the_agent_sees_it_read(
    browser: Browser, parley, db, demo: Demo, standin: Standin
) -> None:
    await _wire(db, parley, demo, standin)
    ws = demo.workspace
    alice = ws.agents["alice"]
    desktop_context = await browser.new_context(viewport={"width": 1280, "height": 800})
    phone_context = await browser.new_context(viewport={"width": 420, "height": 760})
    agent, phone = await desktop_context.new_page(), await phone_context.new_page()
    errors = watch_errors(agent, phone)
    try:
        async with demo.admin(parley.base_url) as admin:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
        await open_desktop(agent, parley.base_url, demo.token(alice, identity="alice"))
        await _phone(phone, standin, number="4455667788", name="", to=f"messenger:{DEMO_MESSENGER_PAGE}")
        await _text(phone, "Hello page")
        customer = "messenger:4455667788"
        log = await accept_offer(agent, customer)
        await expect(log.get_by_text("Hello page")).to_be_visible()
        await expect(agent.get_by_text("Alice joined")).to_be_visible()
        await agent_says(agent, customer, "Hello from the page")
        thread = phone.get_by_role("list", name="Messages")
        await expect(thread.locator(".bubble--in").filter(has_text="Hello from the page")).to_be_visible()
        mine = log.locator(".msg").filter(has_text="Hello from the page")
        await expect(mine.get_by_text("Read")).to_be_visible()
    finally:
        await desktop_context.close()
        await phone_context.close()
    assert errors == []
