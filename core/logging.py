"""Logging setup shared by the api and worker processes: redaction of secrets in access logs, and with
`PARLEY_LOG_FORMAT=json` one JSON object per line carrying the context of what logged it (docs/observability.md).

The context is a contextvar, so it follows a request or an activity through every `await`: the api's request
middleware (api/observability.py) sets the request id and the scope it learns the account and conversation
from; in the worker, temporalio's own context says which activity runs, and `workflow.logger` attaches the
workflow's. Log lines never carry message bodies or credentials: only what is listed in `_context` below."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from temporalio import activity

_TOKEN_IN_QUERY = re.compile(r"(?i)\b(token|access_token)=[^&\s\"]+")

# What the api knows about the request being served: `request_id`, and a `scope` (the ASGI scope, whose state
# gets the principal once authenticated and whose path parameters name the resource).
REQUEST_CONTEXT: ContextVar[Mapping[str, Any] | None] = ContextVar("parley_request_context", default=None)

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactTokens(logging.Filter):
    """Browsers pass access tokens in the WebSocket URL; never write them to a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1=[redacted]", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_QUERY.sub(r"\1=[redacted]", record.msg)
        return True


def _sid_kind(value: object, prefix: str) -> bool:
    return isinstance(value, str) and len(value) == 34 and value.startswith(prefix)


def _request_fields(context: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if context.get("request_id"):
        fields["request_id"] = context["request_id"]
    scope = context.get("scope")
    if not isinstance(scope, Mapping):
        return fields
    principal = (scope.get("state") or {}).get("principal")
    account_sid = getattr(principal, "account_sid", None)
    if isinstance(account_sid, str):
        fields["account_sid"] = account_sid
    for name, value in (scope.get("path_params") or {}).items():
        if _sid_kind(value, "CH"):
            fields["conversation_sid"] = value
        elif "account_sid" not in fields and _sid_kind(value, "AC") and name.lower().startswith("account"):
            fields["account_sid"] = value
    return fields


def _temporal_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    # workflow.logger and activity.logger put the run's details on the record (temporalio's `*_info_on_extra`).
    workflow_info = getattr(record, "temporal_workflow", None)
    if isinstance(workflow_info, Mapping):
        fields["workflow_id"] = workflow_info.get("workflow_id")
        fields["workflow_type"] = workflow_info.get("workflow_type")
        fields["run_id"] = workflow_info.get("run_id")
    activity_info = getattr(record, "temporal_activity", None)
    if isinstance(activity_info, Mapping):
        fields["workflow_id"] = activity_info.get("workflow_id")
        fields["activity_type"] = activity_info.get("activity_type")
        fields["activity_id"] = activity_info.get("activity_id")
    elif activity.in_activity():
        # Any logger used while an activity runs (storage, core): temporalio's context says which one.
        info = activity.info()
        fields["workflow_id"] = info.workflow_id
        fields["activity_type"] = info.activity_type
        fields["activity_id"] = info.activity_id
    return {key: value for key, value in fields.items() if value is not None}


def context_fields(record: logging.LogRecord) -> dict[str, Any]:
    """What a log line knows of its context: request id, account and conversation SIDs, workflow and activity."""
    fields: dict[str, Any] = {}
    context = REQUEST_CONTEXT.get()
    if context is not None:
        fields.update(_request_fields(context))
    fields.update(_temporal_fields(record))
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `timestamp` (UTC, ISO 8601), `level`, `logger`, `message`, the context fields
    that are known, and `exception` (the formatted traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(context_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def log_format() -> str:
    chosen = os.environ.get("PARLEY_LOG_FORMAT", "text").strip().lower() or "text"
    if chosen not in FORMATS:
        raise ValueError(f"PARLEY_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {chosen!r}")
    return chosen


def configure_logging() -> None:
    level = os.environ.get("PARLEY_LOG_LEVEL", "INFO").upper()
    if log_format() == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=level, handlers=[handler])
    else:
        logging.basicConfig(level=level, format=TEXT_FORMAT)
    logging.getLogger("temporalio").setLevel(max(logging.getLevelName(level), logging.WARNING))
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(RedactTokens())
