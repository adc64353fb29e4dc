"""The one routing engine: given the waiting tasks of a workspace, the workers and queue membership, decide
which reservations to create and record why (the decision record). Pure: storage loads, locks and writes.

Rules, in TaskRouter's terms (reference/twilio-api.md §4.4-4.6):
- tasks are served FIFO (priority, then age) or LIFO per queue; `prioritize_queue_order` says which kind first;
- a task in a step is offered to members of the step's queue that pass, in order: known-worker routing, not
  already holding one of its reservations, an available activity, a worker channel for the task's channel that
  is available and has a free slot, single-tasking, the target `expression`;
- among those, workers who have not yet declined the task come first; a worker who rejected it or let it time
  out is offered it again only when nobody else can take it (TaskRouter never blacklists a worker for a task);
- then `order_by`, then longest idle; up to `max_reserved_workers` reservations at once;
- a task that has gone from pending to reserved MAX_ASSIGNMENT_COUNT times is not offered again (it is canceled).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.limits import MAX_ASSIGNMENT_COUNT, MAX_CANDIDATES_RECORDED
from domain.routing.decision import CandidateVerdict, ChosenWorker, Exclusion, RoutingDecision, StepSummary
from domain.routing.expressions import KeyRef, parse_expression
from domain.routing.step import TaskStep
from domain.routing.workflow_config import sort_workers
from domain.states import ReservationStatus, TaskStatus


class QueueOrder(StrEnum):
    FIFO = "FIFO"
    LIFO = "LIFO"


@dataclass(slots=True)
class ChannelLoad:
    """A worker's capacity on one task channel. The engine takes slots from it as it plans offers."""

    sid: str
    capacity: int
    assigned: int
    reserved: int
    available: bool
    last_reserved_at: datetime | None = None

    @property
    def busy(self) -> int:
        return self.assigned + self.reserved

    @property
    def is_full(self) -> bool:
        return self.busy >= self.capacity


@dataclass(slots=True)
class WorkerState:
    sid: str
    friendly_name: str
    attributes: Mapping[str, Any]
    activity_sid: str
    activity_name: str
    activity_available: bool
    date_status_changed: datetime | None = None
    channels: dict[str, ChannelLoad] = field(default_factory=dict)  # by task channel SID

    @property
    def load(self) -> int:
        """Tasks held or offered on every channel (single-tasking workspaces allow one)."""
        return sum(channel.busy for channel in self.channels.values())

    def context(self) -> dict[str, Any]:
        """What `worker.*` means in a target expression and in `order_by`."""
        return {
            **self.attributes,
            "sid": self.sid,
            "friendly_name": self.friendly_name,
            "activity_sid": self.activity_sid,
            "activity_name": self.activity_name,
        }

    def idle_since(self, channel: ChannelLoad) -> datetime | None:
        """Longest idle: when this channel last got a reservation, else when the worker last changed activity."""
        return channel.last_reserved_at or self.date_status_changed


@dataclass(frozen=True, slots=True)
class TaskInStep:
    sid: str
    attributes: Mapping[str, Any]
    priority: int
    task_channel_sid: str
    step: TaskStep
    enqueued_at: datetime  # virtual_start_time: what FIFO and LIFO order by
    task_order: QueueOrder = QueueOrder.FIFO
    max_reserved_workers: int = 1
    status: TaskStatus = TaskStatus.PENDING
    assignment_count: int = 0
    pending_workers: frozenset[str] = frozenset()
    # The latest way each worker declined this task (rejected or let time out), for workers who did.
    declined: Mapping[str, ReservationStatus] = field(default_factory=dict)
    waiting_reason: str | None = None

    @property
    def wanted(self) -> int:
        return self.max_reserved_workers - len(self.pending_workers)


@dataclass(frozen=True, slots=True)
class WorkspaceRules:
    multi_task_enabled: bool = True
    prioritize_queue_order: QueueOrder = QueueOrder.FIFO


@dataclass(frozen=True, slots=True)
class Offer:
    task_sid: str
    worker_sid: str
    worker_channel_sid: str
    reservation_timeout: int
    decision: RoutingDecision


@dataclass(slots=True)
class Choice:
    """One task's outcome in a pass: the offers to make (possibly none) and the decision record."""

    offers: list[Offer]
    decision: RoutingDecision


@dataclass(slots=True)
class MatchingPlan:
    offers: list[Offer] = field(default_factory=list)
    # Tasks still waiting, with the sentence that says why (written only when it changed).
    waiting: dict[str, str] = field(default_factory=dict)
    # Tasks that reached MAX_ASSIGNMENT_COUNT: to be canceled rather than offered again.
    exhausted: list[str] = field(default_factory=list)


# --- task order --------------------------------------------------------------------------------------


def order_tasks(tasks: Iterable[TaskInStep], prioritize: QueueOrder) -> list[TaskInStep]:
    """FIFO queues serve higher priority first, then the oldest; LIFO queues serve the newest, ignoring priority.
    A worker in both kinds of queue gets the kind `prioritize_queue_order` names first."""
    fifo = sorted(
        (t for t in tasks if t.task_order is QueueOrder.FIFO),
        key=lambda t: (-t.priority, t.enqueued_at, t.sid),
    )
    lifo = sorted(
        (t for t in tasks if t.task_order is QueueOrder.LIFO),
        key=lambda t: (t.enqueued_at, t.sid),
        reverse=True,
    )
    return lifo + fifo if prioritize is QueueOrder.LIFO else fifo + lifo


# --- one task ----------------------------------------------------------------------------------------


def resolve_known_worker(value: str, task_attributes: Mapping[str, Any]) -> str | None:
    """`task.<attribute>` reads the task's attribute (None if missing or not a string); anything else is literal."""
    if not value.startswith("task."):
        return value
    try:
        key = _key(value)
    except ValueError:
        return None
    resolved = key.resolve({"task": task_attributes})
    return resolved if isinstance(resolved, str) and resolved else None


@functools.lru_cache(maxsize=1024)
def _key(path: str) -> KeyRef:
    return KeyRef.parse(path)


def _known_worker_exclusion(step: TaskStep, task: TaskInStep, worker: WorkerState) -> tuple[Exclusion, str] | None:
    if step.known_worker_sid is not None:
        wanted = resolve_known_worker(step.known_worker_sid, task.attributes)
        if wanted is None:
            return Exclusion.KNOWN_WORKER_UNRESOLVED, _unresolved(step.known_worker_sid)
        if worker.sid != wanted:
            return Exclusion.NOT_THE_KNOWN_WORKER, f"known-worker routing targets {wanted}"
    elif step.known_worker_friendly_name is not None:
        wanted = resolve_known_worker(step.known_worker_friendly_name, task.attributes)
        if wanted is None:
            return Exclusion.KNOWN_WORKER_UNRESOLVED, _unresolved(step.known_worker_friendly_name)
        if worker.friendly_name.casefold() != wanted.casefold():
            return Exclusion.NOT_THE_KNOWN_WORKER, f"known-worker routing targets '{wanted}'"
    return None


def _unresolved(path: str) -> str:
    return f"known-worker routing: the task attribute {path[len('task.') :]!r} naming the worker is missing"


def _exclusion(task: TaskInStep, worker: WorkerState, *, multi_task: bool) -> tuple[Exclusion, str] | None:
    """The first rule this worker fails for this task, with the sentence the decision record shows."""
    step = task.step
    known = _known_worker_exclusion(step, task, worker)
    if known is not None:
        return known
    if worker.sid in task.pending_workers:
        return Exclusion.HOLDS_RESERVATION, "already holds a pending reservation for this task"
    if step.ignore_capacity and step.known_worker_sid is not None:
        # IgnoreCapacity: the known worker gets it whatever its activity and load; it needs the channel only.
        if task.task_channel_sid not in worker.channels:
            return Exclusion.NO_WORKER_CHANNEL, "has no worker channel for the task's channel"
        return None
    if not worker.activity_available:
        return Exclusion.ACTIVITY_UNAVAILABLE, f"activity '{worker.activity_name}' is unavailable"
    channel = worker.channels.get(task.task_channel_sid)
    if channel is None:
        return Exclusion.NO_WORKER_CHANNEL, "has no worker channel for the task's channel"
    if not channel.available:
        return Exclusion.CHANNEL_UNAVAILABLE, "worker channel is unavailable"
    if channel.is_full:
        return (
            Exclusion.AT_CAPACITY,
            f"at capacity ({channel.assigned} assigned + {channel.reserved} reserved of {channel.capacity})",
        )
    if not multi_task and worker.load > 0:
        return Exclusion.SINGLE_TASKING_BUSY, "single-tasking workspace and the worker already has a task"
    if step.expression is not None:
        document = {"task": task.attributes, "worker": worker.context()}
        if not parse_expression(step.expression).evaluate(document):
            return Exclusion.EXPRESSION_FALSE, f"target expression '{step.expression}' is false for this worker"
    return None


def _declined_text(status: ReservationStatus) -> str:
    done = "rejected" if status is ReservationStatus.REJECTED else "let time out"
    return f"{done} a reservation for this task; a worker who has not declined it is preferred"


def _order_label(step: TaskStep) -> list[str]:
    return [f"worker.{clause.attribute} {clause.direction.value}" for clause in step.order_by]


def _rank(task: TaskInStep, eligible: list[tuple[WorkerState, ChannelLoad]]) -> list[tuple[WorkerState, ChannelLoad]]:
    """`order_by` first (workers lacking an attribute last), then longest idle, then SID for a stable order."""

    def longest_idle(pair: tuple[WorkerState, ChannelLoad]) -> tuple[float, str]:
        idle = pair[0].idle_since(pair[1])
        # A worker never reserved (and with no activity change on record) has been idle the longest.
        return (idle.timestamp() if idle is not None else -math.inf, pair[0].sid)

    return sort_workers(eligible, task.step.order_by, longest_idle, attributes=lambda pair: pair[0].context())


def _why(task: TaskInStep, worker: WorkerState, channel: ChannelLoad, rank: int, of: int, *, declined: bool) -> str:
    order = ", ".join(_order_label(task.step))
    idle = worker.idle_since(channel)
    why = (
        f"ranked {rank} of {of} eligible by "
        + (f"{order}, then " if order else "")
        + f"longest idle (idle since {idle.isoformat() if idle else 'never reserved'})"
    )
    if declined:
        why += "; it declined this task before, and no other worker can take it"
    if task.step.ignore_capacity:
        why += "; IgnoreCapacity: offered whatever its activity, channel availability and load"
    return why


def choose(
    task: TaskInStep, members: Sequence[WorkerState], *, multi_task: bool, members_total: int | None = None
) -> Choice:
    """Which of the queue's members this task is offered to now, and the record of why.
    Takes a slot on each chosen worker's channel, so later tasks in the same pass see it taken.
    `members_total` counts the queue's members when only some were loaded (storage loads the workers that can
    take work now); the others are unavailable or at capacity, and the record says how many."""
    step = task.step
    verdicts: list[CandidateVerdict] = []
    fresh: list[tuple[WorkerState, ChannelLoad]] = []
    declined: list[tuple[WorkerState, ChannelLoad]] = []
    for worker in sorted(members, key=lambda w: w.sid):
        excluded = _exclusion(task, worker, multi_task=multi_task)
        if excluded is None:
            pair = (worker, worker.channels[task.task_channel_sid])
            (declined if worker.sid in task.declined else fresh).append(pair)
        verdicts.append(
            CandidateVerdict(
                worker_sid=worker.sid,
                friendly_name=worker.friendly_name,
                excluded_because=excluded[1] if excluded else None,
                exclusion=excluded[0] if excluded else None,
            )
        )
    pool = fresh or declined
    if fresh and declined:
        # Someone who has not said no can take it: the decliners wait their turn.
        passed_over = {worker.sid for worker, _ in declined}
        verdicts = [
            v.model_copy(
                update={
                    "excluded_because": _declined_text(task.declined[v.worker_sid]),
                    "exclusion": Exclusion.DECLINED_BEFORE,
                }
            )
            if v.worker_sid in passed_over
            else v
            for v in verdicts
        ]
    ranked = _rank(task, pool)[: max(task.wanted, 0)]
    label = step.label
    total = max(members_total if members_total is not None else len(members), len(members))
    summary = _summary(len(pool), total, label, offered=bool(ranked), unlisted=total - len(members))
    decision = RoutingDecision(
        step=StepSummary(
            queue_sid=step.queue_sid,
            filter_index=step.filter_index,
            filter_name=step.filter_name,
            target_index=step.target_index,
            step_index=step.step_index,
            expression=step.expression,
            order_by=_order_label(step),
        ),
        summary=summary,
        candidates=verdicts[:MAX_CANDIDATES_RECORDED],
        candidates_total=len(verdicts),
        eligible=len(pool),
    )
    offers: list[Offer] = []
    for rank, (worker, channel) in enumerate(ranked, start=1):
        chosen = ChosenWorker(
            worker_sid=worker.sid,
            friendly_name=worker.friendly_name,
            rank=rank,
            why=_why(task, worker, channel, rank, len(pool), declined=not fresh),
        )
        offers.append(
            Offer(
                task_sid=task.sid,
                worker_sid=worker.sid,
                worker_channel_sid=channel.sid,
                reservation_timeout=step.reservation_timeout,
                decision=decision.model_copy(update={"chosen": chosen}),
            )
        )
        channel.reserved += 1
    return Choice(offers=offers, decision=decision)


def _summary(eligible: int, total: int, label: str, *, offered: bool, unlisted: int = 0) -> str:
    if offered:
        summary = f"{eligible} eligible of {total} queue members in {label}"
    elif total == 0:
        summary = f"no worker matches the queue's target_workers in {label}"
    else:
        summary = f"no eligible worker among {total} queue members in {label}"
    if unlisted:
        summary += f" ({unlisted} unavailable or at capacity, not listed)"
    return summary


def complete_record(
    decision: RoutingDecision, task: TaskInStep, others: Iterable[WorkerState], *, multi_task: bool
) -> RoutingDecision:
    """An offer's record with the queue members the pass did not load (those that could take no work) added,
    each with why it was excluded, so the record answers "why not Bob?" for every member."""
    extra = []
    for worker in others:
        excluded = _exclusion(task, worker, multi_task=multi_task)
        extra.append(
            CandidateVerdict(
                worker_sid=worker.sid,
                friendly_name=worker.friendly_name,
                excluded_because=excluded[1] if excluded else "could take no work when the pass began",
                exclusion=excluded[0] if excluded else None,
            )
        )
    if not extra:
        return decision
    verdicts = sorted([*decision.candidates, *extra], key=lambda v: v.worker_sid)
    total = decision.candidates_total + len(extra)
    return decision.model_copy(
        update={
            "candidates": verdicts[:MAX_CANDIDATES_RECORDED],
            "candidates_total": total,
            "summary": _summary(decision.eligible, total, task.step.label, offered=decision.chosen is not None),
        }
    )


# --- skip_if -----------------------------------------------------------------------------------------


def skip_context(members: Iterable[WorkerState]) -> dict[str, Any]:
    """The `workers.*` variables of `skip_if`: queue members in available / unavailable activities, and per
    activity SID."""
    counts: dict[str, Any] = {"available": 0, "unavailable": 0}
    for worker in members:
        counts["available" if worker.activity_available else "unavailable"] += 1
        counts[worker.activity_sid] = counts.get(worker.activity_sid, 0) + 1
    return {"workers": counts}


def should_skip(step: TaskStep, members: Iterable[WorkerState]) -> bool:
    """Whether a task that entered `step` and could not be offered at once skips straight to the next step."""
    return step.skip_if is not None and parse_expression(step.skip_if).evaluate(skip_context(members))


# --- a whole pass ------------------------------------------------------------------------------------


def plan_matching(
    rules: WorkspaceRules,
    tasks: Iterable[TaskInStep],
    workers: Mapping[str, WorkerState],
    members: Mapping[str, Iterable[str]],
    member_counts: Mapping[str, int] | None = None,
) -> MatchingPlan:
    """Offer every waiting task that can be offered now, best task first (invariant 3: no missed wake-up).
    `members` maps a queue SID to its members' SIDs (the cached `target_workers` evaluation); `workers` may
    hold only some of them (those that can take work), `member_counts` then says how many each queue has."""
    plan = MatchingPlan()
    for task in order_tasks(tasks, rules.prioritize_queue_order):
        if task.wanted <= 0:
            continue
        queue_members = [workers[sid] for sid in members.get(task.step.queue_sid, ()) if sid in workers]
        total = member_counts.get(task.step.queue_sid) if member_counts is not None else None
        choice = choose(task, queue_members, multi_task=rules.multi_task_enabled, members_total=total)
        if not choice.offers:
            if choice.decision.summary != task.waiting_reason:
                plan.waiting[task.sid] = choice.decision.summary
            continue
        if task.status is TaskStatus.PENDING and task.assignment_count >= MAX_ASSIGNMENT_COUNT:
            # Give the slots back: this task will not be reserved again.
            for offer in choice.offers:
                workers[offer.worker_sid].channels[task.task_channel_sid].reserved -= 1
            plan.exhausted.append(task.sid)
            continue
        plan.offers.extend(choice.offers)
    return plan
