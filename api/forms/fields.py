"""The kinds of parameter Twilio's APIs take, as annotated types: each validates the way Params did and says
what is wrong in words the 400 body repeats after the parameter's name."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from domain.limits import (
    CALLBACK_URL_LIMIT,
    CONVERSATION_ATTRIBUTES_LIMIT,
    CONVERSATIONS_NAME_LIMIT,
    FRIENDLY_NAME_LIMIT,
    MESSAGE_ATTRIBUTES_LIMIT,
    PARTICIPANT_ATTRIBUTES_LIMIT,
    TASKROUTER_ATTRIBUTES_LIMIT,
)
from domain.routing import ExpressionSyntaxError, parse_expression
from domain.sids import SidPrefix, is_sid

E = TypeVar("E", bound=StrEnum)
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class FormModel(BaseModel):
    """A form: Twilio's parameter names as aliases, unknown parameters ignored (as Twilio does)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=False, frozen=True)
    # Fields whose empty value means something (read with api.forms.parse.form_of, which keeps it as "").
    clearable: ClassVar[tuple[str, ...]] = ()

    def given(self, field: str) -> bool:
        """Whether the request sent this parameter at all (an empty value on update may mean "clear")."""
        return field in self.model_fields_set


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _twilio_bool(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"must be true or false, got '{value}'")
    return value


def _json_object(value: str) -> str:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(parsed, dict):
        raise ValueError("must be a JSON object")
    return value


def _json_value(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON: {exc.msg} at position {exc.pos}") from None


def _expression(value: str) -> str:
    try:
        parse_expression(value)
    except ExpressionSyntaxError as exc:
        raise ValueError(f"is not a valid expression: {exc.headline}") from None
    return value


def _target_workers(value: str) -> str:
    # An empty TargetWorkers is allowed: Twilio treats it as "no worker ever matches".
    return _expression(value) if value.strip() else value


def _http_url(value: str) -> str:
    if value and not value.startswith(("http://", "https://")):
        raise ValueError(f"must be an http(s) URL, got '{value}'")
    return value


def sid_of(prefix: SidPrefix) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not is_sid(value, prefix):
            raise ValueError(f"must be a {prefix.value} SID, got '{value}'")
        return value

    return check


def _in_utc(value: datetime) -> datetime:
    """A date-time as stored: in UTC (UTC when it has no offset), within years 1-9999 once there. PostgreSQL
    stores one past either end (9999-12-31T23:59:59-14:00 is year 10000 in UTC) but Python cannot read it back."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"must fall within years 1-9999 in UTC, got '{value.isoformat()}'") from None


def _past_date_time(value: Any) -> Any:
    """An ISO 8601 date-time (UTC when it has no offset) that is not in the future (a VirtualStartTime)."""
    if not isinstance(value, str):
        return value
    try:
        given = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"must be an ISO 8601 date-time, got '{value}'") from None
    parsed = _in_utc(given)
    if parsed > datetime.now(UTC):
        raise ValueError(f"must not be in the future, got '{value}'")
    return parsed


def _routing_target(value: str) -> str:
    if not (is_sid(value, SidPrefix.WORKER) or is_sid(value, SidPrefix.TASK_QUEUE)):
        raise ValueError(f"must be a Worker (WK) or TaskQueue (WQ) SID, got '{value}'")
    return value


def one_of(enum: type[E]) -> Callable[[Any], Any]:
    """Twilio's enums match whatever the case (`fifo`, `Closed`)."""

    def pick(value: Any) -> Any:
        if isinstance(value, str):
            for member in enum:
                if member.value.lower() == value.strip().lower():
                    return member
            raise ValueError(f"must be one of {', '.join(m.value for m in enum)}; got '{value}'")
        return value

    return pick


Bool = Annotated[bool, BeforeValidator(_twilio_bool)]
NonBlank = Annotated[str, AfterValidator(_non_blank)]
FriendlyName = Annotated[str, Field(max_length=FRIENDLY_NAME_LIMIT), AfterValidator(_non_blank)]
Expression = Annotated[str, AfterValidator(_expression)]
TargetWorkers = Annotated[str, AfterValidator(_target_workers)]
CallbackUrl = Annotated[str, Field(max_length=CALLBACK_URL_LIMIT), AfterValidator(_http_url)]
JsonValue = Annotated[Any, BeforeValidator(_json_value)]
ActivitySid = Annotated[str, AfterValidator(sid_of(SidPrefix.ACTIVITY))]
WorkerSid = Annotated[str, AfterValidator(sid_of(SidPrefix.WORKER))]
WorkflowSid = Annotated[str, AfterValidator(sid_of(SidPrefix.WORKFLOW))]
TaskQueueSid = Annotated[str, AfterValidator(sid_of(SidPrefix.TASK_QUEUE))]
RoutingTargetSid = Annotated[str, AfterValidator(_routing_target)]
DateTime = Annotated[datetime, AfterValidator(_in_utc)]
PastDateTime = Annotated[datetime, BeforeValidator(_past_date_time)]
WorkspaceSid = Annotated[str, AfterValidator(sid_of(SidPrefix.WORKSPACE))]
AddressSid = Annotated[str, AfterValidator(sid_of(SidPrefix.ADDRESS_CONFIGURATION))]

# Attributes: a JSON object sent as text (stored and echoed byte for byte), within its resource's limit.
TaskRouterAttributes = Annotated[str, Field(max_length=TASKROUTER_ATTRIBUTES_LIMIT), AfterValidator(_json_object)]
ConversationAttributes = Annotated[str, Field(max_length=CONVERSATION_ATTRIBUTES_LIMIT), AfterValidator(_json_object)]
ParticipantAttributes = Annotated[str, Field(max_length=PARTICIPANT_ATTRIBUTES_LIMIT), AfterValidator(_json_object)]
MessageAttributes = Annotated[str, Field(max_length=MESSAGE_ATTRIBUTES_LIMIT), AfterValidator(_json_object)]
ConversationsName = Annotated[str, Field(max_length=CONVERSATIONS_NAME_LIMIT)]
