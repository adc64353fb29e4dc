"""Assignment callbacks against a loopback receiver, through the official `twilio` client: a reservation in a
workflow with an AssignmentCallbackUrl is POSTed there, signed, with Twilio's parameters; `accept` and
`reject` (with an activity) act on it at once; the fallback URL is tried when the first fails; an empty answer,
a voice instruction or two failed URLs leave the reservation pending for the agent, as Twilio documents."""

from __future__ import annotations

import json
from typing import Any

import pytest
from twilio.rest import Client

from tests.support.waiting import eventually
from tests.support.webhooks import Answer, Received, Receiver


class Desk:
    def __init__(self, twilio: Client, receiver: Receiver, *, fallback: bool = False) -> None:
        workspace = twilio.taskrouter.v1.workspaces.create(friendly_name="Callbacks")
        self.ws = twilio.taskrouter.v1.workspaces(workspace.sid)
        self.activity = {a.friendly_name: a.sid for a in self.ws.activities.list()}
        queue = self.ws.task_queues.create(friendly_name="All", target_workers="1==1").sid
        config = {"task_routing": {"filters": [], "default_filter": {"queue": queue}}}
        urls = {"assignment_callback_url": receiver.url("/assign")}
        if fallback:
            urls["fallback_assignment_callback_url"] = receiver.url("/fallback")
        self.flow = self.ws.workflows.create(friendly_name="All", configuration=json.dumps(config), **urls).sid
        self.worker = self.ws.workers.create(
            friendly_name="ann", activity_sid=self.activity["Available"], attributes=json.dumps({"skill": "billing"})
        ).sid
        self.receiver = receiver

    def task(self) -> Any:
        return self.ws.tasks.create(workflow_sid=self.flow, attributes=json.dumps({"topic": "refund"}), priority=2)

    async def called(self, path: str, count: int = 1) -> list[Received]:
        async def probe() -> list[Received] | None:
            found = [r for r in self.receiver.requests if r.url.endswith(path)]
            return found if len(found) >= count else None

        return await eventually(probe, what=f"{count} call(s) of {path}")

    async def reservation(self, task_sid: str, status: str) -> Any:
        async def probe() -> list[Any]:
            return self.ws.tasks(task_sid).reservations.list(reservation_status=status)

        [found] = await eventually(probe, what=f"a {status} reservation")
        return found


async def test_accept_in_the_answer_accepts_the_reservation(twilio: Client, receiver: Receiver, account) -> None:
    receiver.script = lambda _: Answer(200, {"instruction": "accept"})
    desk = Desk(twilio, receiver)
    task = desk.task()
    [call] = await desk.called("/assign")
    assert call.signed_by(account.auth_token)
    form = call.form
    reservation = await desk.reservation(task.sid, "accepted")
    assert form["ReservationSid"] == reservation.sid and form["TaskSid"] == task.sid
    assert form["WorkerSid"] == desk.worker and form["WorkflowSid"] == desk.flow
    assert json.loads(form["TaskAttributes"]) == {"topic": "refund"}
    assert json.loads(form["WorkerAttributes"]) == {"skill": "billing"}
    assert form["TaskPriority"] == "2" and int(form["TaskAge"]) >= 0 and form["TaskQueueSid"].startswith("WQ")
    assert form["AccountSid"] == account.account_sid and form["WorkspaceSid"] == task.workspace_sid
    assert int(form["Timestamp"]) > 0
    assert desk.ws.tasks(task.sid).fetch().assignment_status == "assigned"


async def test_the_fallback_url_is_tried_and_reject_moves_the_worker(twilio: Client, receiver: Receiver) -> None:
    offline: dict[str, str] = {}
    receiver.script = lambda r: (
        Answer(500)
        if r.url.endswith("/assign")
        else Answer(200, {"instruction": "reject", "activity_sid": offline["sid"]})
    )
    desk = Desk(twilio, receiver, fallback=True)
    offline["sid"] = desk.activity["Offline"]
    task = desk.task()
    await desk.called("/fallback")
    rejected = await desk.reservation(task.sid, "rejected")
    assert rejected.worker_sid == desk.worker
    assert desk.ws.workers(desk.worker).fetch().activity_name == "Offline"
    assert [r.url.rsplit("/", 1)[-1] for r in receiver.requests] == ["assign", "fallback"]


@pytest.mark.parametrize(
    "answers",
    [
        {"/assign": Answer(200)},  # "I'll answer through the API"
        {"/assign": Answer(200, {"instruction": "dequeue", "to": "client:ann"})},  # voice: refused
        {"/assign": Answer(503), "/fallback": Answer(404)},  # both failed
    ],
    ids=["empty", "voice-instruction", "both-failed"],
)
async def test_otherwise_the_reservation_stays_pending_for_the_agent(
    twilio: Client, receiver: Receiver, answers: dict[str, Answer]
) -> None:
    receiver.script = lambda r: next(a for path, a in answers.items() if r.url.endswith(path))
    desk = Desk(twilio, receiver, fallback="/fallback" in answers)
    task = desk.task()
    await desk.called(list(answers)[-1])
    pending = await desk.reservation(task.sid, "pending")
    # Nothing else acted on it: the agent still can.
    accepted = desk.ws.tasks(task.sid).reservations(pending.sid).update(reservation_status="accepted")
    assert accepted.reservation_status == "accepted"
