"""Calling a webhook: signed exactly as Twilio signs (`X-Twilio-Signature`, domain/webhooks.py), with Twilio's
5-second budget, an `I-Twilio-Idempotency-Token` the receiver can de-duplicate on, and a typed outcome the
callers turn into a retry, a rejection or a modified action."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

import httpx

from domain.limits import WEBHOOK_TIMEOUT, WEBHOOK_USER_AGENT
from domain.webhooks import Params, WebhookMethod, signature, with_query

IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
SIGNATURE_HEADER = "X-Twilio-Signature"
# Answers worth retrying: the target is overloaded, timed out or briefly unavailable.
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class Outcome(StrEnum):
    DELIVERED = "delivered"  # 2xx (or a 3xx: Twilio does not follow redirects)
    RETRY = "retry"  # no answer, or an answer that says "later"
    REJECTED = "rejected"  # a 4xx the target means: retrying would get the same


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: Outcome
    status_code: int = 0
    elapsed_ms: float = 0.0
    body: bytes = b""
    error: str = ""
    # Seconds the target asked us to wait (a 429's or 503's Retry-After).
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def json_object(self) -> dict[str, Any] | None:
        """A pre-event's answer as a JSON object, or None for an empty body or `{}`-less text."""
        if not self.body.strip():
            return None
        try:
            value = json.loads(self.body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


def request_for(
    url: str,
    method: WebhookMethod,
    params: Params,
    auth_token: str,
    idempotency_token: str | None,
    budget: float | None = None,
) -> httpx.Request:
    """The signed request: a form POST signs the URL plus its parameters; a GET carries them in the query string
    and signs only that URL."""
    headers = {"User-Agent": WEBHOOK_USER_AGENT}
    # A budget of its own, else the client's (WEBHOOK_TIMEOUT).
    extensions = {"timeout": httpx.Timeout(budget).as_dict()} if budget is not None else None
    if idempotency_token:
        headers[IDEMPOTENCY_HEADER] = idempotency_token
    if method is WebhookMethod.GET:
        full = with_query(url, params)
        headers[SIGNATURE_HEADER] = signature(auth_token, full)
        return httpx.Request("GET", full, headers=headers, extensions=extensions)
    headers[SIGNATURE_HEADER] = signature(auth_token, url, params)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return httpx.Request("POST", url, headers=headers, content=urlencode(list(params)), extensions=extensions)


async def call(
    client: httpx.AsyncClient,
    url: str,
    method: WebhookMethod,
    params: Params,
    *,
    auth_token: str,
    idempotency_token: str | None = None,
    budget: float | None = None,
) -> Answer:
    """`budget`: seconds the target has to answer, if not the client's."""
    request = request_for(url, method, params, auth_token, idempotency_token, budget)
    started = time.perf_counter()
    try:
        response = await client.send(request, follow_redirects=False)
        await response.aread()
    except httpx.TimeoutException as exc:
        return Answer(Outcome.RETRY, elapsed_ms=_ms(started), error=f"no answer in time ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return Answer(Outcome.RETRY, elapsed_ms=_ms(started), error=f"{type(exc).__name__}: {exc}")
    status = response.status_code
    if status < 400:
        outcome = Outcome.DELIVERED
    elif status in RETRYABLE_STATUS:
        outcome = Outcome.RETRY
    else:
        outcome = Outcome.REJECTED
    return Answer(
        outcome,
        status_code=status,
        elapsed_ms=_ms(started),
        body=response.content,
        error="" if outcome is Outcome.DELIVERED else f"HTTP {status}",
        retry_after=_retry_after(response.headers.get("retry-after")),
    )


def new_client(timeout: float = WEBHOOK_TIMEOUT) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
