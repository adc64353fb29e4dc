"""Access tokens travel in WebSocket URLs (browsers cannot set headers there); they must never reach a log."""

from __future__ import annotations

from tests.support.contact_center import agent_attributes, build_contact_center
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually


async def test_access_tokens_in_websocket_urls_are_redacted_from_the_api_log(parley, admin, agent_token):
    center = await build_contact_center(admin, agents={"ivan": agent_attributes("ivan")})
    token = agent_token(center.workspace_sid, center.workers["ivan"], identity="ivan")
    async with RealtimeClient(parley.base_url, token) as agent:
        await agent.subscribe(center.workers["ivan"])

    async def logged_connection() -> bool:
        return "/v1/Realtime?token=[redacted]" in parley.api.log_path.read_text(errors="replace")

    await eventually(logged_connection, what="the WebSocket connection in the api log")
    assert token not in parley.api.log_path.read_text(errors="replace")
