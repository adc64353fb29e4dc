"""The agent's tools at the desktop: the customer panel (who it is, what the pre-chat form said, its earlier
conversations), canned responses from "/" in the reply box, and private notes the customer never sees; on a
phone-sized screen the panel opens over the conversation."""

from __future__ import annotations

import json
import time

import httpx
import jwt
from playwright.async_api import Browser, expect

from tests.browser.support import (
    Demo,
    accept_offer,
    open_desktop,
    screenshot,
    set_activity,
    watch_errors,
)

SECRET = "desk-secret-" + "k" * 32


def _identity(sub: str, name: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "name": name, "exp": now + 900}, SECRET, algorithm="HS256")


async def test_the_agent_sees_who_the_customer_is_answers_with_canned_replies_and_keeps_private_notes(
    browser: Browser, parley, demo: Demo
) -> None:
    ws = demo.workspace
    alice = ws.agents["alice"]
    form = [{"name": "name", "label": "Name"}, {"name": "order", "label": "Order number"}]
    async with demo.admin(parley.base_url) as admin:
        await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
        settings = {"IdentitySecret": SECRET, "PreChatForm": json.dumps(form)}
        assert (await admin.post(f"/parley/v1/WebChatSettings/{ws.address_sid}", data=settings)).status_code == 200
        canned = f"/parley/v1/Workspaces/{ws.workspace_sid}/CannedResponses"
        for title, shortcut, body in (
            ("Greeting", "hi", "Hi {{customer.name}}, I'm {{agent.name}}. How can I help?"),
            ("Refund on its way", "refund", "Your refund is on its way: 3 to 5 working days."),
        ):
            answer = await admin.post(canned, data={"Title": title, "Shortcut": shortcut, "Body": body})
            assert answer.status_code == 201, answer.text
        # Nora chatted last week (an agent answered, her chat then closed): her history.
        async with httpx.AsyncClient(base_url=parley.base_url) as anonymous:
            earlier = (
                await anonymous.post(
                    "/flex-api/v2/WebChats",
                    data={"AddressSid": ws.address_sid, "IdentityToken": _identity("nora-9", "Nora")},
                )
            ).json()
        path = f"/conversations/v1/Conversations/{earlier['conversation_sid']}"
        answer = await admin.post(f"{path}/Messages", data={"Author": "bob", "Body": "Your parcel arrives Monday"})
        assert answer.status_code == 201, answer.text
        assert (await admin.post(path, data={"State": "closed"})).status_code == 200

    desktops = await browser.new_context(viewport={"width": 1400, "height": 860})
    customers = await browser.new_context(viewport={"width": 440, "height": 720})
    agent = await desktops.new_page()
    customer = await customers.new_page()
    errors = watch_errors(agent, customer)
    try:
        await open_desktop(agent, parley.base_url, demo.token(alice, identity="alice"))
        await customer.goto(f"{parley.base_url}/chat/?address={ws.address_sid}#identity={_identity('nora-9', 'Nora')}")
        await customer.get_by_label("Order number").fill("A-1182")
        await customer.get_by_role("button", name="Start chat").click()
        composer = customer.get_by_label("Type your message")
        await composer.fill("My refund has not arrived")
        await composer.press("Enter")
        log = await accept_offer(agent, "Nora")
        await expect(log.get_by_text("My refund has not arrived")).to_be_visible()

        # The customer panel: who this is, what the form said, and her earlier chat.
        panel = agent.get_by_role("complementary", name="Customer details")
        await expect(panel).to_be_visible()
        await expect(panel).to_contain_text("Verified by the site")
        await expect(panel).to_contain_text("nora-9")
        await expect(panel.get_by_text("A-1182")).to_be_visible()
        history = panel.get_by_role("region", name="Earlier conversations")
        await expect(history).to_contain_text("Your parcel arrives Monday")

        # "/" in the reply box: the canned responses, filtered as she types; Enter puts one in the box.
        reply = agent.get_by_label("Reply to Nora")
        await reply.fill("/h")
        options = agent.get_by_role("listbox", name="Canned responses").get_by_role("option")
        await expect(options).to_have_count(1)
        await expect(options.first).to_contain_text("Greeting")
        await reply.press("Enter")
        await expect(reply).to_have_value("Hi Nora, I'm Alice. How can I help?")
        await reply.press("Enter")  # now it sends
        await expect(customer.get_by_role("log").get_by_text("Hi Nora, I'm Alice. How can I help?")).to_be_visible()
        await reply.fill("/")
        await expect(options).to_have_count(2)
        await reply.press("ArrowDown")
        await expect(options.nth(1)).to_have_attribute("aria-selected", "true")
        await reply.press("Tab")
        await expect(reply).to_have_value("Your refund is on its way: 3 to 5 working days.")
        await reply.fill("/nothing-like-this")
        await expect(agent.get_by_text("No canned response matches.")).to_be_visible()
        await reply.press("Escape")
        await expect(agent.get_by_role("listbox", name="Canned responses")).to_be_hidden()
        await reply.fill("")

        # A private note: kept with the conversation, for agents only.
        await panel.get_by_label("Private note", exact=True).fill("Second time the refund is late: offer a voucher")
        await panel.get_by_role("button", name="Add note").click()
        notes = panel.get_by_role("region", name="Private notes")
        await expect(notes).to_contain_text("Second time the refund is late")
        await expect(notes).to_contain_text("You ·")
        await screenshot(agent, "desktop-customer-panel", readme=True)
        await agent.reload()
        await agent.locator("#tasks").get_by_role("button", name="Nora").click()
        await expect(agent.get_by_role("complementary", name="Customer details")).to_contain_text(
            "Second time the refund is late"
        )
        await expect(customer.get_by_role("log")).not_to_contain_text("voucher")

        # Search of past conversations: every word, case and accents aside, the words marked.
        search = agent.get_by_role("search", name="Past conversations")
        await search.get_by_label("Search past conversations").fill("REFUND arrived")
        await search.get_by_label("Search past conversations").press("Enter")
        await expect(agent.get_by_role("status").filter(has_text="1 conversation found")).to_be_visible()
        results = agent.get_by_role("list", name="Search results")
        await expect(results.get_by_role("listitem")).to_contain_text("Nora")
        await expect(results.locator("mark").first).to_have_text("refund")
        await search.get_by_label("Search past conversations").fill("refund unicorn")
        await search.get_by_label("Search past conversations").press("Enter")
        await expect(agent.get_by_role("status").filter(has_text="No conversations found.")).to_be_visible()

        # On a phone the panel opens over the conversation and closes with Escape.
        await agent.set_viewport_size({"width": 390, "height": 800})
        await agent.locator("#tasks").get_by_role("button", name="Nora").click()
        details = agent.get_by_role("button", name="Details")
        await expect(agent.get_by_role("complementary", name="Customer details")).to_be_hidden()
        await details.click()
        await expect(agent.get_by_role("complementary", name="Customer details")).to_be_visible()
        await screenshot(agent, "desktop-phone-customer-panel")
        await agent.keyboard.press("Escape")
        await expect(agent.get_by_role("complementary", name="Customer details")).to_be_hidden()
        await expect(details).to_be_focused()
        await details.click()  # and on a touch screen with its Close button
        await agent.get_by_role("button", name="Close customer details").click()
        await expect(agent.get_by_role("complementary", name="Customer details")).to_be_hidden()
        await screenshot(agent, "desktop-phone-conversation", readme=True)
        assert errors == []
    finally:
        await desktops.close()
        await customers.close()


async def test_a_supervisor_keeps_the_workspace_canned_responses(browser: Browser, parley, demo: Demo) -> None:
    ws = demo.workspace
    context = await browser.new_context(viewport={"width": 1400, "height": 860})
    page = await context.new_page()
    errors = watch_errors(page)
    try:
        await open_desktop(page, parley.base_url, demo.token(None, identity="sam", role="supervisor"))
        await page.get_by_role("button", name="Canned responses").click()
        dialog = page.get_by_role("dialog", name="Canned responses")
        await expect(dialog.get_by_text("No canned responses yet")).to_be_visible()
        await dialog.get_by_label("Title").fill("Greeting")
        await dialog.get_by_label("Shortcut").fill("/hi")
        await dialog.get_by_label("Reply").fill("Hi {{customer.name}}!")
        await dialog.get_by_role("button", name="Add").click()
        saved = dialog.get_by_role("list", name="Saved replies")
        await expect(saved.get_by_role("listitem")).to_have_count(1)
        await expect(saved).to_contain_text("/hi")
        # A second one with the same shortcut is refused, and says why.
        await dialog.get_by_label("Title").fill("Hello again")
        await dialog.get_by_label("Shortcut").fill("hi")
        await dialog.get_by_label("Reply").fill("Hello!")
        await dialog.get_by_role("button", name="Add").click()
        await expect(dialog.get_by_role("alert")).to_have_text("Another canned response already has that shortcut.")
        await dialog.get_by_label("Shortcut").fill("hello")
        await dialog.get_by_role("button", name="Add").click()
        await expect(saved.get_by_role("listitem")).to_have_count(2)
        await dialog.get_by_role("button", name="Edit Greeting").click()
        await dialog.get_by_label("Reply").fill("Hi {{customer.name}}, welcome back!")
        await dialog.get_by_role("button", name="Save changes").click()
        await expect(saved).to_contain_text("welcome back!")
        await dialog.get_by_role("button", name="Delete Hello again").click()
        await expect(saved.get_by_role("listitem")).to_have_count(1)
        await dialog.get_by_role("button", name="Close").click()
        await expect(page.get_by_role("button", name="Canned responses")).to_be_focused()
        async with demo.admin(parley.base_url) as admin:
            listed = (await admin.get(f"/parley/v1/Workspaces/{ws.workspace_sid}/CannedResponses")).json()
        assert [(c["title"], c["shortcut"], c["body"]) for c in listed["canned_responses"]] == [
            ("Greeting", "hi", "Hi {{customer.name}}, welcome back!")
        ]
        # The refused duplicate is the one failed request (the browser logs it); nothing else went wrong.
        assert [e for e in errors if "409 (Conflict)" not in e] == []
    finally:
        await context.close()
