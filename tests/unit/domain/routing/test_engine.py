"""The routing engine's rules, one at a time: who a task in a step is offered to, in what order, and what the
decision record says about everyone considered."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.limits import MAX_ASSIGNMENT_COUNT, MAX_CANDIDATES_RECORDED
from domain.routing.decision import Exclusion
from domain.routing.engine import (
    ChannelLoad,
    QueueOrder,
    TaskInStep,
    WorkerState,
    WorkspaceRules,
    choose,
    complete_record,
    order_tasks,
    plan_matching,
    resolve_known_worker,
    should_skip,
    skip_context,
)
from domain.routing.step import TaskStep
from domain.routing.workflow_config import OrderClause, SortDirection, parse_workflow_configuration, plan_routing
from domain.states import ReservationStatus, TaskStatus

QUEUE = "WQ" + "1" * 32
OTHER_QUEUE = "WQ" + "2" * 32
CHAT = "TC" + "c" * 32
VOICE = "TC" + "v" * 32
AVAILABLE = "WA" + "a" * 32
OFFLINE = "WA" + "0" * 32
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def sid(prefix: str, n: int) -> str:
    return f"{prefix}{n:032x}"


def worker(
    n: int,
    *,
    name: str | None = None,
    attributes: dict[str, Any] | None = None,
    available: bool = True,
    capacity: int = 1,
    assigned: int = 0,
    reserved: int = 0,
    channel_available: bool = True,
    idle_minutes: float | None = None,
    status_minutes: float = 60,
    channel: str | None = CHAT,
    other_channels: dict[str, ChannelLoad] | None = None,
) -> WorkerState:
    """A worker idle since `idle_minutes` ago (None: never reserved), whose activity changed `status_minutes` ago."""
    channels: dict[str, ChannelLoad] = dict(other_channels or {})
    if channel is not None:
        channels[channel] = ChannelLoad(
            sid=sid("WC", n),
            capacity=capacity,
            assigned=assigned,
            reserved=reserved,
            available=channel_available,
            last_reserved_at=None if idle_minutes is None else T0 - timedelta(minutes=idle_minutes),
        )
    return WorkerState(
        sid=sid("WK", n),
        friendly_name=name or f"agent{n}",
        attributes=attributes or {},
        activity_sid=AVAILABLE if available else OFFLINE,
        activity_name="Available" if available else "Offline",
        activity_available=available,
        date_status_changed=T0 - timedelta(minutes=status_minutes),
        channels=channels,
    )


def task(
    n: int = 1,
    *,
    attributes: dict[str, Any] | None = None,
    priority: int = 0,
    age_minutes: float = 0,
    queue: str = QUEUE,
    order: QueueOrder = QueueOrder.FIFO,
    max_reserved: int = 1,
    status: TaskStatus = TaskStatus.PENDING,
    assignment_count: int = 0,
    pending: frozenset[str] = frozenset(),
    declined: dict[str, ReservationStatus] | None = None,
    waiting_reason: str | None = None,
    channel: str = CHAT,
    **step: Any,
) -> TaskInStep:
    return TaskInStep(
        sid=sid("WT", n),
        attributes=attributes or {},
        priority=priority,
        task_channel_sid=channel,
        step=TaskStep(queue_sid=queue, **step),
        enqueued_at=T0 - timedelta(minutes=age_minutes),
        task_order=order,
        max_reserved_workers=max_reserved,
        status=status,
        assignment_count=assignment_count,
        pending_workers=pending,
        declined=declined or {},
        waiting_reason=waiting_reason,
    )


def offered(t: TaskInStep, members: list[WorkerState], *, multi_task: bool = True) -> list[str]:
    """Whom the task is offered to (on copies: choosing takes slots from the workers it offers to)."""
    return [o.worker_sid for o in choose(t, copy.deepcopy(members), multi_task=multi_task).offers]


def verdicts(t: TaskInStep, members: list[WorkerState], *, multi_task: bool = True) -> dict[str, Exclusion | None]:
    decision = choose(t, copy.deepcopy(members), multi_task=multi_task).decision
    return {v.worker_sid: v.exclusion for v in decision.candidates}


# --- eligibility -------------------------------------------------------------------------------------


def test_an_available_member_with_a_free_slot_is_offered_the_task() -> None:
    alice = worker(1)
    assert offered(task(), [alice]) == [alice.sid]


def test_a_worker_in_an_unavailable_activity_is_not_offered() -> None:
    offline = worker(1, available=False)
    choice = choose(task(), [offline], multi_task=True)
    assert choice.offers == []
    [verdict] = choice.decision.candidates
    assert verdict.exclusion is Exclusion.ACTIVITY_UNAVAILABLE
    assert verdict.excluded_because == "activity 'Offline' is unavailable"


def test_a_worker_without_a_channel_for_the_tasks_channel_is_not_offered() -> None:
    voice_only = worker(1, channel=VOICE)
    assert verdicts(task(), [voice_only]) == {voice_only.sid: Exclusion.NO_WORKER_CHANNEL}


def test_an_unavailable_worker_channel_is_not_offered() -> None:
    paused = worker(1, channel_available=False)
    assert verdicts(task(), [paused]) == {paused.sid: Exclusion.CHANNEL_UNAVAILABLE}


@pytest.mark.parametrize(
    ("capacity", "assigned", "reserved", "eligible"),
    [(1, 0, 0, True), (1, 1, 0, False), (1, 0, 1, False), (3, 1, 1, True), (3, 2, 1, False), (0, 0, 0, False)],
)
def test_capacity_counts_assigned_and_pending_reservations(
    capacity: int, assigned: int, reserved: int, eligible: bool
) -> None:
    w = worker(1, capacity=capacity, assigned=assigned, reserved=reserved)
    assert offered(task(), [w]) == ([w.sid] if eligible else [])
    if not eligible:
        [verdict] = choose(task(), [w], multi_task=True).decision.candidates
        assert verdict.excluded_because == (f"at capacity ({assigned} assigned + {reserved} reserved of {capacity})")


def test_single_tasking_workspace_offers_nothing_to_a_worker_busy_on_any_channel() -> None:
    busy_on_voice = worker(1, capacity=5, other_channels={VOICE: ChannelLoad("WCv", 1, 1, 0, True)})
    assert offered(task(), [busy_on_voice], multi_task=True) == [busy_on_voice.sid]
    assert verdicts(task(), [busy_on_voice], multi_task=False) == {busy_on_voice.sid: Exclusion.SINGLE_TASKING_BUSY}
    idle = worker(2, capacity=5)
    assert offered(task(), [idle], multi_task=False) == [idle.sid]


def test_a_worker_already_holding_a_reservation_for_the_task_is_not_offered_it_twice() -> None:
    alice, bob = worker(1, capacity=3), worker(2, capacity=3)
    t = task(max_reserved=2, pending=frozenset({alice.sid}))
    assert offered(t, [alice, bob]) == [bob.sid]
    assert verdicts(t, [alice, bob])[alice.sid] is Exclusion.HOLDS_RESERVATION


def test_the_target_expression_sees_task_and_worker_attributes() -> None:
    spanish = worker(1, attributes={"languages": ["es", "en"]})
    english = worker(2, attributes={"languages": ["en"]})
    t = task(attributes={"language": "es"}, expression="task.language IN worker.languages")
    assert offered(t, [english, spanish]) == [spanish.sid]
    assert verdicts(t, [english, spanish])[english.sid] is Exclusion.EXPRESSION_FALSE


def test_the_target_expression_sees_the_workers_sid_name_and_activity() -> None:
    alice, bob = worker(1, name="alice"), worker(2, name="bob")
    assert offered(task(expression="worker.friendly_name == 'bob'"), [alice, bob]) == [bob.sid]
    assert offered(task(expression=f"worker.sid == '{alice.sid}'"), [alice, bob]) == [alice.sid]
    assert offered(task(expression="worker.activity_name == 'Available'"), [alice]) == [alice.sid]
    assert offered(task(expression=f"worker.activity_sid == '{AVAILABLE}'"), [bob]) == [bob.sid]


def test_without_a_target_expression_every_member_is_eligible() -> None:
    members = [worker(1), worker(2)]
    assert choose(task(), members, multi_task=True).decision.eligible == 2


# --- known-worker routing ----------------------------------------------------------------------------


def test_known_worker_sid_read_from_a_task_attribute_considers_only_that_worker() -> None:
    alice, bob = worker(1, idle_minutes=90), worker(2, idle_minutes=5)
    t = task(attributes={"last_agent": bob.sid}, known_worker_sid="task.last_agent")
    assert offered(t, [alice, bob]) == [bob.sid]
    record = verdicts(t, [alice, bob])
    assert record[alice.sid] is Exclusion.NOT_THE_KNOWN_WORKER and record[bob.sid] is None


def test_known_worker_sid_may_be_a_literal_sid() -> None:
    alice, bob = worker(1), worker(2)
    assert offered(task(known_worker_sid=alice.sid), [alice, bob]) == [alice.sid]


@pytest.mark.parametrize(
    "busy",
    [
        {"available": False},
        {"channel_available": False},
        {"assigned": 1},
        {"reserved": 1},
    ],
    ids=["offline", "channel-unavailable", "full-assigned", "full-reserved"],
)
def test_ignore_capacity_offers_the_known_worker_whatever_its_state(busy: dict[str, Any]) -> None:
    alice = worker(1, **busy)
    t = task(known_worker_sid=alice.sid, ignore_capacity=True)
    assert offered(t, [alice]) == [alice.sid]
    assert offered(task(known_worker_sid=alice.sid), [alice]) == []
    # Single-tasking does not hold it back either.
    assert offered(t, [worker(1, assigned=1, capacity=3)], multi_task=False) == [alice.sid]
    choice = choose(t, copy.deepcopy([alice]), multi_task=True)
    assert choice.offers[0].decision.chosen is not None
    assert "IgnoreCapacity" in choice.offers[0].decision.chosen.why


def test_ignore_capacity_still_needs_the_known_worker_and_its_channel() -> None:
    alice, bob = worker(1, available=False), worker(2, available=False)
    t = task(known_worker_sid=alice.sid, ignore_capacity=True)
    assert offered(t, [alice, bob]) == [alice.sid]
    assert verdicts(t, [alice, bob])[bob.sid] is Exclusion.NOT_THE_KNOWN_WORKER
    no_channel = worker(1, channel=None)
    assert verdicts(t, [no_channel])[no_channel.sid] is Exclusion.NO_WORKER_CHANNEL
    # Without a known worker, IgnoreCapacity changes nothing.
    assert offered(task(ignore_capacity=True), [alice]) == []
    # A pending reservation of the worker for this task still counts: never two for one task.
    held = task(known_worker_sid=alice.sid, ignore_capacity=True, pending=frozenset({alice.sid}), max_reserved=2)
    assert offered(held, [alice]) == []
    assert verdicts(held, [alice])[alice.sid] is Exclusion.HOLDS_RESERVATION


def test_an_ignore_capacity_offer_takes_a_slot_beyond_the_capacity() -> None:
    alice = worker(1, assigned=1)
    t = task(known_worker_sid=alice.sid, ignore_capacity=True)
    assert len(choose(t, [alice], multi_task=True).offers) == 1
    assert alice.channels[CHAT].reserved == 1 and alice.channels[CHAT].busy == 2


def test_known_worker_friendly_name_matches_whatever_its_case() -> None:
    alice, bob = worker(1, name="Alice"), worker(2, name="bob")
    t = task(attributes={"agent": "ALICE"}, known_worker_friendly_name="task.agent")
    assert offered(t, [alice, bob]) == [alice.sid]
    choice = choose(t, [alice, bob], multi_task=True)
    assert {v.worker_sid: v.excluded_because for v in choice.decision.candidates}[bob.sid] == (
        "known-worker routing targets 'ALICE'"
    )


@pytest.mark.parametrize("attributes", [{}, {"last_agent": 7}, {"last_agent": ""}, {"last_agent": None}])
def test_known_worker_with_no_usable_attribute_offers_no_one(attributes: dict[str, Any]) -> None:
    members = [worker(1), worker(2)]
    t = task(attributes=attributes, known_worker_sid="task.last_agent")
    choice = choose(t, members, multi_task=True)
    assert choice.offers == []
    assert {v.exclusion for v in choice.decision.candidates} == {Exclusion.KNOWN_WORKER_UNRESOLVED}
    assert "'last_agent'" in choice.decision.candidates[0].excluded_because


def test_resolve_known_worker() -> None:
    assert resolve_known_worker("task.agent.sid", {"agent": {"sid": "WK1"}}) == "WK1"
    assert resolve_known_worker("WKliteral", {}) == "WKliteral"
    assert resolve_known_worker("task.missing", {}) is None
    assert resolve_known_worker("task.bad key", {}) is None


# --- who goes first ----------------------------------------------------------------------------------


def test_longest_idle_worker_goes_first_and_never_reserved_before_anyone() -> None:
    recent, longest, never = worker(1, idle_minutes=1), worker(2, idle_minutes=30), worker(3, idle_minutes=None)
    t = task(max_reserved=3)
    assert offered(t, [recent, longest, never]) == [never.sid, longest.sid, recent.sid]


def test_a_worker_with_no_idle_time_at_all_goes_first_and_says_never_reserved() -> None:
    timeless = worker(1, idle_minutes=None)
    timeless.date_status_changed = None
    old = worker(2, idle_minutes=500)
    offers = choose(task(max_reserved=2), [old, timeless], multi_task=True).offers
    assert [o.worker_sid for o in offers] == [timeless.sid, old.sid]
    assert offers[0].decision.chosen is not None and offers[0].decision.chosen.why.endswith(
        "(idle since never reserved)"
    )


def test_idle_time_falls_back_to_the_last_activity_change() -> None:
    # Neither was ever reserved; the one who became available earlier has waited longer.
    early, late = worker(1, status_minutes=50), worker(2, status_minutes=5)
    assert offered(task(), [late, early]) == [early.sid]


def test_order_by_ranks_before_idle_time_in_either_direction() -> None:
    junior = worker(1, attributes={"level": 1}, idle_minutes=99)
    senior = worker(2, attributes={"level": 9}, idle_minutes=1)
    desc = [OrderClause(attribute="level", direction=SortDirection.DESC)]
    asc = [OrderClause(attribute="level", direction=SortDirection.ASC)]
    assert offered(task(order_by=desc), [junior, senior]) == [senior.sid]
    assert offered(task(order_by=asc), [junior, senior]) == [junior.sid]


def test_order_by_puts_workers_lacking_the_attribute_last_and_ties_fall_back_to_idle_time() -> None:
    lacking = worker(1, idle_minutes=500)
    tied_recent = worker(2, attributes={"level": 5}, idle_minutes=1)
    tied_longest = worker(3, attributes={"level": 5}, idle_minutes=40)
    t = task(max_reserved=3, order_by=[OrderClause(attribute="level", direction=SortDirection.DESC)])
    assert offered(t, [lacking, tied_recent, tied_longest]) == [tied_longest.sid, tied_recent.sid, lacking.sid]


def test_equal_workers_are_ordered_by_sid_so_the_choice_is_stable() -> None:
    a, b = worker(2, idle_minutes=10), worker(1, idle_minutes=10)
    assert offered(task(max_reserved=2), [a, b]) == [b.sid, a.sid]


def test_the_why_of_the_winner_names_its_rank_and_the_ordering() -> None:
    first, second = worker(1, attributes={"level": 3}), worker(2, attributes={"level": 1})
    t = task(max_reserved=2, order_by=[OrderClause(attribute="level", direction=SortDirection.DESC)])
    offers = choose(t, [first, second], multi_task=True).offers
    assert offers[0].decision.chosen is not None and offers[1].decision.chosen is not None
    assert offers[0].decision.chosen.rank == 1 and offers[1].decision.chosen.rank == 2
    assert offers[0].decision.chosen.why.startswith("ranked 1 of 2 eligible by worker.level DESC, then longest idle")
    assert offers[0].decision.chosen.why.endswith("(idle since 2026-12-01T08:00:00+00:00)")
    never = choose(task(), [worker(3, idle_minutes=None, status_minutes=0)], multi_task=True).offers[0]
    assert never.decision.chosen is not None and "idle since 2026-12-01T09:00:00+00:00" in never.decision.chosen.why
    assert offers[0].decision.step.order_by == ["worker.level DESC"]


# --- declined before ---------------------------------------------------------------------------------


def test_a_worker_who_rejected_the_task_yields_to_one_who_has_not() -> None:
    rejecter = worker(1, idle_minutes=999)
    fresh = worker(2, idle_minutes=1)
    t = task(declined={rejecter.sid: ReservationStatus.REJECTED})
    assert offered(t, [rejecter, fresh]) == [fresh.sid]
    record = {v.worker_sid: v for v in choose(t, [rejecter, fresh], multi_task=True).decision.candidates}
    assert record[rejecter.sid].exclusion is Exclusion.DECLINED_BEFORE
    assert "rejected a reservation for this task" in (record[rejecter.sid].excluded_because or "")
    assert record[fresh.sid].excluded_because is None


def test_a_worker_who_let_it_time_out_yields_too() -> None:
    sleeper, fresh = worker(1), worker(2)
    t = task(declined={sleeper.sid: ReservationStatus.TIMEOUT})
    assert offered(t, [sleeper, fresh]) == [fresh.sid]
    record = {
        v.worker_sid: v.excluded_because for v in choose(t, [sleeper, fresh], multi_task=True).decision.candidates
    }
    assert "let time out" in (record[sleeper.sid] or "")


def test_a_decliner_is_offered_the_task_again_when_nobody_else_can_take_it() -> None:
    rejecter, offline = worker(1), worker(2, available=False)
    t = task(declined={rejecter.sid: ReservationStatus.REJECTED})
    choice = choose(t, [rejecter, offline], multi_task=True)
    assert [o.worker_sid for o in choice.offers] == [rejecter.sid]
    chosen = choice.offers[0].decision.chosen
    assert chosen is not None and chosen.why.endswith("it declined this task before, and no other worker can take it")
    assert {v.worker_sid: v.exclusion for v in choice.decision.candidates}[rejecter.sid] is None


def test_decliners_are_ranked_among_themselves() -> None:
    a, b = worker(1, idle_minutes=5), worker(2, idle_minutes=50)
    t = task(declined={a.sid: ReservationStatus.REJECTED, b.sid: ReservationStatus.TIMEOUT})
    assert offered(t, [a, b]) == [b.sid]


def test_a_decliner_who_is_also_ineligible_says_why_it_is_ineligible() -> None:
    busy = worker(1, assigned=1)
    t = task(declined={busy.sid: ReservationStatus.REJECTED})
    assert verdicts(t, [busy, worker(2)])[busy.sid] is Exclusion.AT_CAPACITY


# --- multi-reservation and slots ---------------------------------------------------------------------


def test_up_to_max_reserved_workers_are_offered_at_once() -> None:
    members = [worker(n, idle_minutes=n) for n in range(1, 5)]
    assert len(offered(task(max_reserved=3), members)) == 3
    assert len(offered(task(max_reserved=1), members)) == 1


def test_pending_reservations_count_against_max_reserved_workers() -> None:
    members = [worker(n, capacity=2) for n in range(1, 5)]
    t = task(max_reserved=3, pending=frozenset({members[0].sid, members[1].sid}))
    assert len(offered(t, members)) == 1
    assert offered(task(max_reserved=2, pending=frozenset({members[0].sid, members[1].sid})), members) == []


def test_an_offer_takes_a_slot_that_later_tasks_in_the_pass_see() -> None:
    alice = worker(1, capacity=1)
    first, second = task(1), task(2)
    assert [o.worker_sid for o in choose(first, [alice], multi_task=True).offers] == [alice.sid]
    assert alice.channels[CHAT].reserved == 1
    [verdict] = choose(second, [alice], multi_task=True).decision.candidates
    assert verdict.exclusion is Exclusion.AT_CAPACITY


def test_the_offer_carries_the_steps_reservation_timeout_and_channel() -> None:
    alice = worker(7)
    [offer] = choose(task(reservation_timeout=45), [alice], multi_task=True).offers
    assert offer.reservation_timeout == 45
    assert offer.worker_channel_sid == alice.channels[CHAT].sid
    assert offer.task_sid == task().sid


# --- the decision record -----------------------------------------------------------------------------


def test_the_record_lists_every_candidate_with_why_and_counts_them() -> None:
    members = [worker(1), worker(2, available=False), worker(3, channel_available=False)]
    decision = choose(task(), members, multi_task=True).decision
    assert decision.candidates_total == 3 and decision.eligible == 1
    assert [v.worker_sid for v in decision.candidates] == sorted(w.sid for w in members)
    assert decision.summary == f"1 eligible of 3 queue members in queue {QUEUE} (default_filter, target 0)"


def test_the_record_keeps_at_most_max_candidates_but_counts_all() -> None:
    members = [worker(n, available=False) for n in range(MAX_CANDIDATES_RECORDED + 5)]
    decision = choose(task(), members, multi_task=True).decision
    assert len(decision.candidates) == MAX_CANDIDATES_RECORDED
    assert decision.candidates_total == MAX_CANDIDATES_RECORDED + 5


def test_the_summary_says_why_nobody_was_offered() -> None:
    nobody = choose(task(filter_index=0, filter_name="Chat"), [], multi_task=True).decision
    assert nobody.summary == f"no worker matches the queue's target_workers in queue {QUEUE} (filter 'Chat', target 0)"
    none_eligible = choose(task(filter_index=1), [worker(1, available=False)], multi_task=True).decision
    assert none_eligible.summary == f"no eligible worker among 1 queue members in queue {QUEUE} (filter 1, target 0)"


def test_the_summary_counts_members_that_were_not_loaded() -> None:
    label = f"queue {QUEUE} (default_filter, target 0)"
    alice = worker(1)
    offered_one = choose(task(), [alice], multi_task=True, members_total=5).decision
    assert offered_one.summary == f"1 eligible of 5 queue members in {label} (4 unavailable or at capacity, not listed)"
    nobody_free = choose(task(), [], multi_task=True, members_total=3).decision
    assert nobody_free.summary == (
        f"no eligible worker among 3 queue members in {label} (3 unavailable or at capacity, not listed)"
    )
    # A total below what was loaded is not believed; zero members is "no worker matches".
    assert choose(task(), [worker(1)], multi_task=True, members_total=0).decision.summary == (
        f"1 eligible of 1 queue members in {label}"
    )
    assert choose(task(), [], multi_task=True, members_total=0).decision.summary == (
        f"no worker matches the queue's target_workers in {label}"
    )


def test_an_offers_record_lists_the_members_the_pass_did_not_load() -> None:
    alice, bob, cy = worker(1), worker(2, available=False), worker(3, assigned=1)
    t = task()
    [offer] = choose(t, [alice], multi_task=True, members_total=3).offers
    assert "not listed" in offer.decision.summary
    record = complete_record(offer.decision, t, [cy, bob], multi_task=True)
    assert [v.worker_sid for v in record.candidates] == [alice.sid, bob.sid, cy.sid]
    by_sid = {v.worker_sid: v for v in record.candidates}
    assert by_sid[bob.sid].exclusion is Exclusion.ACTIVITY_UNAVAILABLE
    assert by_sid[cy.sid].exclusion is Exclusion.AT_CAPACITY
    assert by_sid[alice.sid].exclusion is None
    assert record.candidates_total == 3 and record.eligible == 1
    assert record.summary == f"1 eligible of 3 queue members in queue {QUEUE} (default_filter, target 0)"
    assert record.chosen == offer.decision.chosen
    assert complete_record(offer.decision, t, [], multi_task=True) is offer.decision
    # Someone unexpectedly free is recorded as such, not as eligible.
    odd = complete_record(offer.decision, t, [worker(4)], multi_task=True)
    assert {v.worker_sid: v.excluded_because for v in odd.candidates}[sid("WK", 4)] == (
        "could take no work when the pass began"
    )


def test_a_complete_record_keeps_at_most_max_candidates() -> None:
    t = task()
    [offer] = choose(t, [worker(1)], multi_task=True).offers
    others = [worker(n, available=False) for n in range(2, MAX_CANDIDATES_RECORDED + 10)]
    record = complete_record(offer.decision, t, others, multi_task=True)
    assert len(record.candidates) == MAX_CANDIDATES_RECORDED
    assert record.candidates_total == 1 + len(others)


def test_a_pass_takes_member_counts_per_queue() -> None:
    alice = worker(1, available=False)
    t = task()
    plan = plan_matching(WorkspaceRules(), [t], {alice.sid: alice}, {QUEUE: [alice.sid]}, {QUEUE: 4})
    assert plan.waiting[t.sid].endswith("(3 unavailable or at capacity, not listed)")
    assert "among 4 queue members" in plan.waiting[t.sid]


def test_the_step_label_names_the_default_filter() -> None:
    assert TaskStep(queue_sid=QUEUE, target_index=2).label == f"queue {QUEUE} (default_filter, target 2)"


# --- task order --------------------------------------------------------------------------------------


def test_fifo_serves_higher_priority_first_then_the_oldest() -> None:
    old_low, new_high, old_high = (
        task(1, priority=0, age_minutes=30),
        task(2, priority=5),
        task(3, priority=5, age_minutes=9),
    )
    assert [t.sid for t in order_tasks([old_low, new_high, old_high], QueueOrder.FIFO)] == [
        old_high.sid,
        new_high.sid,
        old_low.sid,
    ]


def test_lifo_serves_the_newest_and_ignores_priority() -> None:
    old_high = task(1, priority=9, age_minutes=30, order=QueueOrder.LIFO)
    new_low = task(2, priority=0, age_minutes=1, order=QueueOrder.LIFO)
    assert [t.sid for t in order_tasks([old_high, new_low], QueueOrder.FIFO)] == [new_low.sid, old_high.sid]


def test_prioritize_queue_order_says_which_kind_of_queue_goes_first() -> None:
    fifo = task(1, age_minutes=60)
    lifo = task(2, order=QueueOrder.LIFO)
    assert [t.sid for t in order_tasks([lifo, fifo], QueueOrder.FIFO)] == [fifo.sid, lifo.sid]
    assert [t.sid for t in order_tasks([fifo, lifo], QueueOrder.LIFO)] == [lifo.sid, fifo.sid]


def test_equal_tasks_are_ordered_by_sid() -> None:
    a, b = task(2, age_minutes=5), task(1, age_minutes=5)
    assert [t.sid for t in order_tasks([a, b], QueueOrder.FIFO)] == [b.sid, a.sid]
    la, lb = task(2, age_minutes=5, order=QueueOrder.LIFO), task(1, age_minutes=5, order=QueueOrder.LIFO)
    assert [t.sid for t in order_tasks([lb, la], QueueOrder.FIFO)] == [la.sid, lb.sid]


# --- a whole pass ------------------------------------------------------------------------------------


def _pass(tasks: list[TaskInStep], workers: list[WorkerState], *, multi_task: bool = True, members: dict | None = None):
    by_sid = {w.sid: w for w in workers}
    return plan_matching(
        WorkspaceRules(multi_task_enabled=multi_task),
        tasks,
        by_sid,
        members if members is not None else {QUEUE: [w.sid for w in workers]},
    )


def test_the_best_task_gets_the_only_free_worker() -> None:
    alice = worker(1)
    urgent, routine = task(1, priority=10), task(2, priority=1, age_minutes=60)
    plan = _pass([routine, urgent], [alice])
    assert [(o.task_sid, o.worker_sid) for o in plan.offers] == [(urgent.sid, alice.sid)]
    assert plan.waiting == {
        routine.sid: f"no eligible worker among 1 queue members in queue {QUEUE} (default_filter, target 0)"
    }


def test_a_task_is_offered_only_to_members_of_its_steps_queue() -> None:
    alice, bob = worker(1), worker(2)
    plan = _pass([task(queue=OTHER_QUEUE)], [alice, bob], members={QUEUE: [alice.sid], OTHER_QUEUE: [bob.sid]})
    assert [o.worker_sid for o in plan.offers] == [bob.sid]


def test_members_that_are_not_loaded_workers_are_ignored() -> None:
    alice = worker(1)
    plan = _pass([task()], [alice], members={QUEUE: ["WK" + "f" * 32, alice.sid]})
    assert [o.worker_sid for o in plan.offers] == [alice.sid]


def test_the_waiting_reason_is_written_only_when_it_changes() -> None:
    summary = f"no worker matches the queue's target_workers in queue {QUEUE} (default_filter, target 0)"
    assert _pass([task(waiting_reason=summary)], [], members={}).waiting == {}
    assert _pass([task(waiting_reason="stale")], [], members={}).waiting == {task().sid: summary}


def test_a_task_with_all_its_reservations_out_is_skipped() -> None:
    alice, bob = worker(1), worker(2)
    plan = _pass([task(status=TaskStatus.RESERVED, pending=frozenset({bob.sid}))], [alice, bob])
    assert plan.offers == [] and plan.waiting == {}


def test_a_task_that_reached_the_max_assignment_count_is_not_offered_again() -> None:
    alice = worker(1)
    tired = task(1, assignment_count=MAX_ASSIGNMENT_COUNT)
    plan = _pass([tired, task(2, age_minutes=-1)], [alice])
    assert plan.exhausted == [tired.sid]
    # Its slot went back: the next task gets alice.
    assert [(o.task_sid, o.worker_sid) for o in plan.offers] == [(task(2).sid, alice.sid)]
    assert alice.channels[CHAT].reserved == 1


def test_below_the_max_assignment_count_a_task_is_offered() -> None:
    alice = worker(1)
    plan = _pass([task(assignment_count=MAX_ASSIGNMENT_COUNT - 1)], [alice])
    assert plan.exhausted == [] and len(plan.offers) == 1


def test_a_reserved_task_adding_a_reservation_is_not_a_new_assignment() -> None:
    alice, bob = worker(1), worker(2)
    t = task(
        status=TaskStatus.RESERVED, max_reserved=2, pending=frozenset({bob.sid}), assignment_count=MAX_ASSIGNMENT_COUNT
    )
    plan = _pass([t], [alice, bob])
    assert plan.exhausted == [] and [o.worker_sid for o in plan.offers] == [alice.sid]


def test_single_tasking_applies_across_a_pass() -> None:
    alice = worker(1, capacity=3)
    plan = _pass([task(1), task(2, age_minutes=-1)], [alice], multi_task=False)
    assert len(plan.offers) == 1


# --- skip_if -----------------------------------------------------------------------------------------


def test_skip_context_counts_members_by_availability_and_activity() -> None:
    members = [worker(1), worker(2), worker(3, available=False)]
    assert skip_context(members) == {"workers": {"available": 2, "unavailable": 1, AVAILABLE: 2, OFFLINE: 1}}
    assert skip_context([]) == {"workers": {"available": 0, "unavailable": 0}}


def test_skip_if_holds_against_the_queue_members() -> None:
    step = TaskStep(queue_sid=QUEUE, skip_if="workers.available == 0")
    assert should_skip(step, [worker(1, available=False)])
    assert not should_skip(step, [worker(1)])
    assert not should_skip(TaskStep(queue_sid=QUEUE), [])
    by_activity = TaskStep(queue_sid=QUEUE, skip_if=f"workers.{OFFLINE} >= 2")
    assert should_skip(by_activity, [worker(1, available=False), worker(2, available=False)])
    assert not should_skip(by_activity, [worker(1, available=False), worker(2)])


# --- the step as stored ------------------------------------------------------------------------------


def test_a_step_recorded_by_the_first_slice_reads_back_with_its_order_by() -> None:
    step = TaskStep.model_validate(
        {
            "queue_sid": QUEUE,
            "order_by": [{"key": "level", "descending": True}, {"key": "tenure"}],
            "waiting_reason": "x",
        }
    )
    assert step.order_by == [
        OrderClause(attribute="level", direction=SortDirection.DESC),
        OrderClause(attribute="tenure", direction=SortDirection.ASC),
    ]
    assert TaskStep.model_validate(step.model_dump(mode="json")) == step


def test_has_known_worker() -> None:
    assert TaskStep(queue_sid=QUEUE, known_worker_sid="task.a").has_known_worker
    assert TaskStep(queue_sid=QUEUE, known_worker_friendly_name="task.a").has_known_worker
    assert not TaskStep(queue_sid=QUEUE).has_known_worker


def test_worker_state_helpers() -> None:
    w = worker(1, capacity=3, assigned=1, reserved=1, other_channels={VOICE: ChannelLoad("WCv", 2, 0, 1, True)})
    assert w.load == 3
    assert w.channels[CHAT].busy == 2 and not w.channels[CHAT].is_full
    context = w.context()
    assert context["sid"] == w.sid and context["friendly_name"] == "agent1"
    assert context["activity_sid"] == AVAILABLE and context["activity_name"] == "Available"


# --- from a workflow configuration to an offer -------------------------------------------------------


def test_a_parsed_target_becomes_the_step_the_engine_routes_with() -> None:
    configuration = {
        "task_routing": {
            "filters": [
                {
                    "filter_friendly_name": "Spanish",
                    "expression": "language == 'es'",
                    "targets": [
                        {
                            "queue": QUEUE,
                            "expression": "task.language IN worker.languages",
                            "priority": 7,
                            "timeout": 30,
                            "order_by": "worker.level DESC",
                            "skip_if": "workers.available == 0",
                            "known_worker_sid": "task.agent_sid",
                        },
                        {"known_worker_friendly_name": "task.agent_name"},
                    ],
                }
            ]
        }
    }
    plan = plan_routing(parse_workflow_configuration(json.dumps(configuration)), {"language": "es"})
    first = TaskStep.of(plan.steps[0], index=0, reservation_timeout=45)
    assert first == TaskStep(
        queue_sid=QUEUE,
        expression="task.language IN worker.languages",
        priority=7,
        order_by=[OrderClause(attribute="level", direction=SortDirection.DESC)],
        skip_if="workers.available == 0",
        known_worker_sid="task.agent_sid",
        filter_index=0,
        filter_name="Spanish",
        target_index=0,
        step_index=0,
        reservation_timeout=45,
    )
    second = TaskStep.of(plan.steps[1], index=1, reservation_timeout=45)
    assert (second.queue_sid, second.known_worker_friendly_name, second.target_index, second.step_index) == (
        QUEUE,
        "task.agent_name",
        1,
        1,
    )
    assert second.expression is None and second.known_worker_sid is None and second.skip_if is None
    spanish = worker(1, attributes={"languages": ["es"], "level": 1})
    english = worker(2, attributes={"languages": ["en"], "level": 9})
    in_step = TaskInStep(
        sid=sid("WT", 1),
        attributes={"language": "es", "agent_sid": spanish.sid},
        priority=0,
        task_channel_sid=CHAT,
        step=first,
        enqueued_at=T0,
    )
    [offer] = choose(in_step, [english, spanish], multi_task=True).offers
    assert offer.worker_sid == spanish.sid and offer.reservation_timeout == 45
    assert should_skip(first, [worker(3, available=False)])


# --- exact words of the decision record --------------------------------------------------------------


def test_every_exclusion_says_why_in_words() -> None:
    alice = worker(1)
    t = task(pending=frozenset({alice.sid}), max_reserved=2)
    cases = [
        (t, worker(1), True, "already holds a pending reservation for this task"),
        (task(), worker(1, channel=VOICE), True, "has no worker channel for the task's channel"),
        (task(), worker(1, channel_available=False), True, "worker channel is unavailable"),
        (
            task(),
            worker(1, capacity=2, assigned=1),
            False,
            "single-tasking workspace and the worker already has a task",
        ),
        (
            task(expression="worker.x == 1"),
            worker(1),
            True,
            "target expression 'worker.x == 1' is false for this worker",
        ),
        (task(known_worker_sid=sid("WK", 9)), worker(1), True, f"known-worker routing targets {sid('WK', 9)}"),
        (
            task(known_worker_friendly_name="task.agent"),
            worker(1),
            True,
            "known-worker routing: the task attribute 'agent' naming the worker is missing",
        ),
    ]
    for in_step, member, multi_task, text in cases:
        [verdict] = choose(in_step, [member], multi_task=multi_task).decision.candidates
        assert verdict.excluded_because == text


def test_a_decliner_passed_over_says_how_it_declined() -> None:
    timed_out, rejected, fresh = worker(1), worker(2), worker(3)
    t = task(declined={timed_out.sid: ReservationStatus.TIMEOUT, rejected.sid: ReservationStatus.REJECTED})
    record = {
        v.worker_sid: v.excluded_because
        for v in choose(t, [timed_out, rejected, fresh], multi_task=True).decision.candidates
    }
    assert (
        record[timed_out.sid]
        == "let time out a reservation for this task; a worker who has not declined it is preferred"
    )
    assert record[rejected.sid] == "rejected a reservation for this task; a worker who has not declined it is preferred"


def test_the_why_without_order_by_and_with_two_clauses() -> None:
    alice = worker(1, idle_minutes=30)
    [plain] = choose(task(), [alice], multi_task=True).offers
    assert plain.decision.chosen is not None
    assert plain.decision.chosen.why == "ranked 1 of 1 eligible by longest idle (idle since 2026-12-01T08:30:00+00:00)"
    two = [OrderClause(attribute="level"), OrderClause(attribute="tenure", direction=SortDirection.DESC)]
    [ordered] = choose(task(order_by=two), [worker(2, idle_minutes=30)], multi_task=True).offers
    assert ordered.decision.chosen is not None
    assert ordered.decision.chosen.why == (
        "ranked 1 of 1 eligible by worker.level ASC, worker.tenure DESC, then longest idle "
        "(idle since 2026-12-01T08:30:00+00:00)"
    )
    declined = task(declined={alice.sid: ReservationStatus.REJECTED})
    [again] = choose(declined, [worker(1, idle_minutes=30)], multi_task=True).offers
    assert again.decision.chosen is not None
    assert again.decision.chosen.why == (
        "ranked 1 of 1 eligible by longest idle (idle since 2026-12-01T08:30:00+00:00); "
        "it declined this task before, and no other worker can take it"
    )


def test_the_record_summarises_the_step() -> None:
    t = task(filter_index=2, filter_name="VIP", target_index=1, step_index=3, expression="worker.vip == true")
    decision = choose(t, [worker(1, attributes={"vip": True})], multi_task=True).decision
    assert decision.step.model_dump() == {
        "queue_sid": QUEUE,
        "filter_index": 2,
        "filter_name": "VIP",
        "target_index": 1,
        "step_index": 3,
        "expression": "worker.vip == true",
        "order_by": [],
    }


def test_an_offer_adds_one_to_the_reserved_count() -> None:
    alice = worker(1, capacity=3, reserved=1)
    choose(task(), [alice], multi_task=True)
    assert alice.channels[CHAT].reserved == 2


def test_ties_are_broken_by_worker_sid_not_channel_sid() -> None:
    a = worker(1, idle_minutes=10)
    b = worker(2, idle_minutes=10)
    a.channels[CHAT].sid, b.channels[CHAT].sid = "WC" + "f" * 32, "WC" + "0" * 32
    assert offered(task(max_reserved=2), [b, a]) == [a.sid, b.sid]


def test_a_pass_honours_prioritize_queue_order_and_multi_tasking() -> None:
    alice = worker(1, capacity=2, assigned=1)
    fifo, lifo = task(1, age_minutes=60), task(2, order=QueueOrder.LIFO)
    plan = plan_matching(
        WorkspaceRules(multi_task_enabled=True, prioritize_queue_order=QueueOrder.LIFO),
        [fifo, lifo],
        {alice.sid: alice},
        {QUEUE: [alice.sid]},
    )
    assert [o.task_sid for o in plan.offers] == [lifo.sid]


def test_a_pass_goes_on_past_tasks_it_cannot_offer() -> None:
    alice = worker(1, capacity=3)
    full = task(1, priority=9, max_reserved=1, status=TaskStatus.RESERVED, pending=frozenset({"WK" + "e" * 32}))
    nobody = task(2, priority=8, queue=OTHER_QUEUE)
    served = task(3, priority=1)
    plan = _pass([full, nobody, served], [alice], members={QUEUE: [alice.sid], OTHER_QUEUE: []})
    assert [o.task_sid for o in plan.offers] == [served.sid]
    assert list(plan.waiting) == [nobody.sid]
