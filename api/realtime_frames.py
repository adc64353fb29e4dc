"""The client frames of the real-time protocol (docs/realtime.md), as typed models: one validation for every
frame, with the same rules REST applies to the same fields, so a malformed frame gets an error frame (Twilio's
20001 and what is wrong) and writes nothing, and the socket stays open."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from api.hardening import nul_in
from api.wire import ensure_json_object
from domain.errors import InvalidParameter
from domain.limits import MAX_STREAM_SEQ

# What a client may send in `id` to match the answer to its frame.
FrameId = StrictStr | StrictInt | None


def _attributes(value: str) -> str:
    return ensure_json_object(value, "attributes")


JsonObjectText = Annotated[StrictStr, AfterValidator(_attributes)]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: FrameId = None


class SubscribeFrame(_Frame):
    type: Literal["subscribe"]
    stream: StrictStr
    after: Annotated[StrictInt, Field(ge=0, le=MAX_STREAM_SEQ)] = 0


class UnsubscribeFrame(_Frame):
    type: Literal["unsubscribe"]
    stream: StrictStr


class SendMessageFrame(_Frame):
    type: Literal["send_message"]
    conversation_sid: StrictStr
    body: StrictStr | None = None
    attributes: JsonObjectText | None = None
    client_message_id: Annotated[StrictStr, Field(max_length=128)] | None = None
    media_sids: list[StrictStr] = Field(default_factory=list, max_length=10)


class TypingFrame(_Frame):
    type: Literal["typing"]
    conversation_sid: StrictStr


class ReadFrame(_Frame):
    type: Literal["read"]
    conversation_sid: StrictStr
    index: Annotated[StrictInt, Field(ge=0, le=MAX_STREAM_SEQ)]


class PingFrame(_Frame):
    type: Literal["ping"]


class UpdateTokenFrame(_Frame):
    """A fresh access token for the same identity, before the current one expires (the socket stays open)."""

    type: Literal["update_token"]
    token: StrictStr


ClientFrame = (
    SubscribeFrame | UnsubscribeFrame | SendMessageFrame | TypingFrame | ReadFrame | PingFrame | UpdateTokenFrame
)
_BY_TYPE: dict[str, type[_Frame]] = {
    "subscribe": SubscribeFrame,
    "unsubscribe": UnsubscribeFrame,
    "send_message": SendMessageFrame,
    "typing": TypingFrame,
    "read": ReadFrame,
    "ping": PingFrame,
    "update_token": UpdateTokenFrame,
}


def parse_frame(request: dict[str, Any]) -> ClientFrame:
    """The frame as its model; InvalidParameter (20001) naming the field and the problem otherwise (a NUL
    anywhere, as REST refuses it; attributes that are no JSON object get REST's own message)."""
    try:
        if nul_in(request):
            raise InvalidParameter("Frames cannot hold NUL")  # PostgreSQL text cannot, as REST refuses it
    except RecursionError:
        raise InvalidParameter("Frames must be JSON objects nested at most a few hundred levels deep") from None
    kind = request.get("type")
    model = _BY_TYPE.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise InvalidParameter(f"Unknown frame type '{kind}'")
    try:
        return model.model_validate(request)  # type: ignore[return-value]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "frame"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidParameter(f"Invalid '{where}' in {kind} frame: {message}") from None
