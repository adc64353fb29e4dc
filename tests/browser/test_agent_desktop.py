"""Agent desktop behaviour a new user runs into: unread counts after a reload and re-engagement, signing
out, a missed chat (reservation timeout), and why a task waits (supervisor)."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Browser, Route, expect

from tests.browser.support import (
    Demo,
    accept_offer,
    chat_waits_in_queue,
    customer_says,
    my_task,
    offer_from,
    open_desktop,
    screenshot,
    set_activity,
    start_customer_chat,
    watch_errors,
    worker_activity,
)
from tests.support.contact_center import agent_attributes, build_contact_center
from tests.support.waiting import eventually


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
    errors = watch_errors(alice_page, bob_page, customer)
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


async def test_sign_out_sets_the_worker_offline_first(browser: Browser, parley, demo: Demo):
    """Signing out moves the worker to Offline (its accepted task stays; a pending offer goes back to the
    queue) before forgetting the token; when that call fails, the agent is still signed out, and told."""
    ws = demo.workspace
    alice = ws.agents["alice"]
    token = demo.token(alice, identity="alice")
    desktop_context = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer_context = await browser.new_context(viewport={"width": 440, "height": 720})
    agent = await desktop_context.new_page()
    # Two customers: a browser each (the web chat keeps one chat per visitor, in the browser's storage).
    dan_context = await browser.new_context(viewport={"width": 440, "height": 720})
    carol, dan = await customer_context.new_page(), await dan_context.new_page()
    errors = watch_errors(agent, carol, dan)
    async with demo.admin(parley.base_url) as admin:
        try:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
            await open_desktop(agent, parley.base_url, token)
            await start_customer_chat(carol, parley.base_url, ws.address_sid, "Carol")
            await customer_says(carol, "Hi, a question about my bill")
            await accept_offer(agent, "Carol")
            # Another chat is offered and still pending when alice signs out.
            await start_customer_chat(dan, parley.base_url, ws.address_sid, "Dan")
            await customer_says(dan, "Hello from Dan")
            await expect(offer_from(agent, "Dan")).to_be_visible()

            await agent.get_by_role("button", name="Sign out").click()
            await expect(agent.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
            await expect(agent.get_by_role("status").filter(has_text="You have signed out")).to_contain_text(
                "Your status is now Offline."
            )
            await expect(agent.get_by_label("Access token")).to_be_focused()
            await screenshot(agent, "agent-signed-out")
            assert await worker_activity(admin, ws.workspace_sid, alice) == "Offline"
            reservations = await admin.get(
                f"/taskrouter/v1/Workspaces/{ws.workspace_sid}/Workers/{alice}/Reservations",
                params={"ReservationStatus": "pending"},
            )
            assert reservations.status_code == 200, reservations.text
            assert reservations.json()["reservations"] == []  # Dan's offer was given back, not left to time out

            # Signing in again: alice is Offline and still has Carol's chat (Flex keeps accepted tasks).
            await agent.get_by_label("Access token").fill(token)
            await agent.get_by_role("button", name="Open desktop").click()
            await expect(agent.get_by_label("Status")).to_have_value(ws.offline_activity_sid)
            await expect(my_task(agent, "Carol")).to_be_visible()
            await expect(offer_from(agent, "Dan")).to_have_count(0)

            # The status change fails (the network drops it): signed out all the same, with a warning.
            await agent.get_by_label("Status").select_option(label="Available")
            await expect(agent.locator("#activity-dot")).to_have_attribute("data-available", "true")

            async def drop_worker_update(route: Route) -> None:
                if route.request.method == "POST":
                    await route.abort("internetdisconnected")
                else:
                    await route.continue_()

            await agent.route(f"**/Workers/{alice}", drop_worker_update)
            await agent.get_by_role("button", name="Sign out").click()
            await expect(agent.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
            await expect(agent.get_by_role("alert")).to_contain_text(
                "You have signed out, but your status could not be changed"
            )
            await screenshot(agent, "agent-signed-out-status-unchanged")
            assert await worker_activity(admin, ws.workspace_sid, alice) == "Available"
        finally:
            await desktop_context.close()
            await customer_context.close()
            await dan_context.close()
    # The dropped request is reported on the console; nothing else may fail.
    assert [e for e in errors if "net::ERR_INTERNET_DISCONNECTED" not in e] == []


async def test_a_missed_chat_says_why_the_agent_went_offline(browser: Browser, parley, admin, agent_token):
    """An offer times out: the server sets the worker Offline, and the desktop says so until the agent's status
    changes (also after a reload), with a button to become Available again; the missed chat is offered again
    then (nobody is stranded). Older history, or an offer the agent rejected, shows nothing."""
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")}, reservation_timeout=2)
    alice = center.workers["alice"]
    await set_activity(admin, center.workspace_sid, alice, center.activities["Available"])
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer_context = await browser.new_context(viewport={"width": 440, "height": 720})
    agent = await context.new_page()
    # Two customers: a browser each (the web chat keeps one chat per visitor, in the browser's storage).
    gus_context = await browser.new_context(viewport={"width": 440, "height": 720})
    erin, gus = await customer_context.new_page(), await gus_context.new_page()
    errors = watch_errors(agent, erin, gus)
    missed = agent.get_by_role("alert").filter(has_text="You missed")
    status = agent.get_by_label("Status")
    try:
        await open_desktop(agent, parley.base_url, agent_token(center.workspace_sid, alice, identity="alice"))
        await expect(status).to_have_value(center.activities["Available"])
        await start_customer_chat(erin, parley.base_url, center.address_sid, "Erin")
        await customer_says(erin, "Is anyone there?")
        await expect(offer_from(agent, "Erin")).to_be_visible()
        await expect(offer_from(agent, "Erin")).to_have_count(0)  # nobody answered within 2 s
        await expect(missed).to_have_text(
            "You missed a chat from Erin — your status was set to Offline. "
            "Set yourself Available to receive chats again."
        )
        await expect(status).to_have_value(center.activities["Offline"])
        await screenshot(agent, "agent-missed-chat")

        # Still Offline after a reload: the notice is rebuilt from the worker stream's latest timeout.
        await agent.reload()
        await expect(missed).to_be_visible()
        set_available = agent.get_by_role("button", name="Set Available")
        await set_available.focus()
        await agent.keyboard.press("Enter")
        await expect(missed).to_have_count(0)
        await expect(status).to_have_value(center.activities["Available"])
        await expect(status).to_be_focused()
        assert await worker_activity(admin, center.workspace_sid, alice) == "Available"
        # Erin is still waiting, and alice is the only agent: her chat is offered again, and taken this time.
        await accept_offer(agent, "Erin")

        # After a reload the timeout is old history (alice has changed status since): no notice. Erin's chat,
        # accepted after it, shows the worker stream has been replayed that far.
        await agent.reload()
        await expect(my_task(agent, "Erin")).to_be_visible()
        await expect(missed).to_have_count(0)

        # A timeout after the page loaded shows again; the agent may dismiss it and stay Offline.
        await start_customer_chat(gus, parley.base_url, center.address_sid, "Gus")
        await customer_says(gus, "Hi, a delivery question")
        await expect(missed).to_contain_text("You missed a chat from Gus — your status was set to Offline.")
        await agent.get_by_role("button", name="Dismiss").click()
        await expect(missed).to_have_count(0)
        await expect(status).to_be_focused()
        await expect(status).to_have_value(center.activities["Offline"])

        # Rejecting an offer, then going Offline, is the agent's own doing: no notice. Back to Available, Gus's
        # chat comes back; alice rejects it (it comes back again: nobody else can take it) and goes Offline, so
        # the offer left pending times out without moving her status.
        await status.select_option(label="Available")
        gus_offer = offer_from(agent, "Gus")
        await expect(gus_offer).to_be_visible()
        await gus_offer.get_by_role("button", name="Reject").click()
        await expect(gus_offer).to_be_visible()
        await status.select_option(label="Offline")
        await expect(agent.locator("#activity-dot")).to_have_attribute("data-available", "false")
        await expect(gus_offer).to_have_count(0)  # the pending offer timed out
        await expect(missed).to_have_count(0)
        await agent.reload()
        await expect(my_task(agent, "Erin")).to_be_visible()
        await expect(status).to_have_value(center.activities["Offline"])
        await expect(missed).to_have_count(0)
    finally:
        await context.close()
        await customer_context.close()
        await gus_context.close()
    assert errors == []


async def test_supervisor_sees_why_a_pending_task_waits(browser: Browser, parley, demo: Demo):
    """A task nobody can take shows, in the supervisor's list, the server's routing_status in full (wrapped,
    the queue named), as the entry's accessible description; once reserved, the reason goes."""
    ws = demo.workspace
    await chat_waits_in_queue(demo, parley.base_url)
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer = await context.new_page()
    supervisor = await context.new_page()
    errors = watch_errors(customer, supervisor)
    async with demo.admin(parley.base_url) as admin:
        try:
            await start_customer_chat(customer, parley.base_url, ws.address_sid, "Carol")
            await customer_says(customer, "Anyone around?")  # alice and bob are both Offline
            routing_status = await eventually(
                lambda: pending_routing_status(admin, ws.workspace_sid), what="a pending task's routing_status"
            )
            assert "no eligible worker among 2 queue members" in routing_status, routing_status

            await open_desktop(supervisor, parley.base_url, demo.token(None, identity="sam", role="supervisor"))
            entry = supervisor.locator("#monitor > li").filter(has_text="Carol")
            await expect(entry.get_by_role("button")).to_contain_text("Pending")
            why = entry.locator(".task__why")
            readable = routing_status.replace(ws.queue_sid, "“Support”")
            await expect(why).to_have_text(f"Waiting: {readable}")
            await expect(why).to_have_attribute("title", routing_status)
            await expect(entry.get_by_role("button")).to_have_accessible_description(f"Waiting: {readable}")
            await expect(entry.get_by_role("button")).to_have_accessible_name(re.compile(r"^Carol .*Pending$"))
            # Wrapped, not clipped: the whole sentence fits the sidebar's width.
            assert await why.evaluate("e => e.scrollWidth <= e.clientWidth && e.getClientRects().length > 0")
            assert await why.evaluate("e => e.getBoundingClientRect().height > 20")  # on several lines
            await screenshot(supervisor, "supervisor-waiting-reason")

            # Someone can take it now: reserved, and the reason has gone with the wait.
            await set_activity(admin, ws.workspace_sid, ws.agents["alice"], ws.available_activity_sid)
            await expect(entry.get_by_role("button")).to_contain_text("Reserved")
            await expect(why).to_have_count(0)
        finally:
            await context.close()
    assert errors == []


async def pending_routing_status(admin: httpx.AsyncClient, workspace_sid: str) -> str | None:
    """The one pending task's routing_status (None until matching has recorded why it waits)."""
    r = await admin.get(f"/taskrouter/v1/Workspaces/{workspace_sid}/Tasks", params={"AssignmentStatus": "pending"})
    assert r.status_code == 200, r.text
    tasks = r.json()["tasks"]
    return tasks[0]["routing_status"] if tasks else None


async def test_a_supervisor_joins_a_live_chat_and_writes_in_it(browser: Browser, parley, demo: Demo):
    """A supervisor monitoring alice's chat joins it: the reply box opens, and what the supervisor writes
    reaches the customer and alice; before joining the supervisor can only watch."""
    ws = demo.workspace
    alice = ws.agents["alice"]
    desktops = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer_context = await browser.new_context(viewport={"width": 440, "height": 720})
    agent, supervisor = await desktops.new_page(), await desktops.new_page()
    customer = await customer_context.new_page()
    errors = watch_errors(agent, supervisor, customer)
    async with demo.admin(parley.base_url) as admin:
        try:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
            await open_desktop(agent, parley.base_url, demo.token(alice, identity="alice"))
            await start_customer_chat(customer, parley.base_url, ws.address_sid, "Carol")
            await customer_says(customer, "My card was charged twice")
            await accept_offer(agent, "Carol")

            await open_desktop(supervisor, parley.base_url, demo.token(None, identity="sam", role="supervisor"))
            entry = supervisor.locator("#monitor > li").filter(has_text="Carol")
            await entry.get_by_role("button").click()
            log = supervisor.get_by_role("log", name="Conversation with Carol")
            await expect(log.get_by_text("My card was charged twice")).to_be_visible()
            await expect(supervisor.get_by_text("Monitoring · read-only")).to_be_visible()
            await expect(supervisor.get_by_label("Reply to Carol")).to_be_hidden()

            await supervisor.get_by_role("button", name="Join chat").click()
            reply = supervisor.get_by_label("Reply to Carol")
            await expect(reply).to_be_focused()
            await expect(supervisor.get_by_text("Monitoring · read-only")).to_be_hidden()
            await reply.fill("Hi Carol, I'm Sam, alice's supervisor. We'll refund the second charge.")
            await reply.press("Enter")
            await expect(customer.get_by_role("log").get_by_text("We'll refund the second charge.")).to_be_visible()
            await expect(
                agent.get_by_role("log", name="Conversation with Carol").get_by_text("We'll refund the second charge.")
            ).to_be_visible()
            await screenshot(supervisor, "supervisor-joined")
        finally:
            await desktops.close()
            await customer_context.close()
    assert errors == []
