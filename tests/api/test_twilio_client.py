"""The official `twilio` helper library works against Parley unchanged: only its base URLs are pointed at
the local server (docs: shared/reference/twilio-python-client.md §6.2)."""

from __future__ import annotations

import json

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.support.waiting import eventually


@pytest.fixture
def twilio(parley, account) -> Client:
    client = Client(account.account_sid, account.auth_token)
    client.taskrouter.base_url = f"{parley.base_url}/taskrouter"
    client.conversations.base_url = f"{parley.base_url}/conversations"
    client.flex_api.base_url = f"{parley.base_url}/flex-api"
    return client


async def test_twilio_client_builds_taskrouter_and_accepts_a_reservation(twilio: Client):
    workspace = twilio.taskrouter.v1.workspaces.create(friendly_name="Built with twilio-python")
    ws = twilio.taskrouter.v1.workspaces(workspace.sid)
    activities = {a.friendly_name: a for a in ws.activities.list()}
    assert activities["Available"].available is True and activities["Offline"].available is False
    assert ws.fetch().default_activity_sid == activities["Offline"].sid
    channel = ws.task_channels.create(friendly_name="Priority chat", unique_name="priority-chat")
    assert channel.unique_name == "priority-chat"
    queue = ws.task_queues.create(friendly_name="English", target_workers="languages HAS 'en'")
    configuration = {"task_routing": {"filters": [], "default_filter": {"queue": queue.sid}}}
    workflow = ws.workflows.create(
        friendly_name="English only", configuration=json.dumps(configuration), task_reservation_timeout=60
    )
    assert workflow.task_reservation_timeout == 60
    worker = ws.workers.create(friendly_name="walt", attributes=json.dumps({"languages": ["en", "fr"]}))
    assert worker.activity_name == "Offline"
    worker_channel = ws.workers(worker.sid).worker_channels("priority-chat").update(capacity=2)
    assert worker_channel.configured_capacity == 2
    assert ws.workers(worker.sid).update(activity_sid=activities["Available"].sid).available is True

    task = ws.tasks.create(
        workflow_sid=workflow.sid, task_channel="priority-chat", attributes=json.dumps({"type": "question"})
    )
    assert task.assignment_status == "pending"

    async def pending_reservation():
        return ws.tasks(task.sid).reservations.list(reservation_status="pending")

    [reservation] = await eventually(pending_reservation, what="a pending reservation")
    assert reservation.worker_sid == worker.sid
    accepted = ws.tasks(task.sid).reservations(reservation.sid).update(reservation_status="accepted")
    assert accepted.reservation_status == "accepted"
    assert ws.tasks(task.sid).fetch().assignment_status == "assigned"
    completed = ws.tasks(task.sid).update(assignment_status="completed", reason="answered")
    assert completed.assignment_status == "completed" and completed.reason == "answered"
    assert ws.workers(worker.sid).worker_channels("priority-chat").fetch().assigned_tasks == 0


async def test_twilio_client_pages_and_reports_errors(twilio: Client):
    workspace = twilio.taskrouter.v1.workspaces.create(friendly_name="Paging")
    ws = twilio.taskrouter.v1.workspaces(workspace.sid)
    for name in ("Lunch", "Training", "Meeting"):
        ws.activities.create(friendly_name=name)
    names = [a.friendly_name for a in ws.activities.list(page_size=2)]
    assert len(names) == 7 and {"Lunch", "Training", "Meeting", "Offline"} <= set(names)
    with pytest.raises(TwilioRestException) as error:
        ws.task_queues.create(friendly_name="Broken", target_workers="languages HAZ 'en'")
    assert error.value.status == 400
    assert "position 10" in error.value.msg
    with pytest.raises(TwilioRestException) as missing:
        ws.workers("WK" + "0" * 32).fetch()
    assert missing.value.status == 404 and missing.value.code == 20404


async def test_twilio_client_writes_and_reads_a_conversation(twilio: Client):
    conversation = twilio.conversations.v1.conversations.create(
        friendly_name="Order 42", attributes=json.dumps({"order": 42})
    )
    assert conversation.state == "active" and conversation.sid.startswith("CH")
    participant = twilio.conversations.v1.conversations(conversation.sid).participants.create(identity="gina")
    assert participant.identity == "gina"
    for body in ("first", "second"):
        twilio.conversations.v1.conversations(conversation.sid).messages.create(author="gina", body=body)
    messages = twilio.conversations.v1.conversations(conversation.sid).messages.list()
    assert [(m.index, m.body, m.participant_sid) for m in messages] == [
        (0, "first", participant.sid),
        (1, "second", participant.sid),
    ]
    with pytest.raises(TwilioRestException) as duplicate:
        twilio.conversations.v1.conversations(conversation.sid).participants.create(identity="gina")
    assert duplicate.value.code == 50433


async def test_wrong_credentials_are_refused(parley, account):
    client = Client(account.account_sid, "not-the-token")
    client.taskrouter.base_url = f"{parley.base_url}/taskrouter"
    with pytest.raises(TwilioRestException) as error:
        client.taskrouter.v1.workspaces("WS" + "0" * 32).fetch()
    assert error.value.status == 401 and error.value.code == 20003
