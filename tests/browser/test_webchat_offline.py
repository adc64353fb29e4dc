"""The web chat before a chat starts, as a customer sees it: with nobody available it takes a message and an
email and the first agent to come on gets it; outside business hours it says when the address opens; the
address's own pre-chat form, in the site's language; a signed-in customer is greeted by name and finds the
same chat on a second device."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import jwt
from playwright.async_api import Browser, expect

from tests.browser.support import (
    Demo,
    accept_offer,
    agent_says,
    open_desktop,
    screenshot,
    serve_page,
    set_activity,
    watch_errors,
)
from tests.support.waiting import eventually

SECRET = "site-secret-" + "x" * 32


async def test_a_customer_who_writes_when_nobody_is_available_leaves_a_message_for_the_first_agent(
    browser: Browser, parley, demo: Demo
) -> None:
    ws = demo.workspace
    alice = ws.agents["alice"]
    customer_context = await browser.new_context(viewport={"width": 440, "height": 720})
    desktops = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer = await customer_context.new_page()
    agent = await desktops.new_page()
    errors = watch_errors(customer, agent)
    try:
        # Every agent is offline: the widget offers to take a message instead of a chat nobody would answer.
        await customer.goto(f"{parley.base_url}/chat/?address={ws.address_sid}")
        await expect(customer.get_by_role("heading", name="Nobody is available right now")).to_be_visible()
        await expect(customer.get_by_text("Leave us a message and your email")).to_be_visible()
        await customer.get_by_label("Your name").fill("Olga")
        await customer.get_by_label("Your message", exact=True).fill("My parcel never arrived. Order 1182.")
        send = customer.get_by_role("button", name="Send message")
        await send.click()
        await expect(customer.get_by_role("alert")).to_have_text("Your email is required.")
        await expect(customer.get_by_label("Your email")).to_be_focused()
        await customer.get_by_label("Your email").fill("olga@")
        await send.click()
        await expect(customer.get_by_role("alert")).to_have_text("Please enter a valid email address.")
        await customer.get_by_label("Your email").fill("olga@example.com")
        await screenshot(customer, "webchat-offline-form")
        await send.click()

        log = customer.get_by_role("log")
        await expect(log.get_by_text("My parcel never arrived. Order 1182.")).to_be_visible()
        await expect(log.get_by_text("will reply to olga@example.com")).to_be_visible()
        await expect(customer.locator("#widget-subtitle")).to_have_text("We'll get back to you by email")
        await screenshot(customer, "webchat-offline-sent", readme=True)

        # alice signs in later: the message is offered to her, and her answer reaches the customer.
        async with demo.admin(parley.base_url) as admin:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
        await open_desktop(agent, parley.base_url, demo.token(alice, identity="alice"))
        conversation = await accept_offer(agent, "Olga")
        await expect(conversation.get_by_text("My parcel never arrived. Order 1182.")).to_be_visible()
        await agent_says(agent, "Olga", "Sorry about that, Olga: a new one ships today.")
        await expect(log.get_by_text("a new one ships today")).to_be_visible()
        await expect(customer.locator("#widget-subtitle")).to_have_text("You're chatting with Alice")

        # With alice available a new visitor gets the live chat form.
        visitor_context = await browser.new_context(viewport={"width": 440, "height": 720})
        visitor = await visitor_context.new_page()
        watch_errors(visitor, into=errors)
        await visitor.goto(f"{parley.base_url}/chat/?address={ws.address_sid}")
        await expect(visitor.get_by_role("heading", name="Hi there!")).to_be_visible()
        await expect(visitor.get_by_role("button", name="Start chat")).to_be_enabled()
        await expect(visitor.get_by_label("Your message", exact=True)).to_have_count(0)
        await visitor_context.close()
        assert errors == []
    finally:
        await customer_context.close()
        await desktops.close()


async def test_outside_business_hours_the_widget_says_when_it_opens(browser: Browser, parley, demo: Demo) -> None:
    ws = demo.workspace
    today = datetime.now(UTC).date().isoformat()
    week = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    hours = {"time_zone": "UTC", "hours": [{"days": week, "open": "08:00", "close": "18:00"}], "closed_dates": [today]}
    async with demo.admin(parley.base_url) as admin:
        await set_activity(admin, ws.workspace_sid, ws.agents["alice"], ws.available_activity_sid)
        answer = await admin.post(
            f"/parley/v1/WebChatSettings/{ws.address_sid}", data={"BusinessHours": json.dumps(hours)}
        )
        assert answer.status_code == 200, answer.text
    context = await browser.new_context(viewport={"width": 440, "height": 720}, locale="en-GB", timezone_id="UTC")
    customer = await context.new_page()
    errors = watch_errors(customer)
    try:
        await customer.goto(f"{parley.base_url}/chat/?address={ws.address_sid}")
        await expect(customer.get_by_role("heading", name="We're closed right now")).to_be_visible()
        # Tomorrow (or the day after: not today, which is closed) at 08:00 the visitor's time.
        await expect(customer.locator("#prechat-intro")).to_contain_text("We open again")
        await expect(customer.locator("#prechat-intro")).to_contain_text("08:00")
        assert errors == []
    finally:
        await context.close()


async def test_the_address_pre_chat_form_in_the_site_language(browser: Browser, parley, demo: Demo) -> None:
    ws = demo.workspace
    form = [
        {"name": "name", "label": "Name", "required": True},
        {"name": "thema", "label": "Thema", "type": "select", "options": ["Rechnung", "Lieferung"], "required": True},
    ]
    async with demo.admin(parley.base_url) as admin:
        await set_activity(admin, ws.workspace_sid, ws.agents["alice"], ws.available_activity_sid)
        answer = await admin.post(
            f"/parley/v1/WebChatSettings/{ws.address_sid}", data={"PreChatForm": json.dumps(form)}
        )
        assert answer.status_code == 200, answer.text
    site = f"""<!doctype html><html lang="de"><head><title>Shop</title></head><body><h1>Unser Shop</h1>
      <script src="{parley.base_url}/chat/embed.js" data-address="{ws.address_sid}" data-lang="de"
              data-strings='{{"prechat_title": "Willkommen im Shop!"}}' async></script></body></html>"""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors = watch_errors(page)
    try:
        with serve_page(site) as url:
            await page.goto(url)
            await page.get_by_role("button", name="Chat öffnen").click()
            frame = page.frame_locator("iframe[title='Chatten Sie mit uns']")
            await expect(frame.get_by_role("heading", name="Willkommen im Shop!")).to_be_visible()  # the site's own
            await frame.get_by_label("Name").fill("Jonas")
            await frame.get_by_role("button", name="Chat starten").click()
            await expect(frame.get_by_role("alert")).to_have_text("Thema ist erforderlich.")
            await frame.get_by_label("Thema").select_option("Lieferung")
            await frame.get_by_role("button", name="Chat starten").click()
            composer = frame.get_by_label("Nachricht schreiben")
            await expect(composer).to_be_visible()
            await expect(frame.locator("#widget-subtitle")).to_have_text("Wir antworten meist in wenigen Minuten")
            # The attachment picker speaks German too.
            await frame.locator("#attach").set_input_files(
                files=[{"name": "tool.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"}]
            )
            await expect(frame.locator("#attach-error")).to_contain_text("„tool.exe“ kann nicht gesendet werden")
            await composer.fill("Wo bleibt mein Paket?")
            await composer.press("Enter")
            await expect(frame.locator("#widget-subtitle")).to_have_text(
                # Waiting in the queue, in German.
                re.compile(r"^(Gleich ist jemand für Sie da|Sie sind als Nächstes dran.*)$")
            )
            await screenshot(page, "webchat-german-prechat")
        async with demo.admin(parley.base_url) as admin:

            async def routed() -> list[object] | None:
                tasks = (await admin.get(f"/taskrouter/v1/Workspaces/{ws.workspace_sid}/Tasks")).json()["tasks"]
                return [json.loads(t["attributes"]).get("pre_engagement_data") for t in tasks] or None

            # The task carries what the form collected (it is made a moment after the customer wrote).
            assert {"name": "Jonas", "thema": "Lieferung"} in await eventually(routed, what="Jonas's task")
        assert errors == []
    finally:
        await context.close()


def _identity_token(sub: str, **claims: object) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "exp": now + 600, **claims}, SECRET, algorithm="HS256")


async def test_a_signed_in_customer_is_greeted_by_name_and_finds_the_chat_on_a_second_device(
    browser: Browser, parley, demo: Demo
) -> None:
    ws = demo.workspace
    async with demo.admin(parley.base_url) as admin:
        await set_activity(admin, ws.workspace_sid, ws.agents["alice"], ws.available_activity_sid)
        answer = await admin.post(
            f"/parley/v1/WebChatSettings/{ws.address_sid}", data={"IdentitySecret": SECRET, "IdentityRequired": "true"}
        )
        assert answer.status_code == 200, answer.text

    def site(token: str) -> str:
        return f"""<!doctype html><html><head><title>Account</title></head><body><h1>My account</h1>
          <script src="{parley.base_url}/chat/embed.js" data-address="{ws.address_sid}" data-lang="en"
                  data-identity-token="{token}" async></script></body></html>"""

    laptop = await browser.new_context(viewport={"width": 1280, "height": 800})
    phone = await browser.new_context(viewport={"width": 390, "height": 760})
    anonymous = await browser.new_context(viewport={"width": 440, "height": 720})
    errors: list[str] = []
    try:
        page = await laptop.new_page()
        watch_errors(page, into=errors)
        with serve_page(site(_identity_token("cust-7", name="Quinn Doe", email="quinn@example.com"))) as url:
            await page.goto(url)
            await page.get_by_role("button", name="Open chat").click()
            frame = page.frame_locator("iframe[title='Chat with us']")
            await expect(frame.get_by_text("Hi Quinn Doe! Start a chat")).to_be_visible()
            await expect(frame.get_by_label("Your name")).to_have_count(0)  # the site said who this is
            await frame.get_by_role("button", name="Start chat").click()
            composer = frame.get_by_label("Type your message")
            await composer.fill("Question about my subscription")
            await composer.press("Enter")
            await expect(frame.get_by_role("log").locator(".msg--pending")).to_have_count(0)

        # The same customer on a phone: a new token from the site, and the same chat with its history.
        mobile = await phone.new_page()
        watch_errors(mobile, into=errors)
        with serve_page(site(_identity_token("cust-7", name="Quinn Doe"))) as url:
            await mobile.goto(url)
            await mobile.get_by_role("button", name="Open chat").click()
            frame = mobile.frame_locator("iframe[title='Chat with us']")
            await frame.get_by_role("button", name="Start chat").click()
            await expect(frame.get_by_role("log").get_by_text("Question about my subscription")).to_be_visible()
            await screenshot(mobile, "webchat-identified-second-device")

        # Signed-in customers only: a visitor without a token is asked to sign in.
        visitor = await anonymous.new_page()
        watch_errors(visitor, into=errors)
        await visitor.goto(f"{parley.base_url}/chat/?address={ws.address_sid}")
        await expect(visitor.get_by_text("Please sign in to the website to chat with us.")).to_be_visible()
        assert errors == []
    finally:
        await laptop.close()
        await phone.close()
        await anonymous.close()
