"""WebSocket /v1/Realtime: the real-time client API for agents and chat customers (protocol: docs/realtime.md).

Clients authenticate with an access token (`?token=` — browsers cannot set headers on WebSockets), then
subscribe to streams (a conversation CH… or their own worker WK…) from a sequence number; the server replays
what they missed from the event log and then pushes live events, each with its per-stream `seq`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.access import conversation_access, worker_stream_access
from api.auth import Authenticator, Principal, Role
from api.errors import error_body
from api.messaging import post_message
from api.prehooks import PreEvents
from api.realtime import RealtimeHub, Subscription
from api.realtime_frames import (
    ReadFrame,
    SendMessageFrame,
    SubscribeFrame,
    TypingFrame,
    UnsubscribeFrame,
    UpdateTokenFrame,
    parse_frame,
)
from api.schemas.conversations import MessagePublic
from api.throttle import AbuseGuard, RateLimited, client_ip, websocket_frames
from domain.errors import AuthenticationFailed, InvalidParameter, ParleyError, PermissionDenied
from domain.limits import REQUEST_BODY_LIMIT, TOKEN_EXPIRED_CLOSE_CODE, TOKEN_EXPIRED_ERROR
from domain.sids import SidPrefix, is_sid
from domain.webhooks import Actor
from storage.conversations import service as conversations
from storage.db import Database

log = logging.getLogger(__name__)
router = APIRouter(tags=["Realtime"])

# A frame may be as large as a REST request body; uvicorn's own transport limit (16 MiB) closes with 1009.
FRAME_LIMIT = REQUEST_BODY_LIMIT


def error_frame(exc: ParleyError, request_id: Any = None, **extra: Any) -> dict[str, Any]:
    """An `error` frame: Twilio's error body (`code`, `message`, `more_info`, `status`) and the frame's `id`."""
    return {"type": "error", "id": request_id, **error_body(exc.code, exc.message, exc.status), **extra}


def frame_id(request: dict[str, Any]) -> str | int | None:
    """The client's `id`, echoed in the answer (only a string or an integer, as the frame models allow)."""
    value = request.get("id")
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


def decode_frame(message: Mapping[str, Any]) -> dict[str, Any]:
    """A received WebSocket message as a JSON object, or InvalidParameter saying why it is not one."""
    raw = message.get("text")
    if not isinstance(raw, str):
        raise InvalidParameter("Frames must be text: a JSON object")
    if len(raw) > FRAME_LIMIT or len(raw.encode()) > FRAME_LIMIT:
        raise InvalidParameter(f"A frame may be at most {FRAME_LIMIT} bytes")
    try:
        request = json.loads(raw)
    except ValueError:
        raise InvalidParameter("Frames must be JSON objects") from None
    except RecursionError:
        raise InvalidParameter("Frames must be JSON objects nested at most a few hundred levels deep") from None
    if not isinstance(request, dict):
        raise InvalidParameter("Frames must be JSON objects")
    return request


@router.websocket("/v1/Realtime")
async def realtime(websocket: WebSocket) -> None:
    app = websocket.app
    authenticator: Authenticator = app.state.authenticator
    guard: AbuseGuard = app.state.abuse
    token = websocket.query_params.get("token") or websocket.headers.get("x-twilio-token")
    ip = client_ip(websocket)
    await websocket.accept()
    try:
        # The same back-off and per-credential limit as REST (api/throttle.py).
        guard.before_authentication(ip=ip, username=None)
        try:
            if not token:
                raise AuthenticationFailed("An access token is required (?token=)")
            principal = await authenticator.token(token)
        except AuthenticationFailed:
            guard.authentication_failed(ip=ip, username=None)
            raise
        guard.spend(principal)
    except ParleyError as exc:
        extra = {"retry_after": exc.retry_after} if isinstance(exc, RateLimited) else {}
        await websocket.send_json(error_frame(exc, **extra))
        await websocket.close(code=4429 if isinstance(exc, RateLimited) else 4401)
        return
    session = _Session(websocket, principal, app.state.hub, app.state.db, app.state.settings.base_url)
    session.pre_events = app.state.pre_events
    session.authenticator = authenticator
    await session.run()


class _Session:
    def __init__(
        self, websocket: WebSocket, principal: Principal, hub: RealtimeHub, db: Database, base_url: str
    ) -> None:
        self.websocket = websocket
        self.principal = principal
        self.hub = hub
        self.db = db
        self.base_url = base_url
        self.subscriptions: dict[str, tuple[Subscription, asyncio.Task[None]]] = {}
        self.send_lock = asyncio.Lock()
        self.pre_events: PreEvents | None = None
        self.authenticator: Authenticator | None = None
        self.frames = websocket_frames()
        self.expiry: asyncio.Task[None] | None = None

    async def send(self, payload: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.websocket.send_json(payload)

    async def run(self) -> None:
        await self.send(
            {
                "type": "ready",
                "identity": self.principal.identity,
                "role": self.principal.role.value,
                "worker_sid": self.principal.worker_sid,
                "workspace_sid": self.principal.workspace_sid,
            }
        )
        agent = self.principal.worker_sid if self.principal.role is Role.AGENT else None
        if agent is not None:
            await self.hub.agent_connected(agent)
        self._arm_expiry()
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                wait = self.frames.take("socket")  # every frame counts, even one that is not JSON
                try:
                    request = decode_frame(message)
                except InvalidParameter as exc:
                    await self.send(error_frame(exc))
                    continue
                if wait > 0:
                    limited = RateLimited("Too many frames on this socket; this one was not acted on", retry_after=wait)
                    await self.send(error_frame(limited, frame_id(request), retry_after=limited.retry_after))
                    continue
                await self.handle(request)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client left, or the server closed the socket (an expired token)
        finally:
            if self.expiry is not None:
                self.expiry.cancel()
            if agent is not None:
                self.hub.agent_disconnected(agent)
            for subscription, pump in self.subscriptions.values():
                pump.cancel()
                self.hub.unsubscribe(subscription)

    def _arm_expiry(self) -> None:
        """Close the socket when its access token expires (a renewed token re-arms it)."""
        if self.expiry is not None:
            self.expiry.cancel()
        expires_at = self.principal.expires_at
        self.expiry = asyncio.create_task(self._expire(expires_at)) if expires_at is not None else None

    async def _expire(self, expires_at: float) -> None:
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            expired = AuthenticationFailed(
                "Access token expired: reconnect (or send update_token before it expires)", code=TOKEN_EXPIRED_ERROR
            )
            await self.send(error_frame(expired))
            await self.websocket.close(code=TOKEN_EXPIRED_CLOSE_CODE, reason="Access token expired")

    async def update_token(self, frame: UpdateTokenFrame) -> None:
        assert self.authenticator is not None
        renewed = await self.authenticator.token(frame.token)
        if not self.principal.same_holder(renewed):
            raise PermissionDenied("The new token is for another identity or scope; the socket keeps the old one")
        self.principal = renewed
        self._arm_expiry()
        await self.send({"type": "ack", "id": frame.id, "expires_at": renewed.expires_at})

    async def handle(self, request: dict[str, Any]) -> None:
        request_id = frame_id(request)
        try:
            frame = parse_frame(request)
            if isinstance(frame, SubscribeFrame):
                await self.subscribe(frame.stream, frame.after, frame.id)
            elif isinstance(frame, UnsubscribeFrame):
                entry = self.subscriptions.pop(frame.stream, None)
                if entry:
                    entry[1].cancel()
                    self.hub.unsubscribe(entry[0])
            elif isinstance(frame, SendMessageFrame):
                message = await post_message(
                    self.db,
                    self.principal,
                    frame.conversation_sid,
                    body=frame.body,
                    attributes=frame.attributes,
                    idempotency_key=frame.client_message_id or None,
                    # The socket is the SDK's channel (Twilio's twilsock): its actions fire pre- and post-events.
                    actor=Actor.sdk(self.principal.identity),
                    pre_events=self.pre_events,
                    media_sids=frame.media_sids,
                )
                await self.send(
                    {
                        "type": "ack",
                        "id": frame.id,
                        "client_message_id": frame.client_message_id,
                        "message": MessagePublic.of(message, self.base_url).model_dump(),
                    }
                )
            elif isinstance(frame, TypingFrame | ReadFrame):
                await self.conversation_signal(frame)
            elif isinstance(frame, UpdateTokenFrame):
                await self.update_token(frame)
            else:
                await self.send({"type": "pong", "id": frame.id})
        except ParleyError as exc:
            client_message_id = request.get("client_message_id")
            await self.send(
                error_frame(
                    exc, request_id, client_message_id=client_message_id if isinstance(client_message_id, str) else None
                )
            )
        except Exception:
            # A bug, not bad input: logged, answered, and the socket (and its subscriptions) stays up.
            log.exception("realtime frame %r failed", request.get("type"))
            await self.send(error_frame(ParleyError("Internal error", code=20500, status=500), request_id))

    async def conversation_signal(self, frame: TypingFrame | ReadFrame) -> None:
        """`typing` (ephemeral) and `read` (`index`: the participant's new read horizon) for the caller's own
        participant in a conversation."""
        async with self.db.unit() as uow:
            conversation, participant = await conversation_access(
                uow, self.principal, frame.conversation_sid, write=True
            )
            if participant is None:
                raise PermissionDenied("Only participants may do this in the conversation")
            if isinstance(frame, TypingFrame):
                await conversations.typing(uow, conversation=conversation, participant=participant)
                return
            row = await conversations.mark_read(
                uow,
                conversation=conversation,
                participant=participant,
                index=frame.index,
                actor=Actor.sdk(self.principal.identity),
            )
        await self.send({"type": "ack", "id": frame.id, "last_read_message_index": row.last_read_message_index})

    async def subscribe(self, stream: str, after: int, request_id: Any = None) -> None:
        if stream in self.subscriptions:
            await self.send({"type": "subscribed", "id": request_id, "stream": stream})
            return
        async with self.db.read() as q:
            if is_sid(stream, SidPrefix.CONVERSATION):
                conversation, _ = await conversation_access(q, self.principal, stream)
                stream = conversation.sid
            elif is_sid(stream, SidPrefix.WORKER):
                await worker_stream_access(q, self.principal, stream)
            else:
                raise ParleyError(f"Unknown stream '{stream}': expected a CH… or WK… SID")
        subscription = await self.hub.subscribe(stream, after)
        # Queued behind the replay, so `subscribed` means "you now have everything up to now".
        subscription.queue.put_nowait({"type": "subscribed", "id": request_id, "stream": stream})
        self.subscriptions[stream] = (subscription, asyncio.create_task(self._pump(subscription)))

    async def _pump(self, subscription: Subscription) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                await self.send(await subscription.queue.get())
