"""Request bodies over their limit are refused with a 413 before the route runs (docs/security/abuse-limits.md):
at once from Content-Length when the client declares one, else while the body streams in (chunked). Form and
JSON bodies may be REQUEST_BODY_LIMIT (a workflow's WORKFLOW_BODY_LIMIT), and are read whole here before the
app sees them; a media upload may be MEDIA_MAX_BYTES and streams on to its route, which is stopped with the
same 413 the moment it reads past the limit."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from domain.errors import ParleyError
from domain.limits import MEDIA_MAX_BYTES, REQUEST_BODY_LIMIT, WORKFLOW_BODY_LIMIT

_MEDIA_UPLOAD = re.compile(r"^/mcs/v1/Services/[^/]+/Media/?$")
_WORKFLOW = re.compile(r"^/taskrouter/v1/Workspaces/[^/]+/Workflows(/[^/]+)?/?$")


class BodyTooLarge(ParleyError):
    """The 413 an oversized media upload gets from its route too (error 20413)."""

    code = 20413
    status = 413


def body_limit(path: str) -> int:
    if _MEDIA_UPLOAD.match(path):
        return MEDIA_MAX_BYTES
    if _WORKFLOW.match(path):
        return WORKFLOW_BODY_LIMIT
    return REQUEST_BODY_LIMIT


def _too_large(limit: int, size: int | None = None) -> str:
    got = f", got {size}" if size is not None else ""
    return f"The request body must be at most {limit} bytes{got}"


class BodySizeLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = body_limit(path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, _too_large(limit, declared))
            return
        if limit == MEDIA_MAX_BYTES:
            await self.app(scope, _counting(receive, limit), send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, _too_large(limit))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        await self.app(
            scope, _replay([{"type": "http.request", "body": body, "more_body": False}], None, receive), send
        )


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _replay(messages: list[Message], last: Message | None, receive: Receive) -> Receive:
    """A receive that hands over what was already read (the body, or the disconnect that cut it short)."""
    queued = list(messages) + ([last] if last is not None else [])

    async def replay() -> Message:
        if queued:
            return queued.pop(0)
        return await receive()

    return replay


def _counting(receive: Receive, limit: int) -> Receive:
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(_too_large(limit))
        return message

    return counted


async def _refuse(send: Send, message: str) -> None:
    """The 413, without reading the rest of the body: uvicorn discards what is still coming and keeps the
    connection for the next request."""
    payload = json.dumps(error_body(BodyTooLarge.code, message, BodyTooLarge.status)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
