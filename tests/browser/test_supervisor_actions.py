"""A supervisor acts on stranded tasks from the monitor: re-queues a chat whose agent stopped answering (another
agent gets it, the first one's task goes to wrap-up), hands one to a chosen agent, and cancels a chat nobody
can take, with a reason kept on the task."""

from __future__ import annotations

import json

from playwright.async_api import Browser, Page, expect

from tests.browser.support import (
    Demo,
    accept_offer,
    customer_says,
    offer_from,
    open_desktop,
    screenshot,
    set_activity,
    start_customer_chat,
    watch_errors,
)
from tests.browser.test_supervisor_view import monitor_entry


async def _manage(supervisor: Page, customer: str, action: str) -> None:
    await monitor_entry(supervisor, customer).get_by_role("button").click()
    await supervisor.get_by_role("button", name="Manage task").click()
    dialog = supervisor.get_by_role("dialog", name=f"Manage the task with {customer}")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label(action).check()


async def test_a_supervisor_requeues_a_stranded_chat_and_hands_another_to_an_agent(
    browser: Browser, parley, demo: Demo
) -> None:
    ws = demo.workspace
    alice, bob = ws.agents["alice"], ws.agents["bob"]
    context = await browser.new_context(viewport={"width": 1400, "height": 860})
    customers = await browser.new_context(viewport={"width": 440, "height": 720})
    alice_page, bob_page, supervisor = [await context.new_page() for _ in range(3)]
    carol = await customers.new_page()
    errors = watch_errors(alice_page, bob_page, supervisor, carol)
    try:
        async with demo.admin(parley.base_url) as admin:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
        await open_desktop(alice_page, parley.base_url, demo.token(alice, identity="alice"))
        await open_desktop(bob_page, parley.base_url, demo.token(bob, identity="bob"))
        await open_desktop(supervisor, parley.base_url, demo.token(None, identity="sam", role="supervisor"))
        await start_customer_chat(carol, parley.base_url, ws.address_sid, "Carol")
        await customer_says(carol, "Anyone there?")
        alice_log = await accept_offer(alice_page, "Carol")
        await expect(alice_log.get_by_text("Anyone there?")).to_be_visible()
        # alice walks away (she is set Offline, her chat still assigned to her) and bob comes on shift: the
        # supervisor re-queues Carol's chat.
        async with demo.admin(parley.base_url) as admin:
            await set_activity(admin, ws.workspace_sid, alice, ws.offline_activity_sid)
            await set_activity(admin, ws.workspace_sid, bob, ws.available_activity_sid)
        await expect(monitor_entry(supervisor, "Carol").get_by_role("button")).to_contain_text("Assigned")
        await _manage(supervisor, "Carol", "Re-queue")
        await screenshot(supervisor, "supervisor-manage-task")
        await supervisor.get_by_role("dialog").get_by_role("button", name="Re-queue").click()
        await expect(supervisor.get_by_role("status").filter(has_text="The chat with Carol goes to")).to_be_visible()
        bob_log = await accept_offer(bob_page, "Carol")
        await expect(bob_log.get_by_text("Anyone there?")).to_be_visible()
        await expect(bob_page.get_by_text("Cold transfer from sam")).to_be_visible()  # who moved it
        await expect(alice_page.locator("#conversation-status")).to_have_text("Wrapping")

        # Hand the chat on to a chosen agent: back to alice, once she is back and free.
        await alice_page.get_by_role("button", name="Complete").click()
        async with demo.admin(parley.base_url) as admin:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
        # The monitor follows: one live task for Carol, bob's (the list refreshes every few seconds).
        await expect(monitor_entry(supervisor, "Carol")).to_have_count(1, timeout=30_000)
        await expect(monitor_entry(supervisor, "Carol").locator(".task__agent")).to_contain_text("Bob")
        await _manage(supervisor, "Carol", "Assign to an agent")
        dialog = supervisor.get_by_role("dialog")
        await expect(dialog.get_by_label("Agent", exact=True)).to_have_value(alice)
        await dialog.get_by_role("button", name="Assign to an agent").click()
        await expect(
            supervisor.get_by_role("status").filter(has_text="The chat with Carol goes to Alice")
        ).to_be_visible()
        alice_again = await accept_offer(alice_page, "Carol")
        await expect(alice_again.get_by_text("Anyone there?")).to_be_visible()
        await expect(bob_page.locator("#conversation-status")).to_have_text("Wrapping")
    finally:
        await context.close()
        await customers.close()
    assert errors == []


async def test_a_supervisor_withdraws_an_offer_and_cancels_a_chat_with_a_reason(
    browser: Browser, parley, demo: Demo
) -> None:
    ws = demo.workspace
    alice = ws.agents["alice"]
    context = await browser.new_context(viewport={"width": 1400, "height": 860})
    customers = await browser.new_context(viewport={"width": 440, "height": 720})
    alice_page, supervisor = await context.new_page(), await context.new_page()
    dan = await customers.new_page()
    errors = watch_errors(alice_page, supervisor, dan)
    try:
        async with demo.admin(parley.base_url) as admin:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
        await open_desktop(alice_page, parley.base_url, demo.token(alice, identity="alice"))
        await open_desktop(supervisor, parley.base_url, demo.token(None, identity="sam", role="supervisor"))
        await start_customer_chat(dan, parley.base_url, ws.address_sid, "Dan")
        await customer_says(dan, "Hello, it's about an invoice")
        card = offer_from(alice_page, "Dan")
        await expect(card).to_be_visible()
        first_offer = await card.get_attribute("data-sid")
        assert first_offer and first_offer.startswith("WR")

        await expect(monitor_entry(supervisor, "Dan").get_by_role("button")).to_contain_text("Reserved")
        await _manage(supervisor, "Dan", "Withdraw the offer")
        await supervisor.get_by_role("dialog").get_by_role("button", name="Withdraw the offer").click()
        await expect(supervisor.get_by_role("status").filter(has_text="is withdrawn")).to_be_visible()
        await expect(alice_page.locator(f'#incoming [data-sid="{first_offer}"]')).to_have_count(0)

        # Invoices are not handled in chat: the supervisor cancels it (offered again or not), saying why.
        await _manage(supervisor, "Dan", "Cancel the task")
        dialog = supervisor.get_by_role("dialog")
        await dialog.get_by_role("button", name="Cancel the task").click()
        await expect(dialog.get_by_role("alert")).to_have_text("Say why the task is canceled.")
        await dialog.get_by_label("Reason").fill("Invoices are handled by e-mail")
        await dialog.get_by_role("button", name="Cancel the task").click()
        await expect(supervisor.get_by_role("status").filter(has_text="The task with Dan is canceled.")).to_be_visible()
        await expect(monitor_entry(supervisor, "Dan")).to_have_count(0)
        async with demo.admin(parley.base_url) as admin:
            tasks = (await admin.get(f"/taskrouter/v1/Workspaces/{ws.workspace_sid}/Tasks")).json()["tasks"]
        [task] = [t for t in tasks if json.loads(t["attributes"]).get("customerName") == "Dan"]
        assert task["assignment_status"] == "canceled" and task["reason"] == "Invoices are handled by e-mail"
    finally:
        await context.close()
        await customers.close()
    assert errors == []
