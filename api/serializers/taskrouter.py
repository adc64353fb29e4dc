"""TaskRouter v1 resources as Twilio serializes them (snake_case, ISO dates, absolute url/links)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.wire import iso

Row = dict[str, Any]


def ws_url(base: str, workspace_sid: str) -> str:
    return f"{base}/taskrouter/v1/Workspaces/{workspace_sid}"


def workspace_json(row: Row, base: str, *, activity_names: dict[str, str]) -> dict[str, Any]:
    url = ws_url(base, row["sid"])
    return {
        "account_sid": row["account_sid"],
        "date_created": iso(row["date_created"]),
        "date_updated": iso(row["date_updated"]),
        "default_activity_name": activity_names.get(row["default_activity_sid"] or ""),
        "default_activity_sid": row["default_activity_sid"],
        "event_callback_url": row["event_callback_url"],
        "events_filter": row["events_filter"],
        "friendly_name": row["friendly_name"],
        "multi_task_enabled": row["multi_task_enabled"],
        "sid": row["sid"],
        "timeout_activity_name": activity_names.get(row["timeout_activity_sid"] or ""),
        "timeout_activity_sid": row["timeout_activity_sid"],
        "prioritize_queue_order": row["prioritize_queue_order"],
        "url": url,
        "links": {
            name: f"{url}/{path}"
            for name, path in (
                ("activities", "Activities"),
                ("statistics", "Statistics"),
                ("real_time_statistics", "RealTimeStatistics"),
                ("cumulative_statistics", "CumulativeStatistics"),
                ("task_queues", "TaskQueues"),
                ("tasks", "Tasks"),
                ("workers", "Workers"),
                ("workflows", "Workflows"),
                ("task_channels", "TaskChannels"),
                ("events", "Events"),
            )
        },
    }


def activity_json(row: Row, base: str) -> dict[str, Any]:
    return {
        "account_sid": row["account_sid"],
        "available": row["available"],
        "date_created": iso(row["date_created"]),
        "date_updated": iso(row["date_updated"]),
        "friendly_name": row["friendly_name"],
        "sid": row["sid"],
        "workspace_sid": row["workspace_sid"],
        "url": f"{ws_url(base, row['workspace_sid'])}/Activities/{row['sid']}",
        "links": {"workspace": ws_url(base, row["workspace_sid"])},
    }


def task_channel_json(row: Row, base: str) -> dict[str, Any]:
    return {
        "account_sid": row["account_sid"],
        "date_created": iso(row["date_created"]),
        "date_updated": iso(row["date_updated"]),
        "friendly_name": row["friendly_name"],
        "sid": row["sid"],
        "unique_name": row["unique_name"],
        "workspace_sid": row["workspace_sid"],
        "channel_optimized_routing": row["channel_optimized_routing"],
        "url": f"{ws_url(base, row['workspace_sid'])}/TaskChannels/{row['sid']}",
        "links": {"workspace": ws_url(base, row["workspace_sid"])},
    }


def worker_json(row: Row, base: str, *, activity_name: str | None) -> dict[str, Any]:
    ws = ws_url(base, row["workspace_sid"])
    url = f"{ws}/Workers/{row['sid']}"
    return {
        "account_sid": row["account_sid"],
        "activity_name": activity_name,
        "activity_sid": row["activity_sid"],
        "attributes": row["attributes"],
        "available": row["available"],
        "date_created": iso(row["date_created"]),
        "date_status_changed": iso(row["date_status_changed"]),
        "date_updated": iso(row["date_updated"]),
        "friendly_name": row["friendly_name"],
        "sid": row["sid"],
        "workspace_sid": row["workspace_sid"],
        "url": url,
        "links": {
            "channels": f"{url}/Channels",
            "activity": f"{ws}/Activities/{row['activity_sid']}",
            "workspace": ws,
            "statistics": f"{ws}/Workers/Statistics",
            "real_time_statistics": f"{ws}/Workers/RealTimeStatistics",
            "cumulative_statistics": f"{ws}/Workers/CumulativeStatistics",
            "worker_statistics": f"{url}/Statistics",
            "worker_channels": f"{url}/Channels",
            "reservations": f"{url}/Reservations",
        },
    }


def worker_channel_json(row: Row, base: str, *, task_channel_unique_name: str) -> dict[str, Any]:
    capacity = int(row["configured_capacity"])
    busy = int(row["assigned_tasks"]) + int(row["reserved_tasks"])
    free_pct = 0 if capacity <= 0 else max(0, min(100, round(100 * (capacity - busy) / capacity)))
    return {
        "account_sid": row["account_sid"],
        "assigned_tasks": row["assigned_tasks"],
        "available": row["available"],
        "available_capacity_percentage": free_pct,
        "configured_capacity": capacity,
        "date_created": iso(row["date_created"]),
        "date_updated": iso(row["date_updated"]),
        "sid": row["sid"],
        "task_channel_sid": row["task_channel_sid"],
        "task_channel_unique_name": task_channel_unique_name,
        "worker_sid": row["worker_sid"],
        "workspace_sid": row["workspace_sid"],
        "url": f"{ws_url(base, row['workspace_sid'])}/Workers/{row['worker_sid']}/Channels/{row['sid']}",
    }


def task_queue_json(row: Row, base: str, *, activity_names: dict[str, str]) -> dict[str, Any]:
    ws = ws_url(base, row["workspace_sid"])
    url = f"{ws}/TaskQueues/{row['sid']}"
    return {
        "account_sid": row["account_sid"],
        "assignment_activity_sid": row["assignment_activity_sid"],
        "assignment_activity_name": activity_names.get(row["assignment_activity_sid"] or ""),
        "date_created": iso(row["date_created"]),
        "date_updated": iso(row["date_updated"]),
        "friendly_name": row["friendly_name"],
        "max_reserved_workers": row["max_reserved_workers"],
        "reservation_activity_sid": row["reservation_activity_sid"],
        "reservation_activity_name": activity_names.get(row["reservation_activity_sid"] or ""),
        "sid": row["sid"],
        "target_workers": row["target_workers"],
        "task_order": row["task_order"],
        "url": url,
        "workspace_sid": row["workspace_sid"],
        "links": {
            "assignment_activity": f"{ws}/Activities/{row['assignment_activity_sid']}"
            if row["assignment_activity_sid"]
            else None,
            "reservation_activity": f"{ws}/Activities/{row['reservation_activity_sid']}"
            if row["reservation_activity_sid"]
            else None,
            "workspace": ws,
            "statistics": f"{url}/Statistics",
            "real_time_statistics": f"{url}/RealTimeStatistics",
            "cumulative_statistics": f"{url}/CumulativeStatistics",
            "list_statistics": f"{ws}/TaskQueues/Statistics",
            "bulk_real_time_statistics": f"{ws}/TaskQueues/RealTimeStatistics",
        },
    }


def workflow_json(row: Row, base: str) -> dict[str, Any]:
    url = f"{ws_url(base, row['workspace_sid'])}/Workflows/{row['sid']}"
    return {
        "account_sid": row["account_sid"],
        "assignment_callback_url": row["assignment_callback_url"],
        "configuration": row["configuration"],
        "date_created": iso(row["date_created"]),
        "date_updated": iso(row["date_updated"]),
        "document_content_type": "application/json",
        "fallback_assignment_callback_url": row["fallback_assignment_callback_url"],
        "friendly_name": row["friendly_name"],
        "sid": row["sid"],
        "task_reservation_timeout": row["task_reservation_timeout"],
        "workspace_sid": row["workspace_sid"],
        "url": url,
        "links": {
            "statistics": f"{url}/Statistics",
            "real_time_statistics": f"{url}/RealTimeStatistics",
            "cumulative_statistics": f"{url}/CumulativeStatistics",
        },
    }


def task_json(row: Row, base: str) -> dict[str, Any]:
    """Expects the row joined with queue/workflow friendly names and the task channel unique name."""
    ws = ws_url(base, row["workspace_sid"])
    url = f"{ws}/Tasks/{row['sid']}"
    now = datetime.now(UTC)
    return {
        "account_sid": row["account_sid"],
        "age": int((now - row["date_created"]).total_seconds()),
        "assignment_status": row["assignment_status"],
        "attributes": row["attributes"],
        "addons": "{}",
        "date_created": iso(row["date_created"]),
        "date_updated": iso(row["date_updated"]),
        "task_queue_entered_date": iso(row["task_queue_entered_date"]),
        "priority": row["priority"],
        "reason": row["reason"],
        "sid": row["sid"],
        "task_queue_sid": row["task_queue_sid"],
        "task_queue_friendly_name": row.get("task_queue_friendly_name"),
        "task_channel_sid": row["task_channel_sid"],
        "task_channel_unique_name": row.get("task_channel_unique_name"),
        "timeout": row["timeout"],
        "workflow_sid": row["workflow_sid"],
        "workflow_friendly_name": row.get("workflow_friendly_name"),
        "workspace_sid": row["workspace_sid"],
        "url": url,
        "links": {
            "task_queue": f"{ws}/TaskQueues/{row['task_queue_sid']}" if row["task_queue_sid"] else None,
            "workflow": f"{ws}/Workflows/{row['workflow_sid']}" if row["workflow_sid"] else None,
            "workspace": ws,
            "reservations": f"{url}/Reservations",
        },
        "virtual_start_time": iso(row["virtual_start_time"]),
        "ignore_capacity": False,
        "routing_target": None,
        # Parley extension: why a pending task is still waiting (invariant 4: visibly pending with a reason).
        "routing_status": (row.get("routing_step") or {}).get("waiting_reason"),
    }


TASK_SELECT = """
    SELECT t.*, q.friendly_name AS task_queue_friendly_name, w.friendly_name AS workflow_friendly_name,
           tc.unique_name AS task_channel_unique_name
      FROM tasks t
      LEFT JOIN task_queues q ON q.sid = t.task_queue_sid
      LEFT JOIN workflows w ON w.sid = t.workflow_sid
      LEFT JOIN task_channels tc ON tc.sid = t.task_channel_sid
"""


def reservation_json(row: Row, base: str, *, worker_scoped: bool = False) -> dict[str, Any]:
    """Expects the row joined with the worker's friendly name as worker_name."""
    ws = ws_url(base, row["workspace_sid"])
    url = (
        f"{ws}/Workers/{row['worker_sid']}/Reservations/{row['sid']}"
        if worker_scoped
        else f"{ws}/Tasks/{row['task_sid']}/Reservations/{row['sid']}"
    )
    return {
        "account_sid": row["account_sid"],
        "date_created": iso(row["date_created"]),
        "date_updated": iso(row["date_updated"]),
        "reservation_status": row["reservation_status"],
        "sid": row["sid"],
        "task_sid": row["task_sid"],
        "worker_name": row.get("worker_name"),
        "worker_sid": row["worker_sid"],
        "workspace_sid": row["workspace_sid"],
        "url": url,
        "links": {
            "task": f"{ws}/Tasks/{row['task_sid']}",
            "worker": f"{ws}/Workers/{row['worker_sid']}",
            "workspace": ws,
        },
        # Parley extension: the routing decision record (why this reservation went to this worker).
        "routing_decision": row.get("decision"),
    }


RESERVATION_SELECT = """
    SELECT r.*, w.friendly_name AS worker_name
      FROM reservations r JOIN workers w ON w.sid = r.worker_sid
"""


def event_json(row: Row, base: str) -> dict[str, Any]:
    ws = ws_url(base, row["workspace_sid"])
    date = row["event_date"]
    return {
        "account_sid": row["account_sid"],
        "actor_sid": row["actor_sid"],
        "actor_type": row["actor_type"],
        "actor_url": None,
        "description": row["description"],
        "event_data": row["event_data"],
        "event_date": iso(date),
        "event_date_ms": int(date.timestamp() * 1000),
        "event_type": row["event_type"],
        "resource_sid": row["resource_sid"],
        "resource_type": row["resource_type"],
        "resource_url": None,
        "sid": row["sid"],
        "source": "parley",
        "source_ip_address": None,
        "url": f"{ws}/Events/{row['sid']}",
        "workspace_sid": row["workspace_sid"],
    }
