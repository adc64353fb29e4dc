"""Abuse limits on who calls, in memory, per api process (docs/security/abuse-limits.md): token buckets per
credential and per web chat visitor, and a back-off on failed authentication per Basic username and per client
IP. A refusal is Twilio's 429 (error 20429) with `Retry-After` in whole seconds.

The client IP is the ASGI client address: behind a proxy, uvicorn puts the forwarded address there only when
the proxy is one it trusts (its FORWARDED_ALLOW_IPS); X-Forwarded-For is never read here."""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import FastAPI, Request
from fastapi.requests import HTTPConnection
from fastapi.responses import JSONResponse

from api.auth import Principal
from api.errors import error_body
from core.settings import Settings
from domain.errors import ParleyError
from domain.limits import ABUSE_TRACKED_KEYS, WEBSOCKET_FRAME_BURST, WEBSOCKET_FRAMES_PER_SECOND

Clock = Callable[[], float]
S = TypeVar("S")


class RateLimited(ParleyError):
    code = 20429
    status = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        # Whole seconds, at least one: a client that waits this long gets through.
        self.retry_after = max(1, math.ceil(retry_after))


def client_ip(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


class _Keyed(ABC, Generic[S]):
    """Per-key state that forgets idle keys once `max_keys` are tracked, so a flood of new keys (random
    usernames, many IPs) cannot grow a process's memory without bound."""

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self.entries: dict[str, S] = {}

    def _prune(self, now: float) -> None:
        if len(self.entries) < self.max_keys:
            return
        for key in [k for k, state in self.entries.items() if self._idle(state, now)]:
            del self.entries[key]
        # Still mostly active keys: forget the oldest ones down to half, rather than refuse new keys or sweep
        # the whole table again for the next one.
        if len(self.entries) > self.max_keys * 3 // 4:
            for key in list(self.entries)[: len(self.entries) - self.max_keys // 2]:
                del self.entries[key]

    @abstractmethod
    def _idle(self, state: S, now: float) -> bool:
        """Whether forgetting the key changes nothing (a full bucket, no recent failure)."""


class TokenBuckets(_Keyed[tuple[float, float]]):
    """`rate` tokens a second per key, holding at most `burst`; each request takes one."""

    def __init__(self, *, rate: float, burst: int, clock: Clock = time.monotonic, max_keys: int = ABUSE_TRACKED_KEYS):
        super().__init__(max_keys)
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock

    def take(self, key: str) -> float:
        """0 if the key had a token (now taken), else the seconds until it has one."""
        now = self.clock()
        state = self.entries.get(key)
        if state is None:
            self._prune(now)
            tokens = self.burst
        else:
            tokens = min(self.burst, state[0] + (now - state[1]) * self.rate)
        if tokens < 1:
            self.entries[key] = (tokens, now)
            return (1 - tokens) / self.rate
        self.entries[key] = (tokens - 1, now)
        return 0.0

    def _idle(self, state: tuple[float, float], now: float) -> bool:
        return state[0] + (now - state[1]) * self.rate >= self.burst


class FailureWindows(_Keyed[deque[float]]):
    """The times of a key's recent failures; `limit` of them within `window` seconds block the key until the
    oldest ages out (a sliding window: a blocked key gets one more try per failure that expires)."""

    def __init__(self, *, limit: int, window: float, clock: Clock = time.monotonic, max_keys: int = ABUSE_TRACKED_KEYS):
        super().__init__(max_keys)
        self.limit = limit
        self.window = window
        self.clock = clock

    def blocked_for(self, key: str) -> float:
        """Seconds until the key may try again; 0 if it may now."""
        failures = self.entries.get(key)
        if failures is None:
            return 0.0
        now = self.clock()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if len(failures) < self.limit:
            return 0.0
        return failures[0] + self.window - now

    def record(self, key: str) -> None:
        now = self.clock()
        failures = self.entries.get(key)
        if failures is None:
            self._prune(now)
            failures = self.entries[key] = deque(maxlen=self.limit)
        failures.append(now)

    def _idle(self, state: deque[float], now: float) -> bool:
        return not state or state[-1] <= now - self.window


@dataclass
class AbuseGuard:
    """The limits one api process applies (app.state.abuse)."""

    credentials: TokenBuckets
    webchat_starts: TokenBuckets
    failures_by_username: FailureWindows
    failures_by_ip: FailureWindows

    @classmethod
    def of(cls, settings: Settings, *, clock: Clock = time.monotonic) -> AbuseGuard:
        return cls(
            credentials=TokenBuckets(
                rate=settings.credential_requests_per_second, burst=settings.credential_request_burst, clock=clock
            ),
            webchat_starts=TokenBuckets(
                rate=settings.webchat_starts_per_minute / 60, burst=settings.webchat_start_burst, clock=clock
            ),
            failures_by_username=FailureWindows(
                limit=settings.auth_failures_per_username, window=settings.auth_failure_window, clock=clock
            ),
            failures_by_ip=FailureWindows(
                limit=settings.auth_failures_per_ip, window=settings.auth_failure_window, clock=clock
            ),
        )

    def before_authentication(self, *, ip: str, username: str | None) -> None:
        """Refuse, before any credential is looked at, a username or IP that failed too often lately."""
        wait = self.failures_by_ip.blocked_for(ip)
        if username is not None:
            wait = max(wait, self.failures_by_username.blocked_for(username))
        if wait > 0:
            raise RateLimited("Too many failed authentication attempts; retry later", retry_after=wait)

    def authentication_failed(self, *, ip: str, username: str | None) -> None:
        self.failures_by_ip.record(ip)
        if username is not None:
            self.failures_by_username.record(username)

    def spend(self, principal: Principal) -> None:
        """One request of an authenticated caller: its credential's, or its token identity's, bucket."""
        key = str(principal.credential_sid)
        if not principal.is_admin:
            key += f"/{principal.identity or principal.worker_sid or ''}"
        wait = self.credentials.take(key)
        if wait > 0:
            raise RateLimited("Too many requests for this credential; retry later", retry_after=wait)

    def webchat_start(self, *, ip: str, address_sid: str) -> None:
        wait = self.webchat_starts.take(f"{ip}/{address_sid}")
        if wait > 0:
            raise RateLimited("Too many web chats started from this address; retry later", retry_after=wait)


def websocket_frames(clock: Clock = time.monotonic) -> TokenBuckets:
    """The frame budget of one WebSocket (one key)."""
    return TokenBuckets(rate=WEBSOCKET_FRAMES_PER_SECOND, burst=WEBSOCKET_FRAME_BURST, clock=clock, max_keys=1)


def install(app: FastAPI) -> None:
    """Answer RateLimited with its Retry-After (the generic ParleyError handler would drop the header)."""

    @app.exception_handler(RateLimited)
    async def _rate_limited(_: Request, exc: RateLimited) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.status),
            status_code=exc.status,
            headers={"Retry-After": str(exc.retry_after)},
        )
