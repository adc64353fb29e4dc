"""The supervisor view's overview: live queue figures (TaskRouter statistics), the agents with their activity
and load, the agent of each assigned task and the routing decision behind it ("Why this agent?"); figures follow
changes without a reload, and a failing statistics read leaves the rest of the view working."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Browser, Locator, Page, Route, expect

from tests.browser.support import (
    Demo,
    accept_offer,
    chat_waits_in_queue,
    customer_says,
    open_desktop,
    screenshot,
    set_activity,
    start_customer_chat,
    watch_errors,
)
from tests.support.waiting import eventually

AGE = re.compile(r"^\d+s$")  # a few seconds, as the task list writes ages


async def set_chat_capacity(admin: httpx.AsyncClient, workspace_sid: str, worker_sid: str, capacity: int) -> None:
    r = await admin.post(
        f"/taskrouter/v1/Workspaces/{workspace_sid}/Workers/{worker_sid}/Channels/chat",
        data={"Capacity": str(capacity)},
    )
    assert r.status_code == 200, r.text


async def task_statuses(admin: httpx.AsyncClient, workspace_sid: str) -> list[str]:
    r = await admin.get(f"/taskrouter/v1/Workspaces/{workspace_sid}/Tasks")
    assert r.status_code == 200, r.text
    return sorted(t["assignment_status"] for t in r.json()["tasks"])


def figure(scope: Locator, key: str) -> Locator:
    return scope.locator(f'[data-figure="{key}"]')


def queue_card(page: Page, name: str) -> Locator:
    return page.locator("#queues").get_by_role("listitem", name=name, exact=True)


def agent_row(page: Page, name: str) -> Locator:
    return page.locator("#agents > li").filter(has=page.locator(".agent__name", has_text=re.compile(f"^{name}$")))


def monitor_entry(page: Page, customer_name: str) -> Locator:
    return page.locator("#monitor > li").filter(has=page.locator(".task__name", has_text=customer_name))


async def test_the_overview_shows_queue_figures_agents_and_why_each_task_went_where_it_went(
    browser: Browser, parley, demo: Demo
):
    """alice (room for one chat) is Available and has Carol's chat; Dan's waits (bob is Offline). The supervisor
    sees exact queue and workspace figures, both agents with activity and load, Carol's agent and why alice got
    her; bob becoming Available (Dan is offered to him: alice is full) and alice going Offline show up without
    a reload, an open "Why this agent?" staying open. At 375 px the panels stack."""
    ws = demo.workspace
    alice, bob = ws.agents["alice"], ws.agents["bob"]
    desktops = await browser.new_context(viewport={"width": 1280, "height": 900})
    customers = await browser.new_context(viewport={"width": 440, "height": 720})
    agent, supervisor = await desktops.new_page(), await desktops.new_page()
    # Two customers: a browser each (the web chat keeps one chat per visitor, in the browser's storage).
    dan_context = await browser.new_context(viewport={"width": 440, "height": 720})
    carol, dan = await customers.new_page(), await dan_context.new_page()
    errors = watch_errors(agent, supervisor, carol, dan)
    async with demo.admin(parley.base_url) as admin:
        try:
            await set_chat_capacity(admin, ws.workspace_sid, alice, 1)
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
            await open_desktop(agent, parley.base_url, demo.token(alice, identity="alice"))
            await start_customer_chat(carol, parley.base_url, ws.address_sid, "Carol")
            await customer_says(carol, "My order never came")
            await accept_offer(agent, "Carol")
            await start_customer_chat(dan, parley.base_url, ws.address_sid, "Dan")
            await customer_says(dan, "Hello, anyone?")
            await eventually(
                lambda: _statuses_are(admin, ws.workspace_sid, ["assigned", "pending"]), what="Dan's chat waiting"
            )

            await open_desktop(supervisor, parley.base_url, demo.token(None, identity="sam", role="supervisor"))
            overview = supervisor.get_by_role("complementary", name="Workspace overview")
            for heading in ("Workspace", "Queues", "Agents"):
                await expect(overview.get_by_role("heading", name=re.compile(f"^{heading}"))).to_be_visible()

            # Workspace totals (GET …/RealTimeStatistics).
            totals = supervisor.locator("#totals")
            await expect(totals).to_have_attribute("aria-live", "polite")
            await expect(figure(totals, "waiting")).to_have_text("1")
            await expect(figure(totals, "assigned")).to_have_text("1")
            await expect(figure(totals, "wrapping")).to_have_text("0")
            await expect(figure(totals, "available")).to_have_text("1 of 2")
            await expect(figure(totals, "longest")).to_have_text(AGE)
            await expect(supervisor.locator("#totals-activities")).to_have_text(
                "Agents by activity: Available 1 · Break 0 · Offline 1 · Unavailable 0"
            )

            # The Support queue (GET …/TaskQueues/Statistics): Dan waits, alice is available of alice and bob,
            # Carol's chat is assigned; both chats entered in the last 15 minutes and Carol's was accepted.
            support = queue_card(supervisor, "Support")
            await expect(support.get_by_role("heading", name="Support")).to_be_visible()
            await expect(figure(support, "waiting")).to_have_text("1")
            await expect(figure(support, "agents")).to_have_text("1 / 2")
            await expect(figure(support, "assigned")).to_have_text("1")
            await expect(figure(support, "entered")).to_have_text("2")
            await expect(figure(support, "longest")).to_have_text(AGE)
            await expect(figure(support, "avg-wait")).to_have_text(AGE)
            await expect(support.get_by_role("term").filter(has_text="Waiting")).to_have_text("Waiting in Support")

            # The agents (GET …/Workers and …/Workers/{WK}/Channels): activity and load per channel.
            alice_row, bob_row = agent_row(supervisor, "Alice"), agent_row(supervisor, "Bob")
            await expect(alice_row.locator(".agent__activity")).to_have_text("Available (takes tasks)")
            await expect(alice_row.locator(".agent__load")).to_have_text("Chat 1/1")
            await expect(bob_row.locator(".agent__activity")).to_have_text("Offline (takes no tasks)")
            await expect(bob_row.locator(".agent__load")).to_have_text("Chat 0/3")

            # Carol's task names its agent, and says why alice got it.
            carol_entry = monitor_entry(supervisor, "Carol")
            await expect(carol_entry.get_by_role("button")).to_contain_text("Agent: Alice")
            await expect(carol_entry.get_by_role("button")).to_contain_text(re.compile(r"Web chat · Support · \d+s"))
            await expect(carol_entry.get_by_role("button")).to_contain_text("Assigned")
            why = carol_entry.locator("details.decision")
            summary = why.locator("summary")
            await expect(summary).to_have_text("Why this agent? (Carol)")
            await summary.focus()  # keyboard reachable: Enter opens it
            await supervisor.keyboard.press("Enter")
            await expect(why).to_have_attribute("open", "")
            chosen = why.locator(".decision__chosen")
            clock = r"\d\d:\d\d:\d\d( [AP]M)?"  # the local time of the record's ISO timestamp
            await expect(chosen).to_have_text(
                re.compile(rf"^Alice got this task: ranked 1 of 1 eligible by longest idle \(idle since {clock}\)\.$")
            )
            await expect(why.locator(".decision__step")).to_have_text(
                "Support queue, filter “Chat”, target 1 · 1 of 2 queue members eligible"
            )
            await expect(why.get_by_role("list", name="Other candidates:").get_by_role("listitem")).to_have_text(
                ["Bob: activity 'Offline' is unavailable"]
            )
            assert "{" not in await why.inner_text()  # sentences, not raw JSON
            # Dan waits: no agent, no decision yet, and the reason he waits.
            dan_entry = monitor_entry(supervisor, "Dan")
            await expect(dan_entry.get_by_role("button")).to_contain_text("Pending")
            await expect(dan_entry.locator(".task__agent")).to_be_hidden()
            await expect(dan_entry.locator("details.decision")).to_have_count(0)
            await expect(dan_entry.locator(".task__why")).to_contain_text("Waiting: no eligible worker among 2")
            await screenshot(supervisor, "supervisor-overview", readme=True)

            # bob becomes Available: Dan is offered to him (alice is full). No reload.
            await set_activity(admin, ws.workspace_sid, bob, ws.available_activity_sid)
            await expect(figure(support, "agents")).to_have_text("2 / 2")
            await expect(figure(totals, "available")).to_have_text("2 of 2")
            await expect(bob_row.locator(".agent__activity")).to_have_text("Available (takes tasks)")
            await expect(dan_entry.get_by_role("button")).to_contain_text("Reserved")
            await expect(dan_entry.locator(".task__agent")).to_have_text("Offered to Bob")
            await expect(figure(support, "waiting")).to_have_text("1")  # reserved still waits
            await expect(figure(totals, "waiting")).to_have_text("1")
            dan_why = dan_entry.locator("details.decision")
            await dan_why.locator("summary").click()
            await expect(dan_why.locator(".decision__chosen")).to_contain_text(
                re.compile(r"^Bob is being offered this task: ranked 1 of 1 eligible by longest idle")
            )
            await expect(dan_why.locator(".decision__candidate")).to_have_text(
                ["Alice: at capacity (1 assigned + 0 reserved of 1)"]
            )
            await expect(why).to_have_attribute("open", "")  # refreshed in place: Carol's stayed open

            # alice goes Offline: one agent available of two, and she still has Carol's chat.
            await set_activity(admin, ws.workspace_sid, alice, ws.offline_activity_sid)
            await expect(figure(support, "agents")).to_have_text("1 / 2")
            await expect(figure(totals, "available")).to_have_text("1 of 2")
            await expect(alice_row.locator(".agent__activity")).to_have_text("Offline (takes no tasks)")
            await expect(alice_row.locator(".agent__load")).to_have_text("Chat 1/1")
            await expect(figure(support, "assigned")).to_have_text("1")
            await expect(carol_entry.get_by_role("button")).to_contain_text("Agent: Alice")

            # A phone: the panels stack (tasks, then the overview), nothing wider than the screen.
            await supervisor.set_viewport_size({"width": 375, "height": 740})
            await expect(figure(support, "agents")).to_have_text("1 / 2")
            sidebar = await supervisor.locator(".sidebar").bounding_box()
            panel = await overview.bounding_box()
            assert sidebar and panel
            assert panel["y"] >= sidebar["y"] + sidebar["height"] - 1, (sidebar, panel)
            assert abs(panel["x"] - sidebar["x"]) < 1 and panel["width"] <= 375, (sidebar, panel)
            assert await supervisor.evaluate("document.documentElement.scrollWidth <= 375")
            assert await supervisor.locator("#layout").evaluate("e => e.scrollWidth <= e.clientWidth")
            await overview.scroll_into_view_if_needed()
            await screenshot(supervisor, "supervisor-overview-375")
        finally:
            await desktops.close()
            await customers.close()
            await dan_context.close()
    assert errors == []


async def _statuses_are(admin: httpx.AsyncClient, workspace_sid: str, wanted: list[str]) -> bool | None:
    return True if await task_statuses(admin, workspace_sid) == wanted else None


async def test_a_failed_statistics_read_shows_a_notice_and_the_rest_keeps_working(browser: Browser, parley, demo: Demo):
    """The statistics endpoints fail: the overview says so (a status message), the task list and the agents
    panel go on updating; once they answer again the notice goes and the figures are there."""
    ws = demo.workspace
    await chat_waits_in_queue(demo, parley.base_url)
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    customer, supervisor = await context.new_page(), await context.new_page()
    errors = watch_errors(customer, supervisor)

    async def fail(route: Route) -> None:
        await route.fulfill(
            status=500, content_type="application/json", json={"code": 20500, "message": "Statistics are down"}
        )

    async with demo.admin(parley.base_url) as admin:
        try:
            await supervisor.route("**/TaskQueues/Statistics*", fail)
            await supervisor.route("**/RealTimeStatistics", fail)
            await open_desktop(supervisor, parley.base_url, demo.token(None, identity="sam", role="supervisor"))
            notice = supervisor.locator("#stats-notice")
            await expect(notice).to_have_role("status")
            await expect(notice).to_have_text(
                "Some figures could not be updated (queue statistics: Statistics are down; workspace statistics: "
                "Statistics are down). Showing the last ones; retrying every 5 s."
            )
            support = queue_card(supervisor, "Support")
            await expect(figure(support, "waiting")).to_have_text("—")  # named from …/TaskQueues, no figures

            # The rest works: a new chat is listed, and the agents follow a change of activity.
            await start_customer_chat(customer, parley.base_url, ws.address_sid, "Carol")
            await customer_says(customer, "Hello?")
            await expect(monitor_entry(supervisor, "Carol").get_by_role("button")).to_contain_text("Pending")
            await set_activity(admin, ws.workspace_sid, ws.agents["bob"], ws.available_activity_sid)
            await expect(agent_row(supervisor, "Bob").locator(".agent__activity")).to_have_text(
                "Available (takes tasks)"
            )
            await expect(monitor_entry(supervisor, "Carol").locator(".task__agent")).to_have_text("Offered to Bob")

            await supervisor.unroute("**/TaskQueues/Statistics*")
            await supervisor.unroute("**/RealTimeStatistics")
            await expect(notice).to_have_text("")
            await expect(figure(support, "waiting")).to_have_text("1")
            await expect(figure(support, "agents")).to_have_text("1 / 2")
            await expect(figure(supervisor.locator("#totals"), "available")).to_have_text("1 of 2")
        finally:
            await context.close()
    # The failed reads are reported on the console; nothing else may fail.
    assert [e for e in errors if "status of 500" not in e] == []
