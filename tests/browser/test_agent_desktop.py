"""Agent desktop behaviour a new user runs into: unread counts after a reload and re-engagement, signing
out, a missed chat (reservation timeout), and why a task waits (supervisor)."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.browser.support import (
    Demo,
    accept_offer,
    customer_says,
    my_task,
    open_desktop,
    screenshot,
    set_activity,
    start_customer_chat,
    watch_errors,
)


async def test_unread_counts_only_what_arrived_since_the_agent_joined_and_was_never_shown(
    browser: Browser, parley, demo: Demo
):
    """A conversation re-engaged after its first task: its transcript replays from the start on every reload,
    yet only customer messages that came after this agent joined the current task, and that the agent never
    had on screen, are unread — for another agent (bob) and for the first one again (alice)."""
    ws = demo.workspace
    alice, bob = ws.agents["alice"], ws.agents["bob"]
    desktops = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer_context = await browser.new_context(viewport={"width": 440, "height": 720})
    alice_page, bob_page = await desktops.new_page(), await desktops.new_page()
    customer = await customer_context.new_page()
    errors = watch_errors(alice_page) + watch_errors(bob_page) + watch_errors(customer)
    async with demo.admin(parley.base_url) as admin:
        try:
            # First task: alice reads everything the customer writes, then completes.
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
            await open_desktop(alice_page, parley.base_url, demo.token(alice, identity="alice"))
            await start_customer_chat(customer, parley.base_url, ws.address_sid, "Carol")
            await customer_says(customer, "Hello, my parcel never arrived")
            log = await accept_offer(alice_page, "Carol")
            await expect(log.get_by_text("Hello, my parcel never arrived")).to_be_visible()
            await customer_says(customer, "It was order #4521")
            await expect(log.get_by_text("It was order #4521")).to_be_visible()
            await alice_page.get_by_role("button", name="Wrap up").click()
            await alice_page.get_by_role("button", name="Complete").click()
            await expect(my_task(alice_page, "Carol")).to_have_count(0)

            # The customer comes back; this time bob takes it. His first reload: all of it is history.
            await set_activity(admin, ws.workspace_sid, alice, ws.offline_activity_sid)
            await set_activity(admin, ws.workspace_sid, bob, ws.available_activity_sid)
            await open_desktop(bob_page, parley.base_url, demo.token(bob, identity="bob"))
            await customer_says(customer, "Me again, still no parcel")
            log = await accept_offer(bob_page, "Carol")
            await expect(log.get_by_text("Me again, still no parcel")).to_be_visible()
            await customer_says(customer, "Are you there?")
            await expect(log.get_by_text("Are you there?")).to_be_visible()  # on screen: read
            await bob_page.reload()
            task = my_task(bob_page, "Carol")
            await expect(task).to_contain_text("Are you there?")  # the transcript has replayed
            await expect(task.locator(".unread")).to_have_count(0)

            # A message bob never had on screen is unread, and stays so across a reload until he opens it.
            await customer_says(customer, "Hello?")
            await expect(task).to_contain_text("Hello?")
            await expect(task.locator(".unread")).to_have_text("1")
            await expect(task).to_have_accessible_name(re.compile(r"Carol.*1 unread"))
            await screenshot(bob_page, "agent-unread")
            await bob_page.reload()
            await expect(task).to_contain_text("Hello?")
            await expect(task.locator(".unread")).to_have_text("1")
            await task.click()
            await expect(
                bob_page.get_by_role("log", name="Conversation with Carol").get_by_text("Hello?")
            ).to_be_visible()
            await expect(task.locator(".unread")).to_have_count(0)
            await bob_page.reload()
            await expect(task).to_contain_text("Hello?")
            await expect(task.locator(".unread")).to_have_count(0)
            await task.click()
            await bob_page.get_by_role("button", name="Wrap up").click()
            await bob_page.get_by_role("button", name="Complete").click()
            await expect(task).to_have_count(0)

            # Back to alice, who had this conversation before: her earlier task's messages are not unread either.
            await set_activity(admin, ws.workspace_sid, bob, ws.offline_activity_sid)
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
            await customer_says(customer, "Third time lucky?")
            log = await accept_offer(alice_page, "Carol")
            await expect(log.get_by_text("Third time lucky?")).to_be_visible()
            await alice_page.reload()
            task = my_task(alice_page, "Carol")
            await expect(task).to_contain_text("Third time lucky?")
            await expect(task.locator(".unread")).to_have_count(0)
        finally:
            await desktops.close()
            await customer_context.close()
    assert errors == []
