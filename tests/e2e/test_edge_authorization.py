"""Every resource a request names belongs to the caller's account and, for agents and customers, to the caller's
scope. One test per hole found in the spine: Flex reads by other agents and customers, a chat token listing
workspaces, and an address of one account routing its customers into another account's workspace."""

from __future__ import annotations

import json

import httpx

from storage.accounts.service import create_account
from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient


async def _routed_interaction(parley, admin, agent_token, center, name: str) -> tuple[dict, str, str]:
    """A customer's chat routed to (and accepted by) alice: the chat and its interaction and channel SIDs."""
    alice = center.workers["alice"]
    token = agent_token(center.workspace_sid, alice, identity="alice")
    chat = await start_webchat(parley.base_url, center.address_sid, name)
    async with (
        RealtimeClient(parley.base_url, token) as agent,
        RealtimeClient(parley.base_url, chat["token"]) as customer,
    ):
        await agent.subscribe(alice)
        await customer.send_message(chat["conversation_sid"], f"Hello, this is {name}")
        offer = await agent.wait_event(alice, "reservation.created", lambda e: name in e["data"]["task_attributes"])
    attributes = json.loads(offer["data"]["task_attributes"])
    return chat, attributes["flexInteractionSid"], attributes["flexInteractionChannelSid"]


async def test_flex_reads_are_scoped_to_the_agents_and_the_customer_of_the_interaction(parley, admin, agent_token):
    center = await build_contact_center(
        admin, agents={"alice": agent_attributes("alice"), "bob": agent_attributes("bob")}
    )
    await ok(
        await admin.post(
            center.path(f"/Workers/{center.workers['alice']}"), data={"ActivitySid": center.activities["Available"]}
        )
    )
    carol, interaction, channel = await _routed_interaction(parley, admin, agent_token, center, "Carol")
    dave, _, _ = await _routed_interaction(parley, admin, agent_token, center, "Dave")
    paths = [
        f"/flex-api/v1/Interactions/{interaction}",
        f"/flex-api/v1/Interactions/{interaction}/Channels",
        f"/flex-api/v1/Interactions/{interaction}/Channels/{channel}",
        f"/flex-api/v1/Interactions/{interaction}/Channels/{channel}/Participants",
    ]
    allowed = {
        "alice (offered its task)": agent_token(center.workspace_sid, center.workers["alice"], identity="alice"),
        "a supervisor of the workspace": agent_token(center.workspace_sid, None, identity="sam", role="supervisor"),
        "carol (its customer)": carol["token"],
    }
    denied = {
        "bob (never offered it)": agent_token(center.workspace_sid, center.workers["bob"], identity="bob"),
        "dave (another customer)": dave["token"],
    }
    async with httpx.AsyncClient(base_url=parley.base_url) as client:
        for who, token in allowed.items():
            for path in paths:
                response = await client.get(path, headers={"X-Twilio-Token": token})
                assert response.status_code == 200, (who, path, response.text)
        for who, token in denied.items():
            for path in paths:
                response = await client.get(path, headers={"X-Twilio-Token": token})
                assert response.status_code == 403, (who, path, response.text)
                assert response.json()["code"] == 20003
        # A supervisor of another workspace of the account sees nothing of it either.
        other = await build_contact_center(admin, agents={}, name="Elsewhere")
        stranger = agent_token(other.workspace_sid, None, identity="sue", role="supervisor")
        response = await client.get(paths[0], headers={"X-Twilio-Token": stranger})
        assert response.status_code == 403


async def test_a_chat_token_lists_no_workspaces(parley, admin):
    center = await build_contact_center(admin, agents={})
    chat = await start_webchat(parley.base_url, center.address_sid, "Eve")
    async with httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": chat["token"]}) as client:
        listing = await client.get("/taskrouter/v1/Workspaces")
        assert listing.status_code == 403 and listing.json()["code"] == 20003
        assert (await client.get(f"/taskrouter/v1/Workspaces/{center.workspace_sid}")).status_code == 403


async def test_a_supervisor_lists_only_its_own_workspace(parley, admin, agent_token):
    mine = await build_contact_center(admin, agents={}, name="Mine")
    await build_contact_center(admin, agents={}, name="Not mine")
    token = agent_token(mine.workspace_sid, None, identity="sam", role="supervisor")
    async with httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": token}) as client:
        listing = await ok(await client.get("/taskrouter/v1/Workspaces"))
    assert [w["sid"] for w in listing["workspaces"]] == [mine.workspace_sid]


async def test_an_address_cannot_route_into_another_accounts_workspace(parley, admin, db):
    victim = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    async with db.unit() as uow:
        attacker = await create_account(uow, friendly_name="Attacker")
    async with httpx.AsyncClient(base_url=parley.base_url, auth=(attacker.account_sid, attacker.auth_token)) as client:
        response = await client.post(
            "/conversations/v1/Configuration/Addresses",
            data={
                "Type": "chat",
                "Address": "hijack",
                "AutoCreation.Enabled": "true",
                "AutoCreation.Routing": json.dumps(
                    {"properties": {"workspace_sid": victim.workspace_sid, "workflow_sid": victim.workflow_sid}}
                ),
            },
        )
        assert response.status_code == 400, response.text
        assert "does not exist in this account" in response.json()["message"]
        # Nor can it read or guess its way into the workspace.
        assert (await client.get(f"/taskrouter/v1/Workspaces/{victim.workspace_sid}")).status_code == 404
        assert (await client.get("/taskrouter/v1/Workspaces")).json()["workspaces"] == []
    async with db.read() as q:
        stored = await q.fetchone(
            "SELECT count(*) AS n FROM address_configurations WHERE account_sid = %s", (attacker.account_sid,)
        )
    assert stored["n"] == 0  # nothing written


async def test_an_address_naming_a_workflow_of_another_workspace_is_refused(parley, admin):
    first = await build_contact_center(admin, agents={}, name="First")
    second = await build_contact_center(admin, agents={}, name="Second")
    response = await admin.post(
        "/conversations/v1/Configuration/Addresses",
        data={
            "Type": "chat",
            "Address": f"crossed-{first.workspace_sid}",
            "AutoCreation.Enabled": "true",
            "AutoCreation.Routing": json.dumps(
                {"properties": {"workspace_sid": first.workspace_sid, "workflow_sid": second.workflow_sid}}
            ),
        },
    )
    assert response.status_code == 400 and "workflow" in response.json()["message"]
