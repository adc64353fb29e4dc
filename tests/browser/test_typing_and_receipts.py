"""Typing indicators, read receipts ("Seen"), unread counts the server keeps, and edited or removed messages,
in the web chat and the agent desktop, as a customer and an agent use them."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser.support import (
    Demo,
    accept_offer,
    agent_says,
    customer_conversation_sid,
    customer_says,
    my_task,
    open_desktop,
    screenshot,
    set_activity,
    set_hidden,
    start_customer_chat,
    watch_errors,
)

CONVERSATIONS = "/conversations/v1/Conversations"


@dataclass
class Chat:
    """Carol's web chat, accepted by alice on her desktop."""

    agent: Page
    customer: Page
    desktops: BrowserContext
    admin: httpx.AsyncClient
    errors: list[str]

    @property
    def agent_log(self) -> Locator:
        return self.agent.get_by_role("log", name="Conversation with Carol")

    @property
    def customer_log(self) -> Locator:
        return self.customer.get_by_role("log")


@asynccontextmanager
async def chat_with_alice(browser: Browser, parley, demo: Demo, first_words: str) -> AsyncIterator[Chat]:
    ws = demo.workspace
    alice = ws.agents["alice"]
    desktops = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer_context = await browser.new_context(viewport={"width": 440, "height": 720})
    agent = await desktops.new_page()
    customer = await customer_context.new_page()
    errors = watch_errors(agent, customer)
    async with demo.admin(parley.base_url) as admin:
        try:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
            await open_desktop(agent, parley.base_url, demo.token(alice, identity="alice"))
            await start_customer_chat(customer, parley.base_url, ws.address_sid, "Carol")
            await customer_says(customer, first_words)
            log = await accept_offer(agent, "Carol")
            await expect(log.get_by_text(first_words)).to_be_visible()
            yield Chat(agent, customer, desktops, admin, errors)
        finally:
            await desktops.close()
            await customer_context.close()
    assert errors == []


def bubble(log: Locator, text: str) -> Locator:
    return log.locator(".msg").filter(has_text=text)


async def participants(admin: httpx.AsyncClient, conversation_sid: str) -> dict[str, dict]:
    """The conversation's participants by role (their attributes' `role`)."""
    r = await admin.get(f"{CONVERSATIONS}/{conversation_sid}/Participants")
    assert r.status_code == 200, r.text
    return {json.loads(p["attributes"]).get("role"): p for p in r.json()["participants"]}


async def message_sid(admin: httpx.AsyncClient, conversation_sid: str, body: str) -> tuple[str, int]:
    r = await admin.get(f"{CONVERSATIONS}/{conversation_sid}/Messages", params={"PageSize": "100"})
    assert r.status_code == 200, r.text
    [message] = [m for m in r.json()["messages"] if m["body"] == body]
    return message["sid"], message["index"]


async def test_each_side_sees_the_other_typing_and_never_itself(browser: Browser, parley, demo: Demo):
    """The customer types: alice reads "Carol is typing…" under the transcript (a polite live region) until
    Carol's message arrives; alice types: the customer reads "Alice is typing…" above the input. Nobody sees
    their own typing, and the line goes away when the typing stops."""
    async with chat_with_alice(browser, parley, demo, "Hi, a question about my order") as chat:
        agent_typing = chat.agent.locator("#typing")
        customer_typing = chat.customer.locator("#typing")
        await expect(agent_typing).to_have_attribute("aria-live", "polite")
        await expect(customer_typing).to_have_attribute("aria-live", "polite")

        composer = chat.customer.get_by_label("Type your message")
        await composer.fill("It was delivered to the wrong")
        await expect(agent_typing).to_have_text("Carol is typing…")
        await expect(chat.agent.get_by_text("Carol is typing…")).to_be_visible()
        await screenshot(chat.agent, "agent-customer-typing")
        await expect(customer_typing).to_have_text("")  # the signal comes back to Carol too: not shown
        await composer.press_sequentially(" address")
        await composer.press("Enter")
        await expect(chat.agent_log.get_by_text("It was delivered to the wrong address")).to_be_visible()
        await expect(agent_typing).to_have_text("")  # her message is here: she is no longer typing

        reply = chat.agent.get_by_label("Reply to Carol")
        await reply.fill("Sorry to hear that! Could you")
        await expect(customer_typing).to_have_text("Alice is typing…")
        box, input_box = await customer_typing.bounding_box(), await composer.bounding_box()
        assert box and input_box and box["y"] + box["height"] <= input_box["y"] + 1  # above the input
        await screenshot(chat.customer, "customer-agent-typing")
        await expect(agent_typing).to_have_text("")
        await reply.press_sequentially(" confirm the address?")
        await reply.press("Enter")
        await expect(chat.customer_log.get_by_text("Could you confirm the address?")).to_be_visible()
        await expect(customer_typing).to_have_text("")

        # Typing without sending: the line goes away by itself once the signals stop.
        await composer.fill("22 Baker")
        await expect(agent_typing).to_have_text("Carol is typing…")
        await expect(agent_typing).to_have_text("")
        await expect(customer_typing).to_have_text("")


async def test_seen_shows_how_far_the_other_side_has_read_also_after_a_reload(browser: Browser, parley, demo: Demo):
    """A message is "Seen" once the other side has had it on screen: alice's chat open (she accepted it) reads
    Carol's messages, Carol's chat page reads alice's. While one side's page is in the background nothing new is
    read; back on it, the marker moves. After a reload both pages show it where the server has it."""
    async with chat_with_alice(browser, parley, demo, "Hi, my parcel is late") as chat:
        conversation_sid = await customer_conversation_sid(chat.customer, demo.workspace.address_sid)
        customer_seen = chat.customer_log.get_by_text("Seen", exact=True)
        agent_seen = chat.agent_log.get_by_text("Seen", exact=True)
        # alice has the chat on screen since she accepted it.
        await expect(bubble(chat.customer_log, "Hi, my parcel is late").get_by_text("Seen")).to_be_visible()

        # alice switches to another tab: Carol's next message is delivered but not seen, until alice is back.
        await set_hidden(chat.agent, True)
        await customer_says(chat.customer, "It's order #4521")
        await expect(chat.agent_log.get_by_text("It's order #4521")).to_be_attached()
        await expect(customer_seen).to_have_count(1)
        await expect(bubble(chat.customer_log, "Hi, my parcel is late").get_by_text("Seen")).to_be_visible()
        await set_hidden(chat.agent, False)
        await expect(bubble(chat.customer_log, "It's order #4521").get_by_text("Seen")).to_be_visible()
        await expect(customer_seen).to_have_count(1)

        # The other way round: Carol's page is in the background when alice writes.
        await set_hidden(chat.customer, True)
        await agent_says(chat.agent, "Carol", "Thanks Carol, checking it now")
        await expect(chat.customer_log.get_by_text("Thanks Carol, checking it now")).to_be_attached()
        await expect(agent_seen).to_have_count(0)
        await set_hidden(chat.customer, False)
        await expect(bubble(chat.agent_log, "Thanks Carol, checking it now").get_by_text("Seen")).to_be_visible()
        await screenshot(chat.agent, "agent-seen")
        await screenshot(chat.customer, "customer-seen")
        _, thanks_index = await message_sid(chat.admin, conversation_sid, "Thanks Carol, checking it now")
        _, order_index = await message_sid(chat.admin, conversation_sid, "It's order #4521")
        roles = await participants(chat.admin, conversation_sid)
        assert roles["customer"]["last_read_message_index"] == thanks_index
        assert roles["agent"]["last_read_message_index"] >= order_index

        # A reload shows the receipts as the server has them.
        await chat.customer.reload()
        await expect(bubble(chat.customer_log, "It's order #4521").get_by_text("Seen")).to_be_visible()
        await expect(customer_seen).to_have_count(1)
        await chat.agent.reload()
        await my_task(chat.agent, "Carol").click()
        await expect(bubble(chat.agent_log, "Thanks Carol, checking it now").get_by_text("Seen")).to_be_visible()
        await expect(agent_seen).to_have_count(1)


async def test_unread_counts_are_the_servers_on_every_desktop_and_after_a_reload(browser: Browser, parley, demo: Demo):
    """The agent's read horizon is kept by the server: a desktop opened elsewhere (no local state) counts only
    what alice has not had on screen anywhere, reading it on one desktop clears the count on the other, and a
    reload keeps the count the server holds."""
    ws = demo.workspace
    async with chat_with_alice(browser, parley, demo, "Hello, my parcel never arrived") as chat:
        await customer_says(chat.customer, "It was order #4521")
        await expect(chat.agent_log.get_by_text("It was order #4521")).to_be_visible()  # read
        task = my_task(chat.agent, "Carol")
        await set_hidden(chat.agent, True)
        await customer_says(chat.customer, "Are you still there?")
        await expect(task).to_contain_text("Are you still there?")
        await expect(task.locator(".unread")).to_have_text("1")

        # alice opens her desktop on another computer: the same single unread message.
        elsewhere_context = await chat.desktops.browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            elsewhere = await elsewhere_context.new_page()
            watch_errors(elsewhere, into=chat.errors)
            await open_desktop(elsewhere, parley.base_url, demo.token(ws.agents["alice"], identity="alice"))
            other_task = my_task(elsewhere, "Carol")
            await expect(other_task).to_contain_text("Are you still there?")
            await expect(other_task.locator(".unread")).to_have_text("1")
            await expect(other_task).to_have_accessible_name(re.compile(r"Carol.*1 unread"))

            # She reads it there: the first desktop's count goes too.
            await other_task.click()
            await expect(
                elsewhere.get_by_role("log", name="Conversation with Carol").get_by_text("Are you still there?")
            ).to_be_visible()
            await expect(other_task.locator(".unread")).to_have_count(0)
            await expect(task.locator(".unread")).to_have_count(0)

            # Nobody looking: the next message is unread on both, and stays so across reloads (the first desktop
            # without its local marks), until she opens it.
            await set_hidden(elsewhere, True)
            await customer_says(chat.customer, "Hello??")
            await expect(task.locator(".unread")).to_have_text("1")
            await expect(other_task.locator(".unread")).to_have_text("1")
            await elsewhere.reload()
            await expect(other_task).to_contain_text("Hello??")
            await expect(other_task.locator(".unread")).to_have_text("1")
            await chat.agent.evaluate("localStorage.clear()")
            await chat.agent.reload()
            await expect(task).to_contain_text("Hello??")
            await expect(task.locator(".unread")).to_have_text("1")
            await task.click()
            await expect(chat.agent_log.get_by_text("Hello??")).to_be_visible()
            await expect(task.locator(".unread")).to_have_count(0)
            await expect(other_task.locator(".unread")).to_have_count(0)
            await elsewhere.reload()
            await expect(other_task).to_contain_text("Hello??")
            await expect(other_task.locator(".unread")).to_have_count(0)
        finally:
            await elsewhere_context.close()


async def test_an_edited_or_removed_message_changes_on_both_pages(browser: Browser, parley, demo: Demo):
    """An admin corrects a message and deletes another through the REST API: the customer's chat and the agent's
    desktop show the new text and drop the removed message at once, and still do after a reload."""
    async with chat_with_alice(browser, parley, demo, "My order number is #1234") as chat:
        await agent_says(chat.agent, "Carol", "Let me check order #1234")
        conversation_sid = await customer_conversation_sid(chat.customer, demo.workspace.address_sid)
        typo, _ = await message_sid(chat.admin, conversation_sid, "My order number is #1234")
        wrong, _ = await message_sid(chat.admin, conversation_sid, "Let me check order #1234")

        r = await chat.admin.post(
            f"{CONVERSATIONS}/{conversation_sid}/Messages/{typo}", data={"Body": "My order number is #4321"}
        )
        assert r.status_code == 200, r.text
        for log in (chat.customer_log, chat.agent_log):
            await expect(log.get_by_text("My order number is #4321")).to_be_visible()
            await expect(log.get_by_text("My order number is #1234")).to_have_count(0)

        r = await chat.admin.delete(f"{CONVERSATIONS}/{conversation_sid}/Messages/{wrong}")
        assert r.status_code == 204, r.text
        for log in (chat.customer_log, chat.agent_log):
            await expect(log.get_by_text("Let me check order #1234")).to_have_count(0)
            await expect(log.get_by_text("My order number is #4321")).to_be_visible()
        task = my_task(chat.agent, "Carol")
        await expect(task).to_contain_text("My order number is #4321")  # the preview is the latest left
        await screenshot(chat.customer, "customer-edited")

        await chat.customer.reload()
        await chat.agent.reload()
        await task.click()
        for log in (chat.customer_log, chat.agent_log):
            await expect(log.get_by_text("My order number is #4321")).to_have_count(1)
            await expect(log.get_by_text("My order number is #1234")).to_have_count(0)
            await expect(log.get_by_text("Let me check order #1234")).to_have_count(0)
