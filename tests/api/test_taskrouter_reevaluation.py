"""Re-evaluation through the official `twilio` client: a waiting task whose attributes change is routed again
through its workflow (and may move queue), and a workflow updated with `ReEvaluateTasks=true` routes its
waiting tasks through the new configuration; without it they keep the plan they entered with."""

from __future__ import annotations

import json
from typing import Any

from twilio.rest import Client

from tests.support.histories import record_runs
from tests.support.waiting import eventually


class Languages:
    """Queues `English` (its agent offline) and `French` (its agent available); French tasks go to French."""

    def __init__(self, twilio: Client) -> None:
        workspace = twilio.taskrouter.v1.workspaces.create(friendly_name="Languages")
        self.ws = twilio.taskrouter.v1.workspaces(workspace.sid)
        activity = {a.friendly_name: a.sid for a in self.ws.activities.list()}
        self.english = self.ws.task_queues.create(friendly_name="English", target_workers="lang == 'en'").sid
        self.french = self.ws.task_queues.create(friendly_name="French", target_workers="lang == 'fr'").sid
        self.flow = self.ws.workflows.create(friendly_name="By language", configuration=self.config()).sid
        self.ws.workers.create(friendly_name="eve", attributes=json.dumps({"lang": "en"}))
        self.francois = self.ws.workers.create(
            friendly_name="francois", attributes=json.dumps({"lang": "fr"}), activity_sid=activity["Available"]
        ).sid

    def config(self, *, default: str | None = None) -> str:
        return json.dumps(
            {
                "task_routing": {
                    "filters": [
                        {
                            "filter_friendly_name": "French",
                            "expression": "lang == 'fr'",
                            "targets": [{"queue": self.french}],
                        }
                    ],
                    "default_filter": {"queue": default or self.english},
                }
            }
        )

    async def waiting_in(self, task_sid: str, queue_sid: str) -> Any:
        async def there() -> Any:
            task = self.ws.tasks(task_sid).fetch()
            return task if task.task_queue_sid == queue_sid and task.assignment_status == "pending" else None

        return await eventually(there, what=f"the task waiting in {queue_sid}")

    async def offered_to_francois(self, task_sid: str) -> Any:
        async def offered() -> list[Any]:
            return self.ws.tasks(task_sid).reservations.list(reservation_status="pending")

        [reservation] = await eventually(offered, what="an offer to francois")
        assert reservation.worker_sid == self.francois
        return reservation


async def test_new_attributes_route_a_waiting_task_again(twilio: Client, temporal) -> None:
    team = Languages(twilio)
    task = team.ws.tasks.create(workflow_sid=team.flow, attributes=json.dumps({"lang": "en"}))
    await team.waiting_in(task.sid, team.english)
    team.ws.tasks(task.sid).update(attributes=json.dumps({"lang": "fr"}))
    reservation = await team.offered_to_francois(task.sid)
    assert team.ws.tasks(task.sid).fetch().task_queue_sid == team.french
    types = [e.event_type for e in team.ws.events.list(task_sid=task.sid)]
    assert types.count("task-queue.entered") == 2 and "task-queue.moved" in types

    team.ws.tasks(task.sid).reservations(reservation.sid).update(reservation_status="accepted")
    team.ws.tasks(task.sid).update(assignment_status="completed", reason="done")

    async def ended() -> bool:
        return (await temporal.get_workflow_handle(task.sid).describe()).status.name == "COMPLETED"

    await eventually(ended, what="the task's workflow to end")
    await record_runs(temporal, task.sid, "re-evaluated-attributes")


async def test_re_evaluate_tasks_routes_waiting_tasks_through_the_new_configuration(twilio: Client) -> None:
    team = Languages(twilio)
    kept = team.ws.tasks.create(workflow_sid=team.flow, attributes=json.dumps({"lang": "de"}))
    await team.waiting_in(kept.sid, team.english)
    # A new configuration without ReEvaluateTasks: the waiting task keeps its plan.
    team.ws.workflows(team.flow).update(configuration=team.config(default=team.french))
    moved = team.ws.tasks.create(workflow_sid=team.flow, attributes=json.dumps({"lang": "de"}))
    await team.offered_to_francois(moved.sid)  # a new task takes the new default
    assert team.ws.tasks(kept.sid).fetch().task_queue_sid == team.english

    team.ws.workflows(team.flow).update(configuration=team.config(default=team.french), re_evaluate_tasks="true")

    async def offered() -> list[Any]:
        return team.ws.tasks(kept.sid).reservations.list()

    # francois holds the other task's offer (capacity 1 on default): the task waits in French for him.
    await team.waiting_in(kept.sid, team.french)
    assert await offered() == []
