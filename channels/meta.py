"""What Meta's two messaging APIs (WhatsApp Cloud and Messenger) share: the webhook subscription handshake
(`hub.challenge`), the `X-Hub-Signature-256` signature over the raw body, and the Graph API's error shape and
what its codes mean to Parley (docs/channel-protocols.md, sections 2 and 3)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from channels.base import (
    ChannelError,
    InboundRequest,
    OutsideWindow,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
    SignatureInvalid,
    provider_request,
    retry_after_of,
)

DEFAULT_GRAPH_API = "https://graph.facebook.com/v21.0"
SIGNATURE_HEADER = "x-hub-signature-256"

# Graph error codes that mean "slow down": 4 (app rate limit), 80007 (WhatsApp account rate limit), 130429
# (WhatsApp throughput), 131056 (too many messages to one recipient), 613 (Messenger calls per hour).
THROTTLE_CODES = frozenset({4, 80007, 130429, 131056, 613})
# Free-form messages outside the 24-hour customer-service window: WhatsApp's 131047; Messenger's code 10 with
# subcode 2018278.
OUTSIDE_WINDOW_CODE = 131047
OUTSIDE_WINDOW_MESSENGER = (10, 2018278)
INVALID_TOKEN_CODE = 190
TWILIO_AUTHENTICATION_FAILED = 20003


def verify_signature(request: InboundRequest, app_secret: str) -> None:
    """Raise SignatureInvalid unless `X-Hub-Signature-256` is `sha256=<hex HMAC-SHA256(app_secret, body)>`."""
    given = request.header(SIGNATURE_HEADER)
    if not given:
        raise SignatureInvalid(f"no {SIGNATURE_HEADER} header")
    scheme, _, digest = given.partition("=")
    if scheme.strip().lower() != "sha256" or not digest:
        raise SignatureInvalid(f"{SIGNATURE_HEADER} is not of the form sha256=<hex>")
    expected = hmac.new(app_secret.encode(), request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), digest.strip().lower().encode("utf-8", "replace")):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the body")


def handshake(request: InboundRequest, verify_token: str) -> str:
    """Meta's subscription check: the `hub.challenge` to echo when `hub.mode` is `subscribe` and
    `hub.verify_token` is the connection's; SignatureInvalid otherwise."""
    if request.query_value("hub.mode") != "subscribe":
        raise SignatureInvalid("hub.mode is not 'subscribe'")
    given = request.query_value("hub.verify_token")
    if given is None or not hmac.compare_digest(given.encode(), verify_token.encode()):
        raise SignatureInvalid("hub.verify_token is not this connection's verify token")
    challenge = request.query_value("hub.challenge")
    if challenge is None:
        raise ChannelError("the subscription check has no hub.challenge")
    return challenge


def from_epoch_ms(ms: int) -> datetime:
    """Messenger's millisecond timestamps, as aware UTC datetimes (exactly: no float rounding)."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


# --- the Graph API's answers ---------------------------------------------------------------------------------


class GraphError(BaseModel):
    message: str = ""
    type: str | None = None
    code: int | None = None
    error_subcode: int | None = None
    fbtrace_id: str | None = None


class _GraphErrorAnswer(BaseModel):
    error: GraphError


def graph_error(response: httpx.Response) -> GraphError | None:
    """The `error` object of a Graph answer, or None when the answer has none (a proxy's HTML page, say)."""
    try:
        return _GraphErrorAnswer.model_validate_json(response.content).error
    except ValidationError:
        return None


def raise_for_graph(response: httpx.Response, *, what: str) -> None:
    """Map a Graph API error answer onto the adapter errors; return for a success."""
    status = response.status_code
    if status < 300:
        return
    error = graph_error(response)
    code = error.code if error else None
    detail = f"{what}: HTTP {status}" + (
        f", Graph error {error.code}/{error.error_subcode} ({error.type}): {error.message}" if error else ""
    )
    if status == 429 or code in THROTTLE_CODES:
        raise ProviderThrottled(f"{detail} (throttled)", retry_after=retry_after_of(response.headers))
    if code == OUTSIDE_WINDOW_CODE or (error and (error.code, error.error_subcode) == OUTSIDE_WINDOW_MESSENGER):
        raise OutsideWindow(f"{detail} (outside the 24-hour customer-service window)")
    if status >= 500:
        raise ProviderUnavailable(detail)
    if code == INVALID_TOKEN_CODE:
        raise ProviderRejected(f"{detail} (the access token is invalid)", code=TWILIO_AUTHENTICATION_FAILED)
    if status == 401:
        raise ProviderRejected(detail, code=TWILIO_AUTHENTICATION_FAILED)
    raise ProviderRejected(detail if error else f"{detail}: {response.text[:300]}")


async def graph_call(http: httpx.AsyncClient, method: str, url: str, *, what: str, **kwargs: Any) -> httpx.Response:
    """One Graph API call with its errors mapped (raise_for_graph)."""
    response = await provider_request(http, method, url, what=what, **kwargs)
    raise_for_graph(response, what=what)
    return response
