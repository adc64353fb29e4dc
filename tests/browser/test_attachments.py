"""Message media in the web chat and the agent desktop: a customer sends a picture (a thumbnail on both sides,
full size in a viewer, still there after a reload), an agent sends a document (a download link with the same
bytes), and what the server would refuse is refused in the page before anything is uploaded or sent, while
what the server itself refuses is shown in its own words."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.async_api import Browser, Locator, Page, Request, Route, expect

from domain.limits import MEDIA_MAX_BYTES
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
    start_customer_chat,
    watch_errors,
)

CONVERSATIONS = "/conversations/v1/Conversations"


def png(width: int, height: int, rgb: tuple[int, int, int] = (220, 38, 38)) -> bytes:
    """A valid PNG of one colour (8-bit RGB, no filter)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
    b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 200 100]>> endobj\n"
    b"trailer <</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class Chat:
    """Carol's web chat, accepted by alice on her desktop."""

    agent: Page
    customer: Page
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
            yield Chat(agent, customer, admin, errors)
        finally:
            await desktops.close()
            await customer_context.close()
    assert errors == []


def bubble(log: Locator, text: str) -> Locator:
    return log.locator(".msg").filter(has_text=text)


async def messages(admin: httpx.AsyncClient, conversation_sid: str) -> list[dict]:
    r = await admin.get(f"{CONVERSATIONS}/{conversation_sid}/Messages", params={"PageSize": "100"})
    assert r.status_code == 200, r.text
    return list(r.json()["messages"])


async def content(admin: httpx.AsyncClient, message: dict) -> bytes:
    """The bytes of the message's (only) media, downloaded with the account's credentials."""
    [item] = message["media"]
    r = await admin.get(f"/mcs/v1/Services/{message['chat_service_sid']}/Media/{item['sid']}/Content")
    assert r.status_code == 200, r.text
    return r.content


def record_uploads(*pages: Page) -> list[str]:
    """The media uploads (POST …/Media) the pages make, as they make them."""
    seen: list[str] = []

    def on_request(request: Request) -> None:
        if request.method == "POST" and "/mcs/" in request.url:
            seen.append(request.url)

    for page in pages:
        page.on("request", on_request)
    return seen


async def test_a_customers_picture_is_a_thumbnail_on_both_sides_and_after_a_reload(
    browser: Browser, parley, demo: Demo, tmp_path: Path
):
    """Carol attaches a PNG and writes a line: one message with both. She and alice see the picture itself (it
    has loaded), alice opens it full size and closes it again, and a reload of either page still shows it."""
    picture = png(6, 4)
    path = tmp_path / "receipt.png"
    path.write_bytes(picture)
    async with chat_with_alice(browser, parley, demo, "Hi, I was charged twice") as chat:
        await chat.customer.get_by_label("Attach a file").set_input_files(path)
        draft = chat.customer.locator("#attachment")
        await expect(draft).to_contain_text("receipt.png")
        await expect(draft.get_by_role("status")).to_have_text("Ready to send")
        await screenshot(chat.customer, "customer-attachment-ready")
        composer = chat.customer.get_by_label("Type your message")
        await composer.fill("This is the receipt")
        await composer.press("Enter")
        await expect(draft).to_be_hidden()

        own = bubble(chat.customer_log, "This is the receipt").get_by_alt_text("receipt.png")
        await expect(own).to_be_visible()
        await expect(own).to_have_js_property("naturalWidth", 6)
        await expect(chat.customer_log.locator(".msg--pending, .msg--failed")).to_have_count(0)

        thumbnail = bubble(chat.agent_log, "This is the receipt").get_by_alt_text("receipt.png")
        await expect(thumbnail).to_be_visible()
        await expect(thumbnail).to_have_js_property("naturalWidth", 6)
        await screenshot(chat.agent, "agent-picture")

        conversation_sid = await customer_conversation_sid(chat.customer, demo.workspace.address_sid)
        [sent] = [m for m in await messages(chat.admin, conversation_sid) if m["media"]]
        assert sent["body"] == "This is the receipt"
        assert [(m["filename"], m["content_type"], m["size"]) for m in sent["media"]] == [
            ("receipt.png", "image/png", len(picture))
        ]
        assert await content(chat.admin, sent) == picture

        # Full size, in a modal viewer: Escape closes it and focus goes back to the thumbnail.
        open_button = chat.agent_log.get_by_role("button", name="receipt.png")
        await open_button.press("Enter")
        viewer = chat.agent.get_by_role("dialog", name="receipt.png")
        await expect(viewer).to_be_visible()
        await expect(viewer.get_by_alt_text("receipt.png")).to_have_js_property("naturalWidth", 6)
        await screenshot(chat.agent, "agent-picture-viewer")
        await chat.agent.keyboard.press("Escape")
        await expect(viewer).to_be_hidden()
        await expect(open_button).to_be_focused()

        # Replayed after a reload: downloaded again with the page's token.
        await chat.agent.reload()
        await my_task(chat.agent, "Carol").click()
        replayed = bubble(chat.agent_log, "This is the receipt").get_by_alt_text("receipt.png")
        await expect(replayed).to_have_js_property("naturalWidth", 6)
        await expect(chat.agent_log.get_by_alt_text("receipt.png")).to_have_count(1)
        await chat.customer.reload()
        await expect(chat.customer_log.get_by_alt_text("receipt.png")).to_have_js_property("naturalWidth", 6)
        await expect(chat.customer_log.get_by_alt_text("receipt.png")).to_have_count(1)


async def test_an_agents_document_is_a_download_link_with_the_same_bytes(
    browser: Browser, parley, demo: Demo, tmp_path: Path
):
    """alice attaches a PDF and sends it without a word: Carol gets a link with the file's name and size, and
    downloading it gives exactly the bytes alice uploaded, also after Carol reloads."""
    path = tmp_path / "invoice-4521.pdf"
    path.write_bytes(PDF)
    size = f"{len(PDF)} bytes"
    async with chat_with_alice(browser, parley, demo, "Could you send me the invoice?") as chat:
        await chat.agent.get_by_label("Attach a file").set_input_files(path)
        draft = chat.agent.locator("#reply-attachment")
        await expect(draft).to_contain_text("invoice-4521.pdf")
        await expect(draft).to_contain_text(size)
        await expect(draft.get_by_role("status")).to_have_text("Ready to send")
        await chat.agent.get_by_role("button", name="Send", exact=True).click()
        await expect(draft).to_be_hidden()

        mine = chat.agent_log.get_by_role("link", name=re.compile(r"invoice-4521\.pdf"))
        await expect(mine).to_have_attribute("href", re.compile(r"^blob:"))
        await expect(chat.agent_log.locator(".msg--pending, .msg--failed")).to_have_count(0)
        await expect(my_task(chat.agent, "Carol")).to_contain_text("invoice-4521.pdf")  # the task's preview

        link = chat.customer_log.get_by_role("link", name=re.compile(r"invoice-4521\.pdf"))
        await expect(link).to_contain_text(size)
        await expect(link).to_have_attribute("download", "invoice-4521.pdf")
        await expect(link).to_have_attribute("href", re.compile(r"^blob:"))
        await screenshot(chat.customer, "customer-document")
        async with chat.customer.expect_download() as downloading:
            await link.click()
        download = await downloading.value
        assert download.suggested_filename == "invoice-4521.pdf"
        assert Path(await download.path()).read_bytes() == PDF

        conversation_sid = await customer_conversation_sid(chat.customer, demo.workspace.address_sid)
        [sent] = [m for m in await messages(chat.admin, conversation_sid) if m["media"]]
        assert sent["body"] is None and sent["author"] == "alice"
        assert [(m["filename"], m["content_type"]) for m in sent["media"]] == [("invoice-4521.pdf", "application/pdf")]
        assert await content(chat.admin, sent) == PDF

        await chat.customer.reload()
        replayed = chat.customer_log.get_by_role("link", name=re.compile(r"invoice-4521\.pdf"))
        await expect(replayed).to_have_attribute("href", re.compile(r"^blob:"))
        fetched = await replayed.evaluate(
            "async a => Array.from(new Uint8Array(await (await fetch(a.href)).arrayBuffer()))"
        )
        assert bytes(fetched) == PDF


async def test_what_the_server_would_refuse_is_refused_in_the_page_and_nothing_is_sent(
    browser: Browser, parley, demo: Demo, tmp_path: Path
):
    """A program and an oversized file are refused before any upload, with a message that says why; a file the
    server refuses (its type changed on the way) shows the server's message; a removed attachment is not sent."""
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00\x03" + b"\0" * 64)
    huge = tmp_path / "scan.pdf"
    with huge.open("wb") as f:
        f.truncate(MEDIA_MAX_BYTES + 1)
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"order #4521, charged twice\n")
    async with chat_with_alice(browser, parley, demo, "Hello, I need to send you something") as chat:
        uploads = record_uploads(chat.customer, chat.agent)

        await chat.customer.get_by_label("Attach a file").set_input_files(program)
        refused = chat.customer.locator("#attach-error")
        await expect(refused).to_be_visible()
        await expect(refused).to_have_attribute("role", "alert")
        await expect(refused).to_contain_text("“setup.exe” can't be sent")
        await expect(refused).to_contain_text("PDF and plain text files are accepted")
        await expect(chat.customer.locator("#attachment")).to_be_hidden()
        await screenshot(chat.customer, "customer-attachment-refused")

        await chat.agent.get_by_label("Attach a file").set_input_files(huge)
        too_big = chat.agent.locator("#reply-file-error")
        await expect(too_big).to_contain_text("“scan.pdf” is too large to send (16 MB")
        await expect(too_big).to_contain_text("at most 16 MB")
        await expect(chat.agent.locator("#reply-attachment")).to_be_hidden()

        # Sending now sends the words alone; the requests come in order, so an upload would be recorded by now.
        await customer_says(chat.customer, "Never mind, just words then")
        await agent_says(chat.agent, "Carol", "No problem")
        assert uploads == []
        conversation_sid = await customer_conversation_sid(chat.customer, demo.workspace.address_sid)
        assert [m["media"] for m in await messages(chat.admin, conversation_sid)] == [None, None, None]
        await expect(chat.customer_log.locator(".attachment")).to_have_count(0)
        await expect(chat.agent_log.locator(".attachment")).to_have_count(0)

        # The server refuses an upload (its Content-Type is changed on the way): the page says what it said.
        async def tamper(route: Route) -> None:
            await route.continue_(headers={**route.request.headers, "content-type": "application/x-tampered"})

        await chat.agent.route("**/mcs/v1/Services/*/Media?*", tamper)
        await chat.agent.get_by_label("Attach a file").set_input_files(notes)
        await expect(too_big).to_contain_text("“notes.txt” was not uploaded")
        await expect(too_big).to_contain_text("Content-Type 'application/x-tampered' is not accepted")
        await expect(chat.agent.locator("#reply-attachment")).to_be_hidden()
        await chat.agent.unroute("**/mcs/v1/Services/*/Media?*", tamper)
        chat.errors[:] = [e for e in chat.errors if "status of 415" not in e]  # the console reports the 415

        # Attached, then removed: the next reply goes without it.
        await chat.agent.get_by_label("Attach a file").set_input_files(notes)
        draft = chat.agent.locator("#reply-attachment")
        await expect(draft.get_by_role("status")).to_have_text("Ready to send")
        await expect(too_big).to_be_hidden()
        await draft.get_by_role("button", name="Remove notes.txt").click()
        await expect(draft).to_be_hidden()
        await expect(chat.agent.get_by_label("Attach a file")).to_be_focused()
        await agent_says(chat.agent, "Carol", "Sorry, I meant to say: all sorted")
        assert [m["media"] for m in await messages(chat.admin, conversation_sid)] == [None] * 4
        await expect(chat.customer_log.get_by_text("all sorted")).to_be_visible()
        await expect(chat.customer_log.locator(".attachment")).to_have_count(0)
