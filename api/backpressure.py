"""Back-pressure (docs/operations.md): an api process handles at most `limit` HTTP requests at once
(PARLEY_MAX_IN_FLIGHT_REQUESTS, default MAX_IN_FLIGHT_REQUESTS); one more is answered at once with Twilio's 503
(error 20503) and `Retry-After`, before anything reads its body or waits on the database. A saturated process
sheds what it cannot serve instead of queueing it until every request times out.

WebSockets are not counted (a desktop holds one for hours; their frames have their own limits, api/throttle.py),
nor /healthz: it answers which dependency is down, and an orchestrator must not take a busy process for a dead one."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_body
from domain.errors import ServiceUnavailable
from domain.limits import OVERLOAD_RETRY_AFTER

NOT_COUNTED = frozenset({"/healthz"})


class InFlightLimit:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0  # one event loop per process: a plain counter is enough

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in NOT_COUNTED:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            await _refuse(send, self.limit)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


async def _refuse(send: Send, limit: int) -> None:
    message = f"This server is handling its limit of {limit} requests at once; retry later"
    payload = json.dumps(error_body(ServiceUnavailable.code, message, ServiceUnavailable.status)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": ServiceUnavailable.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"retry-after", str(OVERLOAD_RETRY_AFTER).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
