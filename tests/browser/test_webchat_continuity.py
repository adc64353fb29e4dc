"""The web chat as a customer moves around a site: a second tab and a reload continue the same chat, a chat
whose token expired overnight resumes the next morning, the subtitle says where the chat stands (waiting, with
an agent, the agent has left), and a closed widget's launcher counts the messages the customer has not seen."""

from __future__ import annotations

import json
import re

from playwright.async_api import Browser, Page, expect

from api.auth import issue_access_token
from storage.accounts import service as accounts
from tests.browser.support import (
    Demo,
    accept_offer,
    agent_says,
    chat_waits_in_queue,
    customer_says,
    open_desktop,
    screenshot,
    serve_page,
    set_activity,
    start_customer_chat,
    watch_errors,
)


async def _stored_chat(page: Page, address_sid: str) -> dict:
    return await page.evaluate("key => JSON.parse(localStorage.getItem(key))", f"parley.webchat.{address_sid}")


async def test_a_second_tab_and_a_reload_continue_the_same_chat(browser: Browser, parley, demo: Demo) -> None:
    ws = demo.workspace
    alice = ws.agents["alice"]
    desktops = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer_context = await browser.new_context(viewport={"width": 440, "height": 720})
    agent = await desktops.new_page()
    first = await customer_context.new_page()
    errors = watch_errors(agent, first)
    try:
        async with demo.admin(parley.base_url) as admin:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
        await open_desktop(agent, parley.base_url, demo.token(alice, identity="alice"))
        await start_customer_chat(first, parley.base_url, ws.address_sid, "Nora")
        await expect(first.locator("#widget-subtitle")).to_have_text("We usually reply in a few minutes")
        await customer_says(first, "Is my order on its way?")
        await expect(first.locator("#widget-subtitle")).to_have_text(
            re.compile(r"^(An agent will be with you shortly|You're next in the queue)$")
        )
        log = await accept_offer(agent, "Nora")
        await expect(log.get_by_text("Is my order on its way?")).to_be_visible()
        await agent_says(agent, "Nora", "Yes, it ships today")
        await expect(first.locator("#widget-subtitle")).to_have_text("You're chatting with Alice")

        # A second tab of the site: the same chat, its history, no pre-chat form.
        second = await customer_context.new_page()
        watch_errors(second, into=errors)
        await second.goto(f"{parley.base_url}/chat/?address={ws.address_sid}")
        second_log = second.get_by_role("log")
        await expect(second_log.get_by_text("Is my order on its way?")).to_be_visible()
        await expect(second_log.get_by_text("Yes, it ships today")).to_be_visible()
        await expect(second.get_by_label("Your name")).to_be_hidden()
        await customer_says(second, "Written in the second tab")
        await expect(first.get_by_role("log").get_by_text("Written in the second tab")).to_be_visible()
        await expect(log.get_by_text("Written in the second tab")).to_be_visible()
        await screenshot(second, "webchat-second-tab")

        # A reload of the first tab: still the same chat, each message once.
        await first.reload()
        first_log = first.get_by_role("log")
        await expect(first_log.get_by_text("Written in the second tab")).to_have_count(1)
        await expect(first_log.get_by_text("Is my order on its way?")).to_have_count(1)

        # The agent finishes: the customer is told so, not that an agent is coming.
        await agent.get_by_role("button", name="Wrap up").click()
        await expect(agent.locator("#conversation-status")).to_have_text("Wrapping")
        await agent.get_by_role("button", name="Complete").click()
        await expect(first_log.get_by_text("Alice left the chat")).to_be_visible()
        for page in (first, second):
            await expect(page.locator("#widget-subtitle")).to_have_text(
                "The agent has left the chat. Write again if you need anything"
            )
    finally:
        await desktops.close()
        await customer_context.close()
    assert errors == []


async def test_a_chat_whose_token_expired_overnight_resumes(browser: Browser, parley, db, demo: Demo) -> None:
    ws = demo.workspace
    await chat_waits_in_queue(demo, parley.base_url)
    context = await browser.new_context(viewport={"width": 440, "height": 720})
    page = await context.new_page()
    errors = watch_errors(page)
    try:
        await start_customer_chat(page, parley.base_url, ws.address_sid, "Omar")
        await customer_says(page, "Written last night")
        stored = await _stored_chat(page, ws.address_sid)
        # The night passes: the stored token is one that expired hours ago (minted as the api would have).
        async with db.read() as q:
            key = await accounts.signing_key(q, demo.credentials.account_sid)
            row = await q.fetchone(
                "SELECT chat_service_sid FROM conversations WHERE sid = %s", (stored["conversation_sid"],)
            )
        expired = issue_access_token(
            account_sid=demo.credentials.account_sid,
            api_key_sid=key.sid,
            api_key_secret=key.secret,
            identity=stored["identity"],
            grants={"chat": {"service_sid": row["chat_service_sid"]}},
            ttl=-6 * 3600,
        )
        await page.evaluate(
            "([key, value]) => localStorage.setItem(key, value)",
            [f"parley.webchat.{ws.address_sid}", json.dumps({**stored, "token": expired})],
        )
        await page.reload()
        await expect(page.get_by_role("log").get_by_text("Written last night")).to_be_visible()
        await customer_says(page, "Good morning, still there?")
        renewed = await _stored_chat(page, ws.address_sid)
        assert renewed["conversation_sid"] == stored["conversation_sid"]
        assert renewed["token"] != expired
        async with demo.admin(parley.base_url) as admin:
            messages = await admin.get(f"/conversations/v1/Conversations/{stored['conversation_sid']}/Messages")
        assert [m["body"] for m in messages.json()["messages"]] == ["Written last night", "Good morning, still there?"]

        # Once the conversation is closed, the old chat is over: a reload offers a new one.
        async with demo.admin(parley.base_url) as admin:
            closed = await admin.post(
                f"/conversations/v1/Conversations/{stored['conversation_sid']}", data={"State": "closed"}
            )
            assert closed.status_code == 200, closed.text
        await expect(page.get_by_role("log").get_by_text("This conversation has ended.")).to_be_visible()
        await expect(page.locator("#widget-subtitle")).to_have_text("This chat has ended")
    finally:
        await context.close()
    assert errors == []


async def test_the_closed_launcher_counts_unseen_messages(browser: Browser, parley, demo: Demo) -> None:
    ws = demo.workspace
    alice = ws.agents["alice"]
    desktops = await browser.new_context(viewport={"width": 1280, "height": 800})
    shop_context = await browser.new_context(viewport={"width": 1100, "height": 760})
    agent = await desktops.new_page()
    page = await shop_context.new_page()
    errors = watch_errors(agent, page)
    shop = (
        "<!doctype html><title>Acme shop</title><h1>Acme shop</h1>"
        f'<script src="{parley.base_url}/chat/embed.js" data-address="{ws.address_sid}"></script>'
    )
    try:
        async with demo.admin(parley.base_url) as admin:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
        await open_desktop(agent, parley.base_url, demo.token(alice, identity="alice"))
        with serve_page(shop) as site:
            await page.goto(site)
            await page.get_by_role("button", name="Open chat").click()
            frame = page.frame_locator("iframe[title='Chat with us']")
            await frame.get_by_label("Your name").fill("Pia")
            await frame.get_by_role("button", name="Start chat").click()
            composer = frame.get_by_label("Type your message")
            await composer.fill("Do you ship to Norway?")
            await composer.press("Enter")
            await expect(frame.get_by_role("log").locator(".msg--pending")).to_have_count(0)
            await frame.get_by_role("button", name="Close chat").click()
            launcher = page.get_by_role("button", name="Open chat")
            await expect(launcher).to_be_visible()

            log = await accept_offer(agent, "Pia")
            await expect(log.get_by_text("Do you ship to Norway?")).to_be_visible()
            await agent_says(agent, "Pia", "We do!")
            await agent_says(agent, "Pia", "Delivery takes 3 days")
            await expect(page.get_by_role("button", name="Open chat, 2 new messages")).to_be_visible()
            await expect(page).to_have_title("(2) Acme shop")
            await screenshot(page, "webchat-launcher-unread")

            await page.get_by_role("button", name="Open chat, 2 new messages").click()
            await expect(frame.get_by_role("log").get_by_text("Delivery takes 3 days")).to_be_visible()
            await expect(page).to_have_title("Acme shop")
            await frame.get_by_role("button", name="Close chat").click()
            await expect(page.get_by_role("button", name="Open chat", exact=True)).to_be_visible()

            # Another page of the site (a reload here): the chat goes on, with its history.
            await page.reload()
            await page.get_by_role("button", name="Open chat").click()
            await expect(frame.get_by_role("log").get_by_text("We do!")).to_be_visible()
            await expect(frame.get_by_label("Your name")).to_be_hidden()
    finally:
        await desktops.close()
        await shop_context.close()
    assert errors == []


async def test_the_customer_ends_the_chat_and_downloads_the_transcript(browser: Browser, parley, demo: Demo) -> None:
    ws = demo.workspace
    alice = ws.agents["alice"]
    desktops = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer_context = await browser.new_context(viewport={"width": 440, "height": 720}, accept_downloads=True)
    agent, customer = await desktops.new_page(), await customer_context.new_page()
    errors = watch_errors(agent, customer)
    try:
        async with demo.admin(parley.base_url) as admin:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
        await open_desktop(agent, parley.base_url, demo.token(alice, identity="alice"))
        await start_customer_chat(customer, parley.base_url, ws.address_sid, "Quinn")
        await customer_says(customer, "What are your opening hours?")
        log = await accept_offer(agent, "Quinn")
        await expect(log.get_by_text("What are your opening hours?")).to_be_visible()
        await agent_says(agent, "Quinn", "9 to 5, Monday to Friday")
        await expect(customer.get_by_role("log").get_by_text("9 to 5, Monday to Friday")).to_be_visible()

        await customer.get_by_role("button", name="End chat").click()
        confirm = customer.get_by_role("alertdialog")
        await expect(confirm).to_contain_text("End this chat?")
        await confirm.get_by_role("button", name="Keep chatting").click()
        await expect(confirm).to_be_hidden()
        await customer.get_by_role("button", name="End chat").click()
        await customer.get_by_role("alertdialog").get_by_role("button", name="End chat").click()
        await expect(customer.get_by_role("status").filter(has_text="You ended the chat")).to_be_visible()
        await expect(customer.get_by_label("Type your message")).to_be_hidden()
        await expect(log.get_by_text("Quinn left")).to_be_visible()  # the agent is told
        await screenshot(customer, "webchat-ended")

        async with customer.expect_download() as downloading:
            await customer.get_by_role("button", name="Download transcript").click()
        download = await downloading.value
        assert download.suggested_filename.startswith("chat-transcript-")
        text = (await download.path()).read_text(encoding="utf-8")
        assert "You: What are your opening hours?" in text
        assert "Alice: 9 to 5, Monday to Friday" in text
        assert "— You ended the chat. —" in text

        # The next chat is a new one.
        await customer.get_by_role("button", name="Start a new chat").click()
        await expect(customer.get_by_label("Your name")).to_be_visible()
        await customer.reload()
        await expect(customer.get_by_label("Your name")).to_be_visible()
    finally:
        await desktops.close()
        await customer_context.close()
    assert errors == []


async def test_waiting_customers_see_their_place_in_the_queue(browser: Browser, parley, demo: Demo) -> None:
    """Nobody is available: each customer sees where it stands, and the place moves up as chats are taken."""
    ws = demo.workspace
    await chat_waits_in_queue(demo, parley.base_url)
    alice = ws.agents["alice"]
    contexts = [await browser.new_context(viewport={"width": 440, "height": 720}) for _ in range(2)]
    desktops = await browser.new_context(viewport={"width": 1280, "height": 800})
    ann, ben = [await c.new_page() for c in contexts]
    agent = await desktops.new_page()
    errors = watch_errors(ann, ben, agent)
    try:
        await start_customer_chat(ann, parley.base_url, ws.address_sid, "Ann")
        await customer_says(ann, "First in line")
        await start_customer_chat(ben, parley.base_url, ws.address_sid, "Ben")
        await customer_says(ben, "Second in line")
        await expect(ann.locator("#widget-subtitle")).to_have_text("You're next in the queue", timeout=30_000)
        await expect(ben.locator("#widget-subtitle")).to_have_text("You're number 2 in the queue", timeout=30_000)
        await screenshot(ben, "webchat-queue-position", readme=True)

        async with demo.admin(parley.base_url) as admin:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
        await open_desktop(agent, parley.base_url, demo.token(alice, identity="alice"))
        log = await accept_offer(agent, "Ann")
        await expect(log.get_by_text("First in line")).to_be_visible()
        await expect(ann.locator("#widget-subtitle")).to_have_text("You're chatting with Alice")
        # Ben moves up (offered to alice, or waiting for her: either way next), with an estimate now.
        await expect(ben.locator("#widget-subtitle")).to_have_text(
            re.compile(r"^You're next in the queue · (less than a minute|about \d+ min)$"), timeout=30_000
        )
    finally:
        for context in (*contexts, desktops):
            await context.close()
    assert errors == []
