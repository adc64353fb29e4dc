"""Input no layer below may choke on, refused at the edge with Twilio's 400 before anything runs: a NUL
character anywhere in the path, the query or a form or JSON body (PostgreSQL text cannot hold one; left
through, it surfaced as a 500 after the request had already done work), and a body that is not valid UTF-8.
Media uploads (a file's bytes) are not text and pass untouched."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body

TEXT_BODIES = ("application/x-www-form-urlencoded", "application/json")


def nul_in(value: object) -> bool:
    """A NUL in a decoded JSON value or form text, at any depth."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(nul_in(k) or nul_in(v) for k, v in value.items())
    if isinstance(value, list):
        return any(nul_in(v) for v in value)
    return False


class InputHardening:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _url_problem(scope)
        if problem is None:
            content_type = _header(scope, b"content-type").split(";", 1)[0].strip().lower()
            if content_type in TEXT_BODIES:
                body, receive = await _buffered(receive)
                problem = _body_problem(content_type, body)
        if problem is not None:
            await _refuse(send, problem)
            return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _url_problem(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", "") or b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
        return "Request URL contains a NUL character"
    return None


def _body_problem(content_type: str, body: bytes) -> str | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"Request body is not valid UTF-8 (byte {exc.start})"
    if content_type == "application/json":
        try:
            parsed: Any = json.loads(text) if text.strip() else None
        except ValueError:
            return None  # the route answers malformed JSON itself
        return "Request body contains a NUL character" if nul_in(parsed) else None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return "Request body is not valid UTF-8 once decoded"
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        return "Request body contains a NUL character"
    return None


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole body, and hand the app a receive that replays it."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            # The client went away: let the app see that as it would have.
            async def gone(last: Message = message) -> Message:
                return last

            return b"", gone
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _refuse(send: Send, message: str) -> None:
    payload = json.dumps(error_body(20001, message, 400)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
