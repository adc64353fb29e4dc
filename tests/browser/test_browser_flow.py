"""The two browser apps, driven through Debian's Chromium by Playwright: a customer starts a web chat, the
agent desktop gets the offer, accepts it, both sides chat, and the agent wraps up and completes the task."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import expect

from tests.browser.support import Demo, chat_waits_in_queue, screenshot, serve_page, watch_errors
from tests.support.services import wait_healthy


async def test_customer_and_agent_chat_through_the_browser_apps(browser, parley, demo: Demo):
    ws = demo.workspace
    alice = ws.agents["alice"]
    async with demo.admin(parley.base_url) as admin:
        r = await admin.post(
            f"/taskrouter/v1/Workspaces/{ws.workspace_sid}/Workers/{alice}",
            data={"ActivitySid": ws.available_activity_sid},
        )
    assert r.status_code == 200, r.text
    token = demo.token(alice, identity="alice")

    agent_context = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer_context = await browser.new_context(viewport={"width": 440, "height": 720})
    agent = await agent_context.new_page()
    customer = await customer_context.new_page()
    errors = watch_errors(agent, customer)
    try:
        # The agent desktop: token taken off the URL, connected, showing the worker as Available.
        await agent.goto(f"{parley.base_url}/agent/?token={token}")
        await expect(agent.get_by_role("status").filter(has_text="Online")).to_be_visible()
        assert "token=" not in agent.url
        await expect(agent.get_by_label("Status")).to_have_value(ws.available_activity_sid)
        await expect(agent.locator("#me-name")).to_have_text("alice")

        # The customer: pre-chat form, then a first message, pending until acknowledged.
        await customer.goto(f"{parley.base_url}/chat/?address={ws.address_sid}")
        await customer.get_by_label("Your name").fill("Carol")
        await customer.get_by_role("button", name="Start chat").click()
        composer = customer.get_by_label("Type your message")
        await composer.fill("Hello, I need help with my order")
        await composer.press("Enter")
        customer_log = customer.get_by_role("log")
        await expect(customer_log.get_by_text("Hello, I need help with my order")).to_be_visible()
        await expect(customer_log.locator(".msg--pending")).to_have_count(0)

        # The offer reaches the agent as a card with a countdown; accepting opens the conversation.
        card = agent.get_by_role("listitem", name=re.compile(r"Incoming .* from Carol"))
        await expect(card).to_be_visible()
        await expect(card.get_by_role("timer")).to_have_text(re.compile(r"\d:\d\d left"))
        await screenshot(agent, "agent-incoming")
        await card.get_by_role("button", name="Accept").click()
        await expect(card).to_have_count(0)
        agent_log = agent.get_by_role("log", name="Conversation with Carol")
        await expect(agent_log.get_by_text("Hello, I need help with my order")).to_be_visible()
        await expect(agent.get_by_role("heading", name="Carol")).to_be_visible()

        reply = agent.get_by_label("Reply to Carol")
        await expect(reply).to_be_focused()
        await reply.fill("Hi Carol, I'm Alice. What's your order number?")
        await reply.press("Enter")
        await expect(agent_log.get_by_text("What's your order number?")).to_be_visible()
        await expect(agent_log.locator(".msg--pending")).to_have_count(0)

        # The customer sees the agent join and reply.
        await expect(customer_log.get_by_text("Alice joined the chat")).to_be_visible()
        reply_text = "Hi Carol, I'm Alice. What's your order number?"
        await expect(customer_log.get_by_text(reply_text)).to_be_visible()
        await expect(customer.locator("#widget-subtitle")).to_have_text("You're chatting with Alice")
        await composer.fill("It's #4521")
        await composer.press("Enter")
        await expect(agent_log.get_by_text("It's #4521")).to_be_visible()
        await screenshot(customer, "customer-chat")
        await screenshot(agent, "agent-chat")
        await agent.set_viewport_size({"width": 420, "height": 820})  # the desktop stacks on a narrow screen
        await screenshot(agent, "agent-narrow")
        await agent.set_viewport_size({"width": 1280, "height": 800})

        # A supervisor sees the task among the workspace's live tasks and reads the transcript, read-only.
        supervisor = await agent_context.new_page()
        watch_errors(supervisor, into=errors)
        supervisor_token = demo.token(None, identity="sam", role="supervisor")
        await supervisor.goto(f"{parley.base_url}/agent/?token={supervisor_token}")
        monitored = supervisor.locator("#monitor").get_by_role("button", name=re.compile("Carol"))
        await expect(monitored).to_contain_text("Assigned")
        await monitored.click()
        supervisor_log = supervisor.get_by_role("log", name="Conversation with Carol")
        await expect(supervisor_log.get_by_text("It's #4521")).to_be_visible()
        await expect(supervisor.get_by_text("Monitoring · read-only")).to_be_visible()
        await expect(supervisor.get_by_label("Reply to Carol")).to_be_hidden()
        await expect(supervisor.get_by_role("button", name="Wrap up")).to_be_hidden()
        await screenshot(supervisor, "supervisor-monitor")
        await supervisor.close()

        # A reload of the chat resumes the same conversation without repeating anything.
        await customer.reload()
        customer_log = customer.get_by_role("log")
        await expect(customer_log.get_by_text("It's #4521")).to_have_count(1)
        await expect(customer_log.get_by_text("Hello, I need help with my order")).to_have_count(1)
        await expect(customer.get_by_role("status").filter(has_text="Connecting")).to_have_count(0)

        # Wrap up, then complete: the task leaves the list and the customer sees the agent leave.
        await agent.get_by_role("button", name="Wrap up").click()
        await expect(agent.locator("#conversation-status")).to_have_text("Wrapping")
        await screenshot(agent, "agent-wrapping")

        # A reload of the desktop rebuilds its tasks from the worker stream and the task's state.
        await agent.reload()
        await agent.locator("#tasks").get_by_role("button", name=re.compile("Carol")).click()
        await expect(agent.locator("#conversation-status")).to_have_text("Wrapping")
        agent_log = agent.get_by_role("log", name="Conversation with Carol")
        await expect(agent_log.get_by_text("It's #4521")).to_have_count(1)
        await agent.get_by_role("button", name="Complete").click()
        await expect(agent.locator("#tasks .task")).to_have_count(0)
        await expect(agent.get_by_text("Accepted chats appear here.")).to_be_visible()
        await expect(customer_log.get_by_text("Alice left the chat")).to_be_visible()
        await screenshot(agent, "agent-completed")
        await screenshot(customer, "customer-after")
    finally:
        await agent_context.close()
        await customer_context.close()
    assert errors == []


async def test_web_chat_embed_and_missing_address(browser, parley, demo: Demo):
    ws = demo.workspace
    context = await browser.new_context(viewport={"width": 1100, "height": 760})
    page = await context.new_page()
    errors = watch_errors(page)
    try:
        await page.goto(f"{parley.base_url}/chat/")
        await expect(page.get_by_role("alert")).to_contain_text("missing its address")

        # A third-party site (another origin) embeds the launcher; the chat opens in an iframe on first click.
        shop = (
            "<!doctype html><title>Acme shop</title><h1>Acme shop</h1><p>Welcome.</p>"
            f'<script src="{parley.base_url}/chat/embed.js" data-address="{ws.address_sid}"></script>'
        )
        with serve_page(shop) as site:
            await page.goto(site)
            launcher = page.get_by_role("button", name="Open chat")
            await expect(launcher).to_have_attribute("aria-expanded", "false")
            await launcher.click()
            frame = page.frame_locator("iframe[title='Chat with us']")
            await expect(frame.get_by_label("Your name")).to_be_visible()
            await screenshot(page, "embed-open", readme=True)
            await frame.get_by_role("button", name="Close chat").click()
            await expect(launcher).to_have_attribute("aria-expanded", "false")
            await expect(page.locator("iframe[title='Chat with us']")).to_be_hidden()
    finally:
        await context.close()
    assert errors == []


async def test_web_chat_resends_after_the_connection_drops(browser, parley, demo: Demo):
    """The api restarts while a message is unacknowledged: the page reconnects, resubscribes from its last
    seq, and re-sends with the same client_message_id, so the message is stored and shown exactly once."""
    ws = demo.workspace
    await chat_waits_in_queue(demo, parley.base_url)
    context = await browser.new_context(viewport={"width": 440, "height": 720})
    page = await context.new_page()
    errors = watch_errors(page)
    try:
        await page.goto(f"{parley.base_url}/chat/?address={ws.address_sid}&name=Dana")
        await expect(page.get_by_label("Your name")).to_have_value("Dana")
        await page.get_by_role("button", name="Start chat").click()
        composer = page.get_by_label("Type your message")
        log = page.get_by_role("log")
        await composer.fill("First message")
        await composer.press("Enter")
        await expect(log.locator(".msg--pending")).to_have_count(0)

        parley.api.stop()
        await expect(page.get_by_role("status")).to_contain_text("Reconnecting")
        await composer.fill("Sent while offline")
        await composer.press("Enter")
        await expect(log.locator(".msg--pending")).to_contain_text("Sending…")
        await screenshot(page, "customer-offline")
        parley.api.start()
        await asyncio.to_thread(wait_healthy, parley.base_url, parley.api)

        await expect(log.locator(".msg--pending")).to_have_count(0)
        await expect(page.get_by_role("status")).to_be_hidden()
        await expect(log.get_by_text("Sent while offline")).to_have_count(1)
        session = await page.evaluate(
            "key => JSON.parse(localStorage.getItem(key))", f"parley.webchat.{ws.address_sid}"
        )
        conversation_sid = session["conversation_sid"]
        async with demo.admin(parley.base_url) as admin:
            r = await admin.get(f"/conversations/v1/Conversations/{conversation_sid}/Messages")
        assert r.status_code == 200, r.text
        assert [m["body"] for m in r.json()["messages"]] == ["First message", "Sent while offline"]
    finally:
        await context.close()
    # The console reports the refused reconnection attempts while the api is down; nothing else may fail.
    assert [e for e in errors if "WebSocket connection to" not in e] == []
