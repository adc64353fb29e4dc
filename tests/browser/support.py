"""Shared pieces of the browser tests: Debian's Chromium, a demo workspace in an account of its own, error
collection, screenshots, and the few steps (a customer writing, an agent taking an offer) most tests repeat."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from playwright.async_api import ConsoleMessage, Locator, Page, expect
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant, TaskRouterGrant

from storage.bootstrap import Credentials, DemoWorkspace

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".data" / "screenshots"
# The README's pictures: written by the tests that take them when PARLEY_SCREENSHOTS=update (`make screenshots`).
README_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class Demo:
    """A demo workspace in an account of its own (its web-chat address is unique per account, and the
    session account's may already be taken by another test)."""

    credentials: Credentials
    workspace: DemoWorkspace

    def token(self, worker_sid: str | None, *, identity: str, role: str = "worker") -> str:
        c = self.credentials
        token = AccessToken(c.account_sid, c.api_key_sid, c.api_key_secret, identity=identity, ttl=3600)
        token.add_grant(TaskRouterGrant(workspace_sid=self.workspace.workspace_sid, worker_sid=worker_sid, role=role))
        token.add_grant(ChatGrant())
        return str(token.to_jwt())

    def admin(self, base_url: str) -> httpx.AsyncClient:
        c = self.credentials
        return httpx.AsyncClient(base_url=base_url, auth=(c.account_sid, c.auth_token))


def watch_errors(*pages: Page, into: list[str] | None = None) -> list[str]:
    """Collects the pages' uncaught exceptions and console errors into one list (`into`, else a new one), so
    a broken page fails the test. The list fills as the pages run: keep it, do not concatenate copies."""
    errors: list[str] = [] if into is None else into

    def watch(page: Page) -> None:
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                errors.append(f"{page.url}: console: {message.text}")

        page.on("console", on_console)

    for page in pages:
        watch(page)
    return errors


async def screenshot(page: Page, name: str, *, readme: bool = False) -> None:
    """Saves what the page shows to .data/screenshots; a README picture (`readme`) also to docs/screenshots
    when PARLEY_SCREENSHOTS=update, so the README shows the product as the tests last saw it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled")
    if readme and os.environ.get("PARLEY_SCREENSHOTS") == "update":
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(README_SCREENSHOTS / f"{name}.png"), animations="disabled")


async def set_activity(admin: httpx.AsyncClient, workspace_sid: str, worker_sid: str, activity_sid: str) -> None:
    r = await admin.post(
        f"/taskrouter/v1/Workspaces/{workspace_sid}/Workers/{worker_sid}", data={"ActivitySid": activity_sid}
    )
    assert r.status_code == 200, r.text


async def worker_activity(admin: httpx.AsyncClient, workspace_sid: str, worker_sid: str) -> str:
    r = await admin.get(f"/taskrouter/v1/Workspaces/{workspace_sid}/Workers/{worker_sid}")
    assert r.status_code == 200, r.text
    return str(r.json()["activity_name"])


async def chat_waits_in_queue(demo: Demo, base_url: str) -> None:
    """The demo address starts a live chat even when nobody is available (the customer waits in the queue)
    instead of offering its offline form: for tests of waiting customers."""
    async with demo.admin(base_url) as admin:
        answer = await admin.post(
            f"/parley/v1/WebChatSettings/{demo.workspace.address_sid}", data={"OfflineForm": "false"}
        )
        assert answer.status_code == 200, answer.text


async def start_customer_chat(customer: Page, base_url: str, address_sid: str, name: str) -> None:
    await customer.goto(f"{base_url}/chat/?address={address_sid}")
    await customer.get_by_label("Your name").fill(name)
    await customer.get_by_role("button", name="Start chat").click()
    await expect(customer.get_by_label("Type your message")).to_be_visible()


async def customer_says(customer: Page, text: str) -> None:
    """Sends `text` from the web chat and waits until the server has stored it."""
    composer = customer.get_by_label("Type your message")
    await composer.fill(text)
    await composer.press("Enter")
    log = customer.get_by_role("log")
    await expect(log.get_by_text(text)).to_be_visible()
    await expect(log.locator(".msg--pending")).to_have_count(0)


async def open_desktop(page: Page, base_url: str, token: str) -> None:
    await page.goto(f"{base_url}/agent/?token={token}")
    await expect(page.get_by_role("status").filter(has_text="Online")).to_be_visible()


def offer_from(agent: Page, customer_name: str) -> Locator:
    return agent.get_by_role("listitem", name=re.compile(rf"Incoming .* from {re.escape(customer_name)}"))


async def accept_offer(agent: Page, customer_name: str) -> Locator:
    """Accepts the offer from `customer_name`; returns the conversation's log."""
    card = offer_from(agent, customer_name)
    await card.get_by_role("button", name="Accept").click()
    await expect(card).to_have_count(0)
    return agent.get_by_role("log", name=f"Conversation with {customer_name}")


def my_task(agent: Page, customer_name: str) -> Locator:
    return agent.locator("#tasks").get_by_role("button", name=re.compile(re.escape(customer_name)))


async def agent_says(agent: Page, customer_name: str, text: str) -> None:
    """Sends `text` from the desktop's reply box and waits until the server has stored it."""
    reply = agent.get_by_label(f"Reply to {customer_name}")
    await reply.fill(text)
    await reply.press("Enter")
    log = agent.get_by_role("log", name=f"Conversation with {customer_name}")
    await expect(log.get_by_text(text)).to_be_visible()
    await expect(log.locator(".msg--pending, .msg--failed")).to_have_count(0)


async def set_hidden(page: Page, hidden: bool) -> None:
    """The user switches to another tab (hidden) or back: the page's visibility as the Page Visibility API
    reports it, with its `visibilitychange` event. Headless pages are always visible otherwise; a reload
    makes the page visible again."""
    await page.evaluate(
        """hidden => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
            Object.defineProperty(document, "visibilityState", {
                configurable: true, get: () => (hidden ? "hidden" : "visible"),
            });
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


async def customer_conversation_sid(customer: Page, address_sid: str) -> str:
    """The conversation of the web chat open in `customer` (from its session)."""
    session = await customer.evaluate("key => JSON.parse(localStorage.getItem(key))", f"parley.webchat.{address_sid}")
    sid = session["conversation_sid"]
    assert sid.startswith("CH"), sid
    return str(sid)


@contextmanager
def serve_page(html: str) -> Iterator[str]:
    """Serves `html` at / (and an empty favicon) from a real loopback server on a port of its own, so the page
    has another origin than the api yet lives in the same (loopback) address space."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = self.path == "/"
            self.send_response(200 if page else 204)
            if page:
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if page:
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
