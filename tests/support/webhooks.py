"""A webhook receiver on loopback: a real HTTP server (in a thread) that records every request Parley makes
and answers what the test scripted (a status, a JSON body, a delay), so retries, rejections and pre-event
modifications are tested over the wire."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator

from tests.support.waiting import eventually


@dataclass
class Received:
    method: str
    url: str  # as Parley called it (scheme, host, port, path and query)
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def form(self) -> dict[str, str]:
        if self.method == "GET":
            return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    @property
    def event(self) -> str:
        return self.form.get("EventType", "")

    def signed_by(self, auth_token: str) -> bool:
        """What a receiver does: the official validator, on the URL it was called at and the parameters."""
        validator = RequestValidator(auth_token)
        params = {} if self.method == "GET" else self.form
        return bool(validator.validate(self.url, params, self.headers.get("x-twilio-signature", "")))


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # JSON-encoded when not bytes
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Receiver:
    base_url: str
    requests: list[Received] = field(default_factory=list)
    # Called for each request; the default answers 200 with an empty body.
    script: Callable[[Received], Answer] = lambda _: Answer()
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"{self.base_url}{path}"

    def of(self, event: str, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.event == event and (path is None or urlsplit(r.url).path == path)]

    async def wait_for(
        self, event: str, *, count: int = 1, path: str | None = None, timeout: float = 20
    ) -> list[Received]:

        async def probe() -> list[Received] | None:
            found = self.of(event, path)
            return found if len(found) >= count else None

        return await eventually(probe, timeout=timeout, what=f"{count} {event} webhook(s)")


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            host = self.headers.get("host", "")
            received = Received(
                method=self.command,
                url=f"http://{host}{self.path}",
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                at=time.monotonic(),
            )
            with receiver.lock:
                receiver.requests.append(received)
            answer = receiver.script(received)
            if answer.delay:
                time.sleep(answer.delay)
            payload = (
                answer.body
                if isinstance(answer.body, bytes)
                else (b"" if answer.body is None else json.dumps(answer.body).encode())
            )
            try:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the caller gave up waiting (a timeout test)

        do_POST = _handle
        do_GET = _handle

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
