"""PARLEY_LOG_FORMAT=json (core/logging.py): one JSON object per line, with the context that is known: the
request id, account and conversation of an api request, the workflow and activity in the worker."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from core.logging import REQUEST_CONTEXT, JsonFormatter, RedactTokens, log_format

ACCOUNT = "AC" + "1" * 32
CONVERSATION = "CH" + "2" * 32


def record(message: str = "hello %s", *args: Any, **extra: Any) -> logging.LogRecord:
    rec = logging.LogRecord("parley.test", logging.WARNING, __file__, 1, message, args or ("world",), None)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def formatted(rec: logging.LogRecord) -> dict[str, Any]:
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    entry: dict[str, Any] = json.loads(line)
    return entry


def test_a_line_is_one_object_with_the_basic_fields() -> None:
    entry = formatted(record())
    assert entry["message"] == "hello world"
    assert entry["level"] == "WARNING" and entry["logger"] == "parley.test"
    assert entry["timestamp"].endswith("+00:00") and "T" in entry["timestamp"]
    assert not {"request_id", "account_sid", "conversation_sid", "workflow_id"} & set(entry)


def test_the_request_context_gives_request_id_account_and_conversation() -> None:
    scope = {"state": {"principal": SimpleNamespace(account_sid=ACCOUNT)}, "path_params": {"sid": CONVERSATION}}
    token = REQUEST_CONTEXT.set({"request_id": "RQabc", "scope": scope})
    try:
        entry = formatted(record())
    finally:
        REQUEST_CONTEXT.reset(token)
    assert entry["request_id"] == "RQabc"
    assert entry["account_sid"] == ACCOUNT
    assert entry["conversation_sid"] == CONVERSATION
    # Before authentication, an account SID in the path still names the account.
    token = REQUEST_CONTEXT.set({"request_id": "RQdef", "scope": {"path_params": {"AccountSid": ACCOUNT}}})
    try:
        assert formatted(record())["account_sid"] == ACCOUNT
    finally:
        REQUEST_CONTEXT.reset(token)


def test_workflow_details_come_from_temporalios_workflow_logger() -> None:
    details = {"workflow_id": "UO" + "3" * 32, "workflow_type": "InteractionChannelWorkflow", "run_id": "r1"}
    entry = formatted(record(temporal_workflow=details))
    assert entry["workflow_id"] == details["workflow_id"]
    assert entry["workflow_type"] == "InteractionChannelWorkflow" and entry["run_id"] == "r1"


async def test_any_logger_inside_an_activity_names_the_activity() -> None:
    @activity.defn(name="deliver_webhook")
    async def deliver() -> dict[str, Any]:
        return formatted(record())

    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, activity_type="deliver_webhook", workflow_id="webhook-EV1")
    entry = await env.run(deliver)
    assert entry["activity_type"] == "deliver_webhook"
    assert entry["workflow_id"] == "webhook-EV1" and entry["activity_id"] == env.info.activity_id


def test_exceptions_are_one_field_and_tokens_stay_redacted() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        rec = record("failed %s", "hard")
        rec.exc_info = sys.exc_info()
    entry = formatted(rec)
    assert "RuntimeError: boom" in entry["exception"]
    access = record('%s - "WebSocket %s" [accepted]', "127.0.0.1:5", "/v1/Realtime?token=eyJsecret")
    RedactTokens().filter(access)
    assert "eyJsecret" not in JsonFormatter().format(access)


def test_the_format_is_text_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARLEY_LOG_FORMAT", raising=False)
    assert log_format() == "text"
    monkeypatch.setenv("PARLEY_LOG_FORMAT", "JSON")
    assert log_format() == "json"
    monkeypatch.setenv("PARLEY_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="PARLEY_LOG_FORMAT"):
        log_format()
