"""A WebSocket client for Parley's realtime protocol, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

import websockets


class RealtimeClient:
    def __init__(self, base_url: str, token: str) -> None:
        self.url = base_url.replace("http://", "ws://").replace("https://", "wss://") + f"/v1/Realtime?token={token}"
        self.frames: list[dict[str, Any]] = []
        self._new_frame = asyncio.Condition()
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self.ws: Any = None

    async def __aenter__(self) -> RealtimeClient:
        self.ws = await websockets.connect(self.url, max_size=2**22)
        self._reader = asyncio.create_task(self._read())
        await self.wait_for(lambda f: f["type"] in ("ready", "error"))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader:
            self._reader.cancel()
        await self.ws.close()

    async def _read(self) -> None:
        async for raw in self.ws:
            frame = json.loads(raw)
            async with self._new_frame:
                self.frames.append(frame)
                self._new_frame.notify_all()

    async def send(self, frame: dict[str, Any]) -> str:
        frame_id = str(next(self._ids))
        await self.ws.send(json.dumps({**frame, "id": frame_id}))
        return frame_id

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            async with self._new_frame:
                while True:
                    for frame in self.frames:
                        if predicate(frame):
                            return frame
                    await self._new_frame.wait()

        return await asyncio.wait_for(find(), timeout)

    async def subscribe(self, stream: str, after: int = 0) -> None:
        frame_id = await self.send({"type": "subscribe", "stream": stream, "after": after})
        frame = await self.wait_for(lambda f: f.get("id") == frame_id)
        if frame["type"] == "error":
            raise AssertionError(f"subscribe {stream} failed: {frame}")

    async def send_message(
        self, conversation_sid: str, body: str, client_message_id: str | None = None
    ) -> dict[str, Any]:
        frame_id = await self.send(
            {
                "type": "send_message",
                "conversation_sid": conversation_sid,
                "body": body,
                "client_message_id": client_message_id,
            }
        )
        frame = await self.wait_for(lambda f: f.get("id") == frame_id)
        if frame["type"] != "ack":
            raise AssertionError(f"send failed: {frame}")
        return frame["message"]

    def events(self, stream: str, event: str | None = None) -> list[dict[str, Any]]:
        return [
            f
            for f in self.frames
            if f["type"] == "event" and f["stream"] == stream and (event is None or f["event"] == event)
        ]

    async def wait_event(
        self,
        stream: str,
        event: str,
        predicate: Callable[[dict[str, Any]], bool] = lambda f: True,
        timeout: float = 20.0,
    ) -> dict[str, Any]:
        return await self.wait_for(
            lambda f: f["type"] == "event" and f["stream"] == stream and f["event"] == event and predicate(f),
            timeout,
        )
