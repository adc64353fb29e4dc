"""TaskRouter statistics as Twilio serializes them: each endpoint's figures (the OpenAPI file's fields, no more),
and the resources that wrap them with `account_sid`, `workspace_sid` and `url`."""

from __future__ import annotations

from api.schemas.common import PageMeta, Public, TwilioDate
from storage.taskrouter.statistics import ActivityCount, ActivityDuration, Durations, Split

# --- the figures ----------------------------------------------------------------------------------------


class _Activities(Public):
    activity_statistics: list[ActivityCount]


class _Tasks(Public):
    longest_task_waiting_age: int
    longest_task_waiting_sid: str | None
    tasks_by_priority: dict[str, int]
    tasks_by_status: dict[str, int]
    total_tasks: int


class WorkspaceRealTime(_Activities, _Tasks):
    total_workers: int


class TaskQueueRealTime(_Activities, _Tasks):
    longest_relative_task_age_in_queue: int
    longest_relative_task_sid_in_queue: str | None
    total_available_workers: int
    total_eligible_workers: int


class WorkflowRealTime(_Tasks):
    pass


class WorkersRealTime(_Activities):
    total_workers: int


class _Reservations(Public):
    start_time: TwilioDate
    end_time: TwilioDate
    reservations_created: int
    reservations_accepted: int
    reservations_rejected: int
    reservations_timed_out: int
    reservations_canceled: int
    reservations_rescinded: int


class _TaskCounts(_Reservations):
    avg_task_acceptance_time: int
    split_by_wait_time: dict[str, Split] | None
    wait_duration_until_accepted: Durations
    wait_duration_until_canceled: Durations
    tasks_canceled: int
    tasks_completed: int
    tasks_deleted: int
    tasks_moved: int


class WorkspaceCumulative(_TaskCounts):
    tasks_created: int
    tasks_timed_out_in_workflow: int


class TaskQueueCumulative(_TaskCounts):
    tasks_entered: int
    wait_duration_in_queue_until_accepted: Durations


class WorkflowCumulative(_TaskCounts):
    tasks_entered: int
    tasks_timed_out_in_workflow: int


class WorkersCumulative(_Reservations):
    activity_durations: list[ActivityDuration]


class WorkerCumulative(WorkersCumulative):
    tasks_assigned: int


# --- the resources ---------------------------------------------------------------------------------------


class _Resource(Public):
    account_sid: str
    workspace_sid: str
    url: str


class WorkspaceRealTimeStatistics(WorkspaceRealTime, _Resource):
    pass


class WorkspaceCumulativeStatistics(WorkspaceCumulative, _Resource):
    pass


class WorkspaceStatistics(_Resource):
    realtime: WorkspaceRealTime
    cumulative: WorkspaceCumulative


class TaskQueueRealTimeStatistics(TaskQueueRealTime, _Resource):
    task_queue_sid: str


class TaskQueueCumulativeStatistics(TaskQueueCumulative, _Resource):
    task_queue_sid: str


class TaskQueueStatistics(_Resource):
    task_queue_sid: str
    realtime: TaskQueueRealTime
    cumulative: TaskQueueCumulative


class TaskQueuesStatistics(Public):
    """One item of `GET /TaskQueues/Statistics` (no `url` of its own, as in Twilio's schema)."""

    account_sid: str
    workspace_sid: str
    task_queue_sid: str
    realtime: TaskQueueRealTime
    cumulative: TaskQueueCumulative


class TaskQueuesStatisticsList(Public):
    task_queues_statistics: list[TaskQueuesStatistics]
    meta: PageMeta


class TaskQueueData(TaskQueueRealTime):
    """One queue of the bulk real-time answer."""

    task_queue_sid: str


class TaskQueueBulkRealTimeStatistics(_Resource):
    task_queue_data: list[TaskQueueData]
    task_queue_response_count: int


class WorkflowRealTimeStatistics(WorkflowRealTime, _Resource):
    workflow_sid: str


class WorkflowCumulativeStatistics(WorkflowCumulative, _Resource):
    workflow_sid: str


class WorkflowStatistics(_Resource):
    workflow_sid: str
    realtime: WorkflowRealTime
    cumulative: WorkflowCumulative


class WorkersRealTimeStatistics(WorkersRealTime, _Resource):
    pass


class WorkersCumulativeStatistics(WorkersCumulative, _Resource):
    pass


class WorkersStatistics(_Resource):
    realtime: WorkersRealTime
    cumulative: WorkersCumulative


class WorkerStatistics(_Resource):
    worker_sid: str
    cumulative: WorkerCumulative
