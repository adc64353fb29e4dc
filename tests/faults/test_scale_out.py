"""Scale-out on one machine: two api processes and two worker processes against one Temporal server and one
PostgreSQL (README "Running N api and N worker processes"). A customer on api A and an agent on api B chat
without loss (the fan-out between api processes is PostgreSQL LISTEN/NOTIFY), both workers run the routing,
and the routing invariants hold."""

from __future__ import annotations

import asyncio
import json

from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from tests.conftest import TASK_QUEUE
from tests.faults.support import accept_all, assert_routing_invariants, set_available
from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually

CHATS = 8
MESSAGES = 15


async def _identities(temporal, workflow_id: str) -> set[str]:
    """The workers that ran the workflow's workflow tasks and activities (Temporal records each one's identity)."""
    history = await temporal.get_workflow_handle(workflow_id).fetch_history()
    found = set()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            found.add(event.workflow_task_started_event_attributes.identity)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            found.add(event.activity_task_started_event_attributes.identity)
    return found


async def _polling(temporal, pids: set[int]) -> None:
    """Both worker processes poll the task queue (a worker just started takes a moment to connect)."""

    async def both() -> bool:
        described = await temporal.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace="default",
                task_queue=TaskQueue(name=TASK_QUEUE),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        polling = {poller.identity.split("@", 1)[0] for poller in described.pollers}
        return {str(pid) for pid in pids} <= polling

    await eventually(both, timeout=60, what=f"workers {pids} polling {TASK_QUEUE}")


async def test_two_apis_and_two_workers_share_the_load_without_loss(faults, admin, agent_token, temporal):
    api_b, base_b = faults.another("api", "faults-api-b")
    worker_b, _ = faults.another("worker", "faults-worker-b")
    api_a = faults.base_url
    await _polling(temporal, {faults.worker.proc.pid, worker_b.proc.pid})
    agents = {f"agent{n}": agent_attributes(f"agent{n}") for n in range(CHATS // 2)}
    center = await build_contact_center(admin, agents=agents, chat_capacity=2)
    await set_available(admin, center, *agents)
    # Customers start and write on api A; the agents' desktops are on api B.
    chats = [await start_webchat(api_a, center.address_sid, f"Customer {n}") for n in range(CHATS)]
    async with asyncio.TaskGroup() as group:
        for n, chat in enumerate(chats):

            async def first(chat=chat, n=n) -> None:
                async with RealtimeClient(api_a, chat["token"]) as customer:
                    await customer.send_message(chat["conversation_sid"], f"hello {n}", client_message_id=f"hello-{n}")

            group.create_task(first())
    tasks = await accept_all(admin, center, faults.database_url, expected_tasks=CHATS, timeout=90)
    assert all(t["assignment_status"] == "assigned" for t in tasks), tasks

    # One chat in depth: the customer on A, its agent on B, each sees every message of the other once, in order.
    listed = await ok(await admin.get(center.path(f"/Tasks/{tasks[0]['sid']}/Reservations")))
    [accepted] = [r for r in listed["reservations"] if r["reservation_status"] == "accepted"]
    agent_sid = accepted["worker_sid"]
    name = next(n for n, sid in center.workers.items() if sid == agent_sid)
    fetched = await ok(await admin.get(center.path(f"/Tasks/{tasks[0]['sid']}")))
    conversation_sid = json.loads(fetched["attributes"])["conversationSid"]
    chat = next(c for c in chats if c["conversation_sid"] == conversation_sid)
    async with (
        RealtimeClient(api_a, chat["token"]) as customer,
        RealtimeClient(base_b, agent_token(center.workspace_sid, agent_sid, identity=name)) as agent,
    ):
        await customer.subscribe(conversation_sid)
        await agent.subscribe(conversation_sid)
        for n in range(MESSAGES):
            await customer.send_message(conversation_sid, f"from A {n}", client_message_id=f"a-{n}")
            await agent.send_message(conversation_sid, f"from B {n}", client_message_id=f"b-{n}")
        everything = [f"from {side} {n}" for n in range(MESSAGES) for side in ("A", "B")]
        for socket in (customer, agent):

            async def caught_up(socket=socket) -> bool:
                return [e["data"]["body"] for e in socket.events(conversation_sid, "message.added")][-1:] == [
                    everything[-1]
                ]

            await eventually(caught_up, timeout=30, what="the last message on both sockets")
            bodies = [e["data"]["body"] for e in socket.events(conversation_sid, "message.added")]
            assert [b for b in bodies if b.startswith("from ")] == everything

    # Both worker processes ran routing: the identities in the task and channel workflows' histories.
    ran: set[str] = set()
    for task in tasks:
        ran |= await _identities(temporal, task["sid"])
        attributes = json.loads((await ok(await admin.get(center.path(f"/Tasks/{task['sid']}"))))["attributes"])
        ran |= await _identities(temporal, attributes["flexInteractionChannelSid"])
    pids = {worker.proc.pid for worker in (faults.worker, worker_b) if worker.proc is not None}
    ran_pids = {int(identity.split("@", 1)[0]) for identity in ran if identity.split("@", 1)[0].isdigit()}
    assert pids <= ran_pids, f"workers {pids}, identities in the task and channel histories {ran}"
    await assert_routing_invariants(faults.database_url, center.workspace_sid)
    assert api_b.proc is not None and api_b.proc.poll() is None
