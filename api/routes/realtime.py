"""WebSocket /v1/Realtime: the real-time client API for agents and chat customers (protocol: docs/realtime.md).

Clients authenticate with an access token (`?token=` — browsers cannot set headers on WebSockets), then
subscribe to streams (a conversation CH… or their own worker WK…) from a sequence number; the server replays
what they missed from the event log and then pushes live events, each with its per-stream `seq`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.access import conversation_access, worker_stream_access
from api.auth import Authenticator, Principal, Role
from api.hardening import nul_in
from api.messaging import post_message
from api.prehooks import PreEvents
from api.realtime import RealtimeHub, Subscription
from api.schemas.conversations import MessagePublic
from domain.errors import InvalidParameter, ParleyError, PermissionDenied
from domain.sids import SidPrefix, is_sid
from domain.webhooks import Actor
from storage.conversations import service as conversations
from storage.db import Database

router = APIRouter(tags=["Realtime"])


@router.websocket("/v1/Realtime")
async def realtime(websocket: WebSocket) -> None:
    app = websocket.app
    authenticator: Authenticator = app.state.authenticator
    token = websocket.query_params.get("token") or websocket.headers.get("x-twilio-token")
    await websocket.accept()
    try:
        if not token:
            raise ParleyError("An access token is required (?token=)", code=20003, status=401)
        principal = await authenticator.token(token)
    except ParleyError as exc:
        await websocket.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await websocket.close(code=4401)
        return
    session = _Session(websocket, principal, app.state.hub, app.state.db, app.state.settings.base_url)
    session.pre_events = app.state.pre_events
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
        try:
            while True:
                raw = await self.websocket.receive_text()
                try:
                    request = json.loads(raw)
                    if not isinstance(request, dict):
                        raise ValueError
                except ValueError:
                    await self.send({"type": "error", "code": 20001, "message": "Frames must be JSON objects"})
                    continue
                if nul_in(request):
                    await self.send(
                        {"type": "error", "id": request.get("id"), "code": 20001, "message": "Frames cannot hold NUL"}
                    )
                    continue
                await self.handle(request)
        except WebSocketDisconnect:
            pass
        finally:
            if agent is not None:
                self.hub.agent_disconnected(agent)
            for subscription, pump in self.subscriptions.values():
                pump.cancel()
                self.hub.unsubscribe(subscription)

    async def handle(self, request: dict[str, Any]) -> None:
        kind = request.get("type")
        request_id = request.get("id")
        try:
            if kind == "subscribe":
                await self.subscribe(str(request.get("stream", "")), int(request.get("after") or 0), request_id)
            elif kind == "unsubscribe":
                entry = self.subscriptions.pop(str(request.get("stream", "")), None)
                if entry:
                    entry[1].cancel()
                    self.hub.unsubscribe(entry[0])
            elif kind == "send_message":
                message = await post_message(
                    self.db,
                    self.principal,
                    str(request.get("conversation_sid", "")),
                    body=request.get("body"),
                    attributes=request.get("attributes"),
                    idempotency_key=str(request["client_message_id"]) if request.get("client_message_id") else None,
                    # The socket is the SDK's channel (Twilio's twilsock): its actions fire pre- and post-events.
                    actor=Actor.sdk(self.principal.identity),
                    pre_events=self.pre_events,
                    media_sids=_media_sids(request.get("media_sids")),
                )
                await self.send(
                    {
                        "type": "ack",
                        "id": request_id,
                        "client_message_id": request.get("client_message_id"),
                        "message": MessagePublic.of(message, self.base_url).model_dump(),
                    }
                )
            elif kind in ("typing", "read"):
                await self.conversation_signal(kind, request, request_id)
            elif kind == "ping":
                await self.send({"type": "pong", "id": request_id})
            else:
                await self.send(
                    {
                        "type": "error",
                        "id": request_id,
                        "code": 20001,
                        "message": f"Unknown frame type '{kind}'",
                    }
                )
        except ParleyError as exc:
            await self.send(
                {
                    "type": "error",
                    "id": request_id,
                    "code": exc.code,
                    "message": exc.message,
                    "client_message_id": request.get("client_message_id"),
                }
            )

    async def conversation_signal(self, kind: str, request: dict[str, Any], request_id: Any) -> None:
        """`typing` (ephemeral) and `read` (`index`: the participant's new read horizon) for the caller's own
        participant in a conversation."""
        index = request.get("index")
        if kind == "read" and (not isinstance(index, int) or isinstance(index, bool)):
            raise InvalidParameter("A read frame needs an integer 'index'")
        async with self.db.unit() as uow:
            conversation, participant = await conversation_access(
                uow, self.principal, str(request.get("conversation_sid", "")), write=True
            )
            if participant is None:
                raise PermissionDenied("Only participants may do this in the conversation")
            if kind == "typing":
                await conversations.typing(uow, conversation=conversation, participant=participant)
                return
            assert isinstance(index, int)
            row = await conversations.mark_read(
                uow,
                conversation=conversation,
                participant=participant,
                index=index,
                actor=Actor.sdk(self.principal.identity),
            )
        await self.send({"type": "ack", "id": request_id, "last_read_message_index": row.last_read_message_index})

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


def _media_sids(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameter("media_sids must be a list of Media SIDs")
    return value
