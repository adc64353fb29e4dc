"""PARLEY_LOG_FORMAT=json on a real api process (docs/observability.md): every line it writes is one JSON object,
uvicorn's access lines too, and a request's lines carry its request id and account, never its secrets."""

from __future__ import annotations

import json
from typing import Any

import httpx

from storage.bootstrap import Credentials
from tests.support.services import Process, another_api_env, free_port, wait_healthy


async def test_a_json_api_writes_one_object_per_line_with_the_request_context(
    parley: Any, account: Credentials
) -> None:
    port = free_port()
    env = another_api_env(parley.env, port, PARLEY_LOG_FORMAT="json")
    api = Process("api-json", "api", env)
    api.log_path.write_bytes(b"")
    api.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, api)
        async with httpx.AsyncClient(base_url=base_url, auth=(account.account_sid, account.auth_token)) as client:
            response = await client.get("/taskrouter/v1/Workspaces", headers={"X-Request-Id": "json-logs-1"})
            assert response.status_code == 200, response.text
    finally:
        api.stop()
    lines = [line for line in api.log_path.read_text(errors="replace").splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line parses
    assert all({"timestamp", "level", "logger", "message"} <= set(e) for e in entries), entries
    [access] = [e for e in entries if e.get("request_id") == "json-logs-1"]
    assert access["logger"] == "uvicorn.access" and "/taskrouter/v1/Workspaces" in access["message"]
    assert access["account_sid"] == account.account_sid
    assert account.auth_token not in api.log_path.read_text(errors="replace")
