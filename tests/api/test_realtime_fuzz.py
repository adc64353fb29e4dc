"""Hypothesis over the WebSocket `/v1/Realtime` (which the OpenAPI fuzz, tests/api/test_fuzz.py, cannot reach):
generated frames that are all bad, each in one way — a frame of a known type with one field of the wrong type
or out of range, a required field missing, an unknown or non-string type, a NUL in any string at any depth,
JSON nested too deep, a frame over the size limit, text that is no JSON object, binary — each sent on an open,
authenticated socket. Each must be answered with an error frame carrying Twilio's error body and a 4xx status,
the socket must go on (the `ping` after each bad frame gets its `pong`, the `subscribe` at the end its
`subscribed`), nothing may be written (the frames' valid fields name the chat's real conversation, so a bad
frame let through would post to it), and the api may log no unhandled exception.

Seeded and bounded like the REST fuzz (docs/security/fuzzing.md): PARLEY_FUZZ_SEED and
PARLEY_REALTIME_FUZZ_MAX_EXAMPLES; each example opens its own socket, so the socket's frame budget
(WEBSOCKET_FRAME_BURST) is never what answers."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from api.routes.realtime import FRAME_LIMIT
from domain.limits import MAX_STREAM_SEQ
from storage.bootstrap import Credentials
from tests.support.contact_center import agent_attributes, build_contact_center, start_webchat

SEED = int(os.environ.get("PARLEY_FUZZ_SEED", "20260509"))
MAX_EXAMPLES = int(os.environ.get("PARLEY_REALTIME_FUZZ_MAX_EXAMPLES", "300"))
# What the api log shows when something escaped: the frame handler's catch-all, the app's, or uvicorn's.
UNHANDLED = ("realtime frame", "unhandled error", "Exception in ASGI application")
TIMEOUT = 10  # seconds for one socket operation
# About 20 ms per example on a 2-core machine; the suite's 120 s default would cut a longer campaign short.
RUN_TIMEOUT = 60 + MAX_EXAMPLES // 20

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_not_str = _json.filter(lambda v: not isinstance(v, str))
_not_str_or_none = _not_str.filter(lambda v: v is not None)
_not_int = _json.filter(lambda v: not isinstance(v, int) or isinstance(v, bool))
_bad_seq = _not_int | st.integers(max_value=-1) | st.integers(min_value=MAX_STREAM_SEQ + 1)
_bad_id = _json.filter(lambda v: v is not None and not (isinstance(v, str | int) and not isinstance(v, bool)))
_not_json_object = st.text(max_size=12).map(lambda s: "[" + json.dumps(s) + "]") | st.sampled_from(
    ["x", "1", "null", '"{}"', "{"]
)


def _frames(conversation_sid: str) -> dict[str, tuple[dict[str, Any], dict[str, st.SearchStrategy[Any]]]]:
    """Each frame type: a valid frame of it, and for each of its fields the values that field must refuse."""
    return {
        "ping": ({"type": "ping"}, {"id": _bad_id}),
        "subscribe": (
            {"type": "subscribe", "stream": conversation_sid, "after": 0},
            {"id": _bad_id, "stream": _not_str, "after": _bad_seq},
        ),
        "unsubscribe": ({"type": "unsubscribe", "stream": conversation_sid}, {"id": _bad_id, "stream": _not_str}),
        "send_message": (
            {"type": "send_message", "conversation_sid": conversation_sid, "body": "let through"},
            {
                "id": _bad_id,
                "conversation_sid": _not_str,
                "body": _not_str_or_none,
                "attributes": _not_str_or_none | _not_json_object,
                "client_message_id": _not_str_or_none | st.text(min_size=129, max_size=200),
                "media_sids": _json.filter(lambda v: not isinstance(v, list))
                | st.lists(_not_str, min_size=1, max_size=3)
                | st.lists(st.just("ME" + "0" * 32), min_size=11, max_size=12),
            },
        ),
        "typing": (
            {"type": "typing", "conversation_sid": conversation_sid},
            {"id": _bad_id, "conversation_sid": _not_str},
        ),
        "read": (
            {"type": "read", "conversation_sid": conversation_sid, "index": 0},
            {"id": _bad_id, "conversation_sid": _not_str, "index": _bad_seq},
        ),
        "update_token": ({"type": "update_token", "token": "t"}, {"id": _bad_id, "token": _not_str}),
    }


# Each frame type's required fields (api/realtime_frames.py).
REQUIRED = {
    "ping": [],
    "subscribe": ["stream"],
    "unsubscribe": ["stream"],
    "send_message": ["conversation_sid"],
    "typing": ["conversation_sid"],
    "read": ["conversation_sid", "index"],
    "update_token": ["token"],
}


def _with_nul(value: Any, draw: st.DrawFn) -> Any:
    """`value` with a NUL in one of its strings (a key or a value), or in a new key if it has none."""
    if isinstance(value, str):
        at = draw(st.integers(0, len(value)))
        return value[:at] + "\x00" + value[at:]
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        if draw(st.booleans()):
            return {**{k: v for k, v in value.items() if k != key}, key + "\x00": value[key]}
        return {**value, key: _with_nul(value[key], draw)}
    if isinstance(value, list) and value:
        at = draw(st.integers(0, len(value) - 1))
        return [*value[:at], _with_nul(value[at], draw), *value[at + 1 :]]
    return "\x00"


def _nested(depth: int) -> str:
    return '{"type": "ping", "deep": ' + "[" * depth + "]" * depth + "}"


@st.composite
def bad_frames(draw: st.DrawFn, conversation_sid: str) -> str | bytes:
    """One bad frame, as sent: JSON text, or bytes."""
    frames = _frames(conversation_sid)
    # A wrong field most often: there are many more ways to get one wrong than to send no JSON at all.
    kind = draw(
        st.sampled_from(["field", "field", "field", "missing", "type", "nul", "deep", "huge", "text", "binary"])
    )
    if kind in ("field", "missing", "nul"):
        name = draw(st.sampled_from(sorted(frames)))
        frame, bad = frames[name]
        if kind == "field":
            field = draw(st.sampled_from(sorted(bad)))
            frame = {**frame, field: draw(bad[field])}
        elif kind == "missing":
            required = REQUIRED[name]
            if not required:  # a ping has nothing to leave out: give it a bad `id` instead
                frame = {"type": name, "id": draw(_bad_id)}
            else:
                field = draw(st.sampled_from(required))
                frame = {k: v for k, v in frame.items() if k != field}
        else:
            frame = _with_nul({**frame, "extra": draw(_json)}, draw)
        return json.dumps(frame)
    if kind == "type":
        unknown = draw(st.text(max_size=20).filter(lambda t: t not in frames) | _not_str)
        return json.dumps({"type": unknown, "conversation_sid": conversation_sid, "body": "let through"})
    if kind == "deep":
        return _nested(draw(st.integers(min_value=2_000, max_value=100_000)))
    if kind == "huge":
        return json.dumps({"type": "ping", "pad": "x" * (FRAME_LIMIT + draw(st.integers(0, 1024)))})
    if kind == "text":
        return draw(_not_json_object | st.text(max_size=40).filter(_not_a_json_object))
    return draw(st.binary(max_size=64))


def _not_a_json_object(text: str) -> bool:
    try:
        return not isinstance(json.loads(text), dict)
    except ValueError:
        return True


@pytest.fixture
async def chat(parley: Any, admin: Any) -> dict[str, Any]:
    """A web chat customer's conversation and token: what the frames are sent with and name."""
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")}, name="Realtime fuzz")
    return await start_webchat(parley.base_url, center.address_sid, "Fuzzer")


def _receive(ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(ws.recv(timeout=TIMEOUT))
    return frame


def _is_twilio_error(frame: dict[str, Any]) -> bool:
    return (
        frame.get("type") == "error"
        and isinstance(frame.get("code"), int)
        and isinstance(frame.get("message"), str)
        and frame.get("more_info") == f"https://www.twilio.com/docs/errors/{frame['code']}"
        and isinstance(frame.get("status"), int)
        and 400 <= frame["status"] < 500
    )


@pytest.mark.timeout(RUN_TIMEOUT)
def test_every_bad_frame_gets_a_twilio_error_and_the_socket_goes_on(
    parley: Any, account: Credentials, chat: dict[str, Any]
) -> None:
    conversation_sid = chat["conversation_sid"]
    url = parley.base_url.replace("http://", "ws://") + f"/v1/Realtime?token={chat['token']}"
    log = parley.api.log_path
    logged_before = log.stat().st_size if log.exists() else 0

    @seed(SEED)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=False,
    )
    @given(frames=st.lists(bad_frames(conversation_sid), min_size=1, max_size=4))
    def fuzz(frames: list[str | bytes]) -> None:
        with connect(url, max_size=2**22, open_timeout=TIMEOUT) as ws:
            assert _receive(ws)["type"] == "ready"
            for number, frame in enumerate(frames):
                ws.send(frame)
                answer = _receive(ws)
                assert _is_twilio_error(answer), f"{frame[:300]!r} was answered with {answer}"
                ws.send(json.dumps({"type": "ping", "id": number}))
                assert _receive(ws) == {"type": "pong", "id": number}, f"no pong after {frame[:300]!r}"
            ws.send(json.dumps({"type": "subscribe", "stream": conversation_sid, "id": "last"}))
            while (answer := _receive(ws))["type"] == "event":
                pass
            assert answer == {"type": "subscribed", "id": "last", "stream": conversation_sid}, answer

    fuzz()
    auth = (account.account_sid, account.auth_token)
    with httpx.Client(base_url=parley.base_url, auth=auth, timeout=TIMEOUT) as admin:
        written = admin.get(f"/conversations/v1/Conversations/{conversation_sid}/Messages")
    assert written.status_code == 200 and written.json()["messages"] == [], written.text
    with log.open("rb") as lines:
        lines.seek(logged_before)
        logged = lines.read().decode(errors="replace")
    escaped = [line for line in logged.splitlines() if any(marker in line for marker in UNHANDLED)]
    assert not escaped, "the api logged an unhandled exception:\n" + "\n".join(escaped[:20])
