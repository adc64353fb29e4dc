"""Request ids, log context and the HTTP metrics, as one ASGI middleware outside the rest (docs/observability.md).

Every HTTP request gets a request id: the caller's `X-Request-Id` when it is a sane token, else a new `RQ…` id,
returned in `X-Request-Id` and in Twilio's `Twilio-Request-Id`. While the request runs, the log context
(core/logging.py) holds the id and the ASGI scope, from which a JSON log line learns the account (once
authenticated) and the conversation in the path. On the way out, the request is counted and timed under its
route template (`/conversations/v1/Conversations/{sid}`, never the raw path); WebSockets are counted while open.

On the api's separate metrics port (`PARLEY_METRICS_PORT`) only `/metrics` is served."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logging import REQUEST_CONTEXT
from core.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS, WEBSOCKET_CONNECTIONS

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
METRICS_PATH = "/metrics"
# Requests no route matched: one label value, whatever their paths.
UNMATCHED = "unmatched"


def request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"x-request-id":
            given = value.decode("latin-1").strip()
            if _REQUEST_ID.fullmatch(given):
                return given
            break
    return "RQ" + uuid.uuid4().hex


def route_template(scope: Scope, root_path: str) -> str:
    """The matched route's path template with the prefix it was included under (each path parameter's segment
    named `{Param}`, as `/conversations/v1/Services/{ChatServiceSid}/Conversations/{sid}`), a mounted app's
    prefix (`/agent/*`), or `unmatched`: never a raw path, so the label's values are bounded by the routes."""
    mounted = scope.get("root_path", "")
    if isinstance(mounted, str) and mounted != root_path and mounted.startswith(root_path):
        return mounted[len(root_path) :] + "/*"
    if "route" not in scope and "endpoint" not in scope:
        return UNMATCHED
    params = {str(value): name for name, value in (scope.get("path_params") or {}).items()}
    if any("/" in value for value in params):
        # A parameter spanning segments: the route's own template (without an include prefix) is the safe one.
        return str(getattr(scope.get("route"), "path", UNMATCHED))
    path = scope.get("path", "")[len(root_path) :]
    return "/".join("{" + params[part] + "}" if part in params else part for part in path.split("/"))


def on_metrics_port(scope: Scope, metrics_port: int | None) -> bool:
    server = scope.get("server")
    return metrics_port is not None and server is not None and server[1] == metrics_port


class Observability:
    def __init__(self, app: ASGIApp, metrics_port: int | None = None) -> None:
        self.app = app
        self.metrics_port = metrics_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if on_metrics_port(scope, self.metrics_port) and (scope["type"] != "http" or scope["path"] != METRICS_PATH):
            await _not_here(scope, send)
            return
        rid = request_id(scope)
        token = REQUEST_CONTEXT.set({"request_id": rid, "scope": scope})
        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send, rid)
            else:
                await self._websocket(scope, receive, send)
        finally:
            REQUEST_CONTEXT.reset(token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        root_path = scope.get("root_path", "")
        started = time.perf_counter()
        status = 500  # an app that raises before answering is answered 500 by the server

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = rid
                headers["Twilio-Request-Id"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = route_template(scope, root_path)
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_REQUEST_DURATION.labels(scope["method"], route).observe(time.perf_counter() - started)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        root_path = scope.get("root_path", "")
        opened: list[str] = []

        async def send_counting(message: Message) -> None:
            if message["type"] == "websocket.accept" and not opened:
                opened.append(route_template(scope, root_path))
                WEBSOCKET_CONNECTIONS.labels(opened[0]).inc()
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            if opened:
                WEBSOCKET_CONNECTIONS.labels(opened[0]).dec()


async def _not_here(scope: Scope, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = b"Only /metrics is served on this port\n"
    headers: list[Any] = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})
