"""Transfers on the agent desktop: alice hands a live chat to bob (warm, with a note) and bob gets it with the
whole conversation; alice wraps up with a disposition that lands in the task's attributes. A warm transfer
bob declines (or alice takes back) leaves the customer with alice, who can go on replying."""

from __future__ import annotations

import json

import httpx
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser.support import (
    Demo,
    accept_offer,
    customer_says,
    my_task,
    offer_from,
    open_desktop,
    screenshot,
    set_activity,
    start_customer_chat,
    watch_errors,
)
from tests.support.waiting import eventually

FLEX = "/flex-api/v1/Interactions"


async def agent_says(agent: Page, customer_name: str, text: str) -> None:
    """Sends `text` from the desktop's composer and waits until the server has stored it."""
    reply = agent.get_by_label(f"Reply to {customer_name}")
    await reply.fill(text)
    await reply.press("Enter")
    log = agent.get_by_role("log", name=f"Conversation with {customer_name}")
    await expect(log.get_by_text(text)).to_be_visible()
    await expect(log.locator(".msg--pending, .msg--failed")).to_have_count(0)


async def open_transfer(agent: Page, customer_name: str) -> Locator:
    """Opens the Transfer dialog from the conversation header; returns the dialog."""
    await agent.locator(".conversation__actions").get_by_role("button", name="Transfer").click()
    dialog = agent.get_by_role("dialog", name=f"Transfer {customer_name}")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("radio", name="Cold")).to_be_focused()  # focus moved into the dialog
    return dialog


async def task_of(admin: httpx.AsyncClient, workspace_sid: str, task_sid: str) -> dict:
    r = await admin.get(f"/taskrouter/v1/Workspaces/{workspace_sid}/Tasks/{task_sid}")
    assert r.status_code == 200, r.text
    task = r.json()
    task["attributes"] = json.loads(task["attributes"])
    return task


async def task_sid_of(agent: Page, customer_name: str) -> str:
    sid = await my_task(agent, customer_name).get_attribute("data-task-sid")
    assert sid and sid.startswith("WT"), sid
    return sid


async def messages(admin: httpx.AsyncClient, conversation_sid: str) -> list[tuple[str, str]]:
    r = await admin.get(f"/conversations/v1/Conversations/{conversation_sid}/Messages", params={"PageSize": "100"})
    assert r.status_code == 200, r.text
    return [(m["author"], m["body"]) for m in r.json()["messages"]]


async def test_a_warm_transfer_hands_the_chat_over_with_its_history_and_a_note(browser: Browser, parley, demo: Demo):
    """alice accepts Carol's chat and transfers it warm to bob with a note; bob's offer shows who sent it and the
    note, and once he accepts he has the whole conversation; alice (who kept the chat until then) is moved to
    wrap-up, picks a disposition and completes: the disposition is in her task's attributes."""
    ws = demo.workspace
    alice, bob = ws.agents["alice"], ws.agents["bob"]
    desktops = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer_context = await browser.new_context(viewport={"width": 440, "height": 720})
    alice_page, bob_page = await desktops.new_page(), await desktops.new_page()
    customer = await customer_context.new_page()
    errors = watch_errors(alice_page, bob_page, customer)
    note = "Charged twice for order #1182; refund approved, needs the billing form"
    async with demo.admin(parley.base_url) as admin:
        try:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
            await open_desktop(alice_page, parley.base_url, demo.token(alice, identity="alice"))
            await open_desktop(bob_page, parley.base_url, demo.token(bob, identity="bob"))
            await start_customer_chat(customer, parley.base_url, ws.address_sid, "Carol")
            await customer_says(customer, "Hello, I was charged twice for order #1182")
            alice_log = await accept_offer(alice_page, "Carol")
            await expect(alice_log.get_by_text("Hello, I was charged twice for order #1182")).to_be_visible()
            await agent_says(alice_page, "Carol", "Sorry about that! I'll get you to billing.")
            alice_task = await task_sid_of(alice_page, "Carol")

            # bob becomes available only now, so the first offer could only go to alice.
            await set_activity(admin, ws.workspace_sid, bob, ws.available_activity_sid)
            await expect(bob_page.get_by_label("Status")).to_have_value(ws.available_activity_sid)
            dialog = await open_transfer(alice_page, "Carol")
            await dialog.get_by_role("radio", name="Warm").check()
            target = dialog.get_by_label("Transfer to")
            await expect(target.locator("option", has_text="Bob")).to_have_text("Bob — Available")
            await expect(target.locator("option", has_text="Alice")).to_have_count(0)  # not to herself
            await expect(target.locator("optgroup[label=Queues] option")).to_have_text(["Support queue"])
            await target.select_option(label="Bob — Available")
            await dialog.get_by_label("Note for the receiver").fill(note)
            await screenshot(alice_page, "agent-transfer-dialog")
            await dialog.get_by_role("button", name="Transfer").click()
            await expect(dialog).to_be_hidden()

            # alice keeps the chat while bob is asked, and can take the transfer back.
            status = alice_page.locator("#transfer-status-text")
            await expect(status).to_have_text(
                "Warm transfer to Bob: waiting for Bob to accept. You keep the chat until then."
            )
            await expect(status).to_have_role("status")
            take_back = alice_page.get_by_role("button", name="Take back")
            await expect(take_back).to_be_focused()
            transfer_button = alice_page.locator(".conversation__actions").get_by_role("button", name="Transfer")
            await expect(transfer_button).to_be_hidden()
            assert (await task_of(admin, ws.workspace_sid, alice_task))["assignment_status"] == "assigned"

            # bob's offer says who transferred it, how, and the note.
            offer = offer_from(bob_page, "Carol")
            await expect(offer).to_have_accessible_name("Incoming Web chat from Carol, warm transfer from alice")
            await expect(offer.locator(".card__meta")).to_have_text("Web chat · Warm transfer from alice")
            await expect(offer.locator(".card__note")).to_have_text(f"Note: {note}")
            await expect(offer).to_have_accessible_description(f"Web chat · Warm transfer from alice Note: {note}")
            await screenshot(bob_page, "agent-transfer-offer")
            bob_log = await accept_offer(bob_page, "Carol")
            bob_task = await task_sid_of(bob_page, "Carol")

            # It is the same conversation: bob sees what was said before he joined, and the note stays in view.
            await expect(bob_log.get_by_text("Hello, I was charged twice for order #1182")).to_be_visible()
            await expect(bob_log.get_by_text("Sorry about that! I'll get you to billing.")).to_be_visible()
            await expect(bob_page.locator("#transfer-received")).to_have_text(f"Warm transfer from alice. Note: {note}")
            received = (await task_of(admin, ws.workspace_sid, bob_task))["attributes"]
            meta = received["transferMeta"]
            assert (meta["mode"], meta["transferredBy"], meta["note"], meta["originalTask"]) == (
                "WARM",
                "alice",
                note,
                alice_task,
            )
            transfer = await admin.get(
                f"{FLEX}/{received['flexInteractionSid']}/Channels/{received['flexInteractionChannelSid']}"
                f"/Transfers/{meta['transferSid']}"
            )
            assert transfer.status_code == 200, transfer.text
            assert (transfer.json()["status"], transfer.json()["type"]) == ("completed", "warm")
            await agent_says(bob_page, "Carol", "Hi Carol, Bob from billing here.")
            await expect(customer.get_by_role("log").get_by_text("Hi Carol, Bob from billing here.")).to_be_visible()

            # alice's side: the transfer was accepted and her chat moved to wrap-up.
            await expect(status).to_have_text("Warm transfer to Bob accepted.")
            await expect(alice_page.locator("#conversation-status")).to_have_text("Wrapping")
            assert (await task_of(admin, ws.workspace_sid, alice_task))["assignment_status"] == "wrapping"
            wrapup = alice_page.get_by_role("form", name="Wrap-up")
            await expect(wrapup.get_by_role("radio")).to_have_count(4)
            await expect(wrapup.get_by_role("group", name="Disposition")).to_contain_text(
                "Resolved Follow-up needed Escalated No response"
            )
            await wrapup.get_by_role("radio", name="Follow-up needed").check()
            await screenshot(alice_page, "agent-wrapup-disposition")
            await wrapup.get_by_role("button", name="Complete").click()
            await expect(my_task(alice_page, "Carol")).to_have_count(0)
            await expect(alice_page.get_by_role("status").filter(has_text="completed")).to_have_text(
                "Task with Carol completed (Follow-up needed)."
            )

            done = await task_of(admin, ws.workspace_sid, alice_task)
            assert done["assignment_status"] == "completed"
            assert done["attributes"]["conversations"]["outcome"] == "Follow-up needed"
            # Merged, not replaced: what was there before is still there.
            assert done["attributes"]["conversations"]["media"][0]["sid"] == received["conversationSid"]
            assert done["attributes"]["customerName"] == "Carol"
            # bob still has Carol.
            await expect(my_task(bob_page, "Carol")).to_be_visible()
            assert (await task_of(admin, ws.workspace_sid, bob_task))["assignment_status"] == "assigned"
        finally:
            await desktops.close()
            await customer_context.close()
    assert errors == []


async def test_a_declined_or_taken_back_warm_transfer_leaves_the_customer_with_the_sender(
    browser: Browser, parley, demo: Demo
):
    """An unavailable agent cannot be picked (and one who went away meanwhile is refused, with the server's
    reason); alice takes a waiting transfer back; bob rejects the next one: alice is told it failed and why,
    still has the chat, and her reply reaches the conversation."""
    ws = demo.workspace
    alice, bob = ws.agents["alice"], ws.agents["bob"]
    desktops = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer_context = await browser.new_context(viewport={"width": 440, "height": 720})
    alice_page, bob_page = await desktops.new_page(), await desktops.new_page()
    customer = await customer_context.new_page()
    errors = watch_errors(alice_page, bob_page, customer)
    async with demo.admin(parley.base_url) as admin:
        try:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
            await open_desktop(alice_page, parley.base_url, demo.token(alice, identity="alice"))
            await open_desktop(bob_page, parley.base_url, demo.token(bob, identity="bob"))
            await start_customer_chat(customer, parley.base_url, ws.address_sid, "Dana")
            await customer_says(customer, "Hi, can I change my delivery address?")
            await accept_offer(alice_page, "Dana")
            alice_task = await task_sid_of(alice_page, "Dana")
            transfer_button = alice_page.locator(".conversation__actions").get_by_role("button", name="Transfer")

            # bob is Offline: listed with his status, and cannot be chosen. Escape closes; focus comes back.
            dialog = await open_transfer(alice_page, "Dana")
            target = dialog.get_by_label("Transfer to")
            bob_option = target.locator("option", has_text="Bob")
            await expect(bob_option).to_have_text("Bob — Offline (unavailable)")
            await expect(bob_option).to_be_disabled()
            await alice_page.keyboard.press("Escape")
            await expect(dialog).to_be_hidden()
            await expect(transfer_button).to_be_focused()

            # bob is Available when the list loads but gone when alice sends: the server's reason is shown.
            await set_activity(admin, ws.workspace_sid, bob, ws.available_activity_sid)
            dialog = await open_transfer(alice_page, "Dana")
            await dialog.get_by_role("radio", name="Warm").check()
            await target.select_option(label="Bob — Available")
            await set_activity(admin, ws.workspace_sid, bob, ws.offline_activity_sid)
            await dialog.get_by_role("button", name="Transfer").click()
            await expect(dialog.get_by_role("alert")).to_have_text(
                "Worker bob cannot take a transfer: activity 'Offline' is unavailable"
            )
            await expect(dialog).to_be_visible()

            # Sent again with bob back: alice takes it back before bob answers; bob's offer goes away.
            await set_activity(admin, ws.workspace_sid, bob, ws.available_activity_sid)
            await dialog.get_by_role("button", name="Transfer").click()
            await expect(dialog).to_be_hidden()
            await expect(offer_from(bob_page, "Dana")).to_be_visible()
            await alice_page.get_by_role("button", name="Take back").click()
            status = alice_page.locator("#transfer-status-text")
            await expect(status).to_have_text("You took back the transfer to Bob. You still have the chat.")
            await expect(offer_from(bob_page, "Dana")).to_have_count(0)
            await expect(transfer_button).to_be_visible()

            # The next warm transfer bob rejects: it failed, with the server's reason, and alice keeps Dana.
            dialog = await open_transfer(alice_page, "Dana")
            await dialog.get_by_role("radio", name="Warm").check()
            await target.select_option(label="Bob — Available")
            await dialog.get_by_role("button", name="Transfer").click()
            await expect(status).to_have_text(
                "Warm transfer to Bob: waiting for Bob to accept. You keep the chat until then."
            )
            offer = offer_from(bob_page, "Dana")
            await expect(offer.locator(".card__meta")).to_have_text("Web chat · Warm transfer from alice")
            await expect(offer.locator(".card__note")).to_have_count(0)  # no note was written
            await offer.get_by_role("button", name="Reject").click()
            await expect(offer).to_have_count(0)
            await expect(status).to_have_text(
                "Transfer to Bob failed: Declined by the receiving agent. You still have the chat."
            )
            await expect(alice_page.locator("#transfer-status")).to_have_attribute("data-state", "failed")
            await expect(transfer_button).to_be_visible()
            await expect(alice_page.locator("#conversation-status")).to_have_text("Assigned")
            await screenshot(alice_page, "agent-transfer-declined")
            assert (await task_of(admin, ws.workspace_sid, alice_task))["assignment_status"] == "assigned"
            await expect(my_task(bob_page, "Dana")).to_have_count(0)

            # alice can still write to the customer: her message is stored in the conversation and reaches Dana.
            await agent_says(alice_page, "Dana", "Bob is busy, but I can change it for you. What's the new address?")
            await expect(
                customer.get_by_role("log").get_by_text("Bob is busy, but I can change it for you.", exact=False)
            ).to_be_visible()
            conversation_sid = (await task_of(admin, ws.workspace_sid, alice_task))["attributes"]["conversationSid"]
            stored = await eventually(
                lambda: messages_from(admin, conversation_sid, "alice"), what="alice's message in the conversation"
            )
            assert stored == ["Bob is busy, but I can change it for you. What's the new address?"]
        finally:
            await desktops.close()
            await customer_context.close()
    # The refused transfer (HTTP 400) is reported on alice's console, once; nothing else may fail.
    refused = [e for e in errors if "the server responded with a status of 400" in e]
    assert len(refused) == 1, errors
    assert [e for e in errors if e not in refused] == []


async def messages_from(admin: httpx.AsyncClient, conversation_sid: str, author: str) -> list[str] | None:
    bodies = [body for who, body in await messages(admin, conversation_sid) if who == author]
    return bodies or None


async def test_a_consult_brings_a_second_agent_into_the_chat_while_the_first_stays(
    browser: Browser, parley, demo: Demo
):
    """alice consults bob: bob's offer says so, with alice's note; once he accepts both are in the chat, and
    what bob writes reaches alice and the customer while alice keeps her task."""
    ws = demo.workspace
    alice, bob = ws.agents["alice"], ws.agents["bob"]
    desktops = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer_context = await browser.new_context(viewport={"width": 440, "height": 720})
    alice_page, bob_page = await desktops.new_page(), await desktops.new_page()
    customer = await customer_context.new_page()
    errors = watch_errors(alice_page, bob_page, customer)
    async with demo.admin(parley.base_url) as admin:
        try:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
            await open_desktop(alice_page, parley.base_url, demo.token(alice, identity="alice"))
            await open_desktop(bob_page, parley.base_url, demo.token(bob, identity="bob"))
            await start_customer_chat(customer, parley.base_url, ws.address_sid, "Dora")
            await customer_says(customer, "Can I change the delivery address?")
            await accept_offer(alice_page, "Dora")
            alice_task = await task_sid_of(alice_page, "Dora")
            await set_activity(admin, ws.workspace_sid, bob, ws.available_activity_sid)
            await expect(bob_page.get_by_label("Status")).to_have_value(ws.available_activity_sid)

            dialog = await open_transfer(alice_page, "Dora")
            await dialog.get_by_role("radio", name="Consult").check()
            await dialog.get_by_label("Transfer to").select_option(label="Bob — Available")
            await dialog.get_by_label("Note for the receiver").fill("Is the parcel already out?")
            await dialog.get_by_role("button", name="Transfer").click()
            await expect(dialog).to_be_hidden()
            await expect(alice_page.get_by_text("Bob is invited to the chat with Dora.")).to_be_visible()

            offer = offer_from(bob_page, "Dora")
            await expect(offer.locator(".card__meta")).to_have_text("Web chat · Consult with alice")
            await expect(offer.locator(".card__note")).to_have_text("Note: Is the parcel already out?")
            bob_log = await accept_offer(bob_page, "Dora")
            await expect(bob_log.get_by_text("Can I change the delivery address?")).to_be_visible()
            await agent_says(bob_page, "Dora", "It leaves tomorrow, so yes.")
            await expect(
                alice_page.get_by_role("log", name="Conversation with Dora").get_by_text("It leaves tomorrow, so yes.")
            ).to_be_visible()
            await expect(customer.get_by_role("log").get_by_text("It leaves tomorrow, so yes.")).to_be_visible()
            assert (await task_of(admin, ws.workspace_sid, alice_task))["assignment_status"] == "assigned"
        finally:
            await desktops.close()
            await customer_context.close()
    assert errors == []
