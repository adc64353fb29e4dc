"""Offer alerts on the agent desktop, each opt-in and remembered: a chime, the tab title flashing while the
desktop is in the background, and a browser notification; and the feedback an agent gets on declining."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.browser.support import (
    Demo,
    customer_says,
    offer_from,
    open_desktop,
    set_activity,
    set_hidden,
    start_customer_chat,
    watch_errors,
)

# The browser's notification and audio APIs, observed: headless Chromium shows no notification and plays no
# sound, so the page's calls are recorded (the real constructors still run for audio).
OBSERVE = """
window.__notifications = [];
window.Notification = class {
  constructor(title, options) { window.__notifications.push({ title, ...options }); }
  static get permission() { return window.__permission || "default"; }
  static requestPermission() { window.__permission = "granted"; return Promise.resolve("granted"); }
  close() {}
};
window.__tones = 0;
const original = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.__tones += 1; return original.call(this); };
"""


async def test_opt_in_alerts_on_an_offer_and_feedback_on_declining(browser: Browser, parley, demo: Demo) -> None:
    ws = demo.workspace
    alice = ws.agents["alice"]
    desktop_context = await browser.new_context(viewport={"width": 1280, "height": 800})
    await desktop_context.add_init_script(OBSERVE)
    customer_context = await browser.new_context(viewport={"width": 440, "height": 720})
    agent = await desktop_context.new_page()
    customer = await customer_context.new_page()
    errors = watch_errors(agent, customer)
    try:
        async with demo.admin(parley.base_url) as admin:
            await set_activity(admin, ws.workspace_sid, alice, ws.available_activity_sid)
        await open_desktop(agent, parley.base_url, demo.token(alice, identity="alice"))
        await expect(agent).to_have_title("alice · Parley")
        await agent.get_by_text("Alerts", exact=True).click()
        for label in ("Play a sound", "Flash the tab title", "Show a browser notification"):
            box = agent.get_by_label(label)
            await expect(box).not_to_be_checked()  # off until the agent turns it on
            await box.check()
        # Remembered on this browser.
        await agent.reload()
        await expect(agent.get_by_role("status").filter(has_text="Online")).to_be_visible()
        await agent.get_by_text("Alerts", exact=True).click()
        for label in ("Play a sound", "Flash the tab title", "Show a browser notification"):
            await expect(agent.get_by_label(label)).to_be_checked()
        await agent.evaluate("window.__permission = 'granted'")
        await agent.get_by_label("Play a sound").uncheck()
        await agent.get_by_label("Play a sound").check()  # a click unlocks audio after the reload

        # The agent is in another tab when the chat comes in.
        await set_hidden(agent, True)
        await start_customer_chat(customer, parley.base_url, ws.address_sid, "Carol")
        await customer_says(customer, "Hello?")
        await expect(agent).to_have_title(re.compile(r"New chat from Carol"))
        notifications = await agent.evaluate("window.__notifications")
        assert notifications == [{"title": "New chat", "body": "From Carol", "tag": notifications[0]["tag"]}]
        assert notifications[0]["tag"].startswith("WR")
        assert await agent.evaluate("window.__tones") == 2

        # Back on the desktop: the title is the desktop's again; declining says where the chat goes.
        await set_hidden(agent, False)
        await expect(agent).to_have_title("alice · Parley")
        card = offer_from(agent, "Carol")
        reservation = await card.get_attribute("data-sid")
        assert reservation and reservation.startswith("WR"), reservation
        await card.get_by_role("button", name="Reject").click()
        await expect(agent.get_by_role("status").filter(has_text="You declined the chat from Carol")).to_be_visible()
        # That offer is gone (with no other agent, TaskRouter may offer the chat to alice again, as a new one).
        await expect(agent.locator(f'#incoming [data-sid="{reservation}"]')).to_have_count(0)
    finally:
        await desktop_context.close()
        await customer_context.close()
    assert errors == []
