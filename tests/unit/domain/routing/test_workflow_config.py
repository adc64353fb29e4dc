"""Behaviour of Workflow configuration parsing, routing plans and order_by sorting."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from pydantic import ValidationError

from domain.errors import InvalidParameter
from domain.routing import (
    OrderClause,
    RoutingPlan,
    SortDirection,
    WorkflowConfiguration,
    WorkflowConfigurationError,
    parse_order_by,
    parse_workflow_configuration,
    plan_routing,
    sort_workers,
)
from domain.routing.workflow_config import MAX_CONFIGURATION_BYTES

Q_SPANISH = "WQ" + "1" * 32
Q_EVERYONE = "WQ" + "2" * 32
Q_OVERFLOW = "WQ" + "3" * 32
Q_DEFAULT = "WQ" + "a" * 32


def config(task_routing: dict[str, Any]) -> WorkflowConfiguration:
    return parse_workflow_configuration(json.dumps({"task_routing": task_routing}))


def config_error(task_routing: Any) -> WorkflowConfigurationError:
    with pytest.raises(WorkflowConfigurationError) as caught:
        parse_workflow_configuration(json.dumps({"task_routing": task_routing}))
    return caught.value


def one_filter(**target: Any) -> dict[str, Any]:
    return {"filters": [{"filter_friendly_name": "F", "expression": "1==1", "targets": [target]}]}


# Parsing ------------------------------------------------------------------------------------------------


def test_full_target_is_parsed_into_frozen_models() -> None:
    parsed = config(
        {
            "filters": [
                {
                    "filter_friendly_name": "Gold",
                    "expression": "customer_value == 'Gold'",
                    "targets": [
                        {
                            "queue": Q_SPANISH,
                            "expression": "task.language IN worker.languages",
                            "priority": 10,
                            "timeout": 300,
                            "order_by": "worker.level DESC, worker.tenure ASC",
                            "skip_if": "workers.available == 0",
                            "known_worker_sid": "task.agent_sid",
                        }
                    ],
                }
            ],
            "default_filter": {"queue": Q_DEFAULT},
        }
    )
    target = parsed.filters[0].targets[0]
    assert parsed.filters[0].friendly_name == "Gold"
    assert target.queue_sid == Q_SPANISH
    assert target.expression == "task.language IN worker.languages"
    assert (target.priority, target.timeout) == (10, 300)
    assert target.order_by == [
        OrderClause(attribute="level", direction=SortDirection.DESC),
        OrderClause(attribute="tenure", direction=SortDirection.ASC),
    ]
    assert target.skip_if == "workers.available == 0"
    assert target.known_worker_sid == "task.agent_sid"
    assert target.known_worker_friendly_name is None
    assert parsed.default_filter is not None and parsed.default_filter.queue_sid == Q_DEFAULT
    with pytest.raises(ValidationError):
        target.priority = 1  # type: ignore[misc]


def test_friendly_name_is_an_alias_of_filter_friendly_name() -> None:
    parsed = config({"filters": [{"friendly_name": "Sales", "expression": "1==1", "targets": [{"queue": Q_SPANISH}]}]})
    assert parsed.filters[0].friendly_name == "Sales"


def test_filter_friendly_name_wins_over_the_alias() -> None:
    raw = {
        "filter_friendly_name": "A",
        "friendly_name": "B",
        "expression": "1==1",
        "targets": [{"queue": Q_SPANISH}],
    }
    assert config({"filters": [raw]}).filters[0].friendly_name == "A"


def test_numeric_fields_accept_numeric_strings() -> None:
    target = config(one_filter(queue=Q_SPANISH, priority="10", timeout=" 300 ")).filters[0].targets[0]
    assert (target.priority, target.timeout) == (10, 300)


def test_integral_floats_are_accepted_as_integers() -> None:
    target = config(one_filter(queue=Q_SPANISH, priority=5.0, timeout=60.0)).filters[0].targets[0]
    assert (target.priority, target.timeout) == (5, 60)


@pytest.mark.parametrize("bad", [-1, "-1", 1_209_601, "1209601", "ten", 1.5, "1.5", True, [], {}])
def test_invalid_timeouts_are_rejected_with_their_path(bad: Any) -> None:
    error = config_error(one_filter(queue=Q_SPANISH, timeout=bad))
    assert error.path == "task_routing.filters[0].targets[0].timeout"
    assert "between 0 and 1209600" in error.message


def test_timeout_bounds_are_inclusive() -> None:
    assert config(one_filter(queue=Q_SPANISH, timeout=0)).filters[0].targets[0].timeout == 0
    assert config(one_filter(queue=Q_SPANISH, timeout=1_209_600)).filters[0].targets[0].timeout == 1_209_600


def test_later_targets_inherit_the_previous_queue() -> None:
    parsed = config(
        {
            "filters": [
                {
                    "expression": "1==1",
                    "targets": [
                        {"queue": Q_SPANISH, "priority": 1},
                        {"priority": 2},
                        {"queue": Q_EVERYONE},
                        {"timeout": 5},
                    ],
                }
            ]
        }
    )
    assert [t.queue_sid for t in parsed.filters[0].targets] == [Q_SPANISH, Q_SPANISH, Q_EVERYONE, Q_EVERYONE]


def test_first_target_must_name_a_queue() -> None:
    error = config_error(one_filter(priority=1))
    assert error.path == "task_routing.filters[0].targets[0].queue"
    assert str(error) == "task_routing.filters[0].targets[0].queue: queue is required"


def test_default_filter_must_name_a_queue() -> None:
    assert config_error({"default_filter": {}}).path == "task_routing.default_filter.queue"


@pytest.mark.parametrize("queue", ["WQ123", "XX" + "1" * 32, "WQ" + "g" * 32, "wq" + "1" * 32, "WQ" + "1" * 33])
def test_queue_sids_must_be_wq_plus_32_hex(queue: str) -> None:
    assert config_error(one_filter(queue=queue)).path == "task_routing.filters[0].targets[0].queue"


def test_uppercase_hex_queue_sids_are_accepted_and_normalised() -> None:
    target = config(one_filter(queue="WQ" + "ABCDEF12" * 4)).filters[0].targets[0]
    assert target.queue_sid == "WQ" + "abcdef12" * 4


def test_filters_may_be_missing_or_empty() -> None:
    for task_routing in (
        {"default_filter": {"queue": Q_DEFAULT}},
        {"filters": [], "default_filter": {"queue": Q_DEFAULT}},
    ):
        parsed = config(task_routing)
        assert parsed.filters == []
        assert parsed.queue_sids() == {Q_DEFAULT}


def test_default_filter_is_optional() -> None:
    assert config(one_filter(queue=Q_SPANISH)).default_filter is None


def test_unknown_keys_are_ignored() -> None:
    parsed = parse_workflow_configuration(
        json.dumps(
            {
                "task_routing": {
                    "filters": [{"expression": "1==1", "targets": [{"queue": Q_SPANISH, "flavour": "x"}], "extra": 1}],
                    "comment": "hi",
                },
                "other": True,
            }
        )
    )
    assert parsed.queue_sids() == {Q_SPANISH}


def test_queue_sids_collects_every_referenced_queue() -> None:
    parsed = config(
        {
            "filters": [
                {"expression": "a == 1", "targets": [{"queue": Q_SPANISH}, {"queue": Q_EVERYONE}]},
                {"expression": "1 == 1", "targets": [{"queue": Q_EVERYONE}]},
            ],
            "default_filter": {"queue": Q_DEFAULT},
        }
    )
    assert parsed.queue_sids() == {Q_SPANISH, Q_EVERYONE, Q_DEFAULT}


def test_filter_expression_errors_name_the_filter_and_position() -> None:
    filters = [
        {"expression": "1==1", "targets": [{"queue": Q_SPANISH}]},
        {"expression": "lang HAZ 'es'", "targets": [{"queue": Q_SPANISH}]},
    ]
    error = config_error({"filters": filters})
    assert error.path == "task_routing.filters[1].expression"
    assert str(error).startswith(
        "task_routing.filters[1].expression: Invalid expression at position 5: unexpected token 'HAZ'"
    )


def test_target_expression_errors_name_the_target_and_position() -> None:
    filters = [
        {"expression": "1==1", "targets": [{"queue": Q_SPANISH}]},
        {"expression": "1==1", "targets": [{"queue": Q_SPANISH, "expression": "1 = = 1"}]},
    ]
    error = config_error({"filters": filters})
    assert str(error).startswith("task_routing.filters[1].targets[0].expression: Invalid expression at position 4: ")


def test_filter_expression_is_required() -> None:
    error = config_error({"filters": [{"targets": [{"queue": Q_SPANISH}]}]})
    assert error.path == "task_routing.filters[0].expression"


def test_target_expression_keys_must_be_prefixed_with_task_or_worker() -> None:
    error = config_error(one_filter(queue=Q_SPANISH, expression="worker.level > 1 AND language == 'es'"))
    assert error.path == "task_routing.filters[0].targets[0].expression"
    assert "key 'language' at position 21 must start with 'task.' or 'worker.'" in error.message
    assert "taskrouter" in config_error(one_filter(queue=Q_SPANISH, expression="taskrouter.x == 1")).message


def test_filter_expressions_may_use_unprefixed_keys() -> None:
    raw = {"filters": [{"expression": "language == 'es'", "targets": [{"queue": Q_SPANISH}]}]}
    assert config(raw).filters[0].expression == "language == 'es'"


def test_skip_if_is_parsed() -> None:
    error = config_error(one_filter(queue=Q_SPANISH, skip_if="workers.available =="))
    assert error.path == "task_routing.filters[0].targets[0].skip_if"


@pytest.mark.parametrize(
    "order_by",
    [
        "worker.level DOWN",
        "level DESC",
        "worker.level DESC,",
        "worker.level DESC worker.x",
        "worker-level",
        ",",
    ],
)
def test_bad_order_by_is_an_error(order_by: str) -> None:
    error = config_error(one_filter(queue=Q_SPANISH, order_by=order_by))
    assert error.path == "task_routing.filters[0].targets[0].order_by"


def test_order_by_direction_defaults_to_asc_and_is_case_insensitive() -> None:
    assert parse_order_by("worker.a, worker.b desc, worker.c.d[0] Asc") == [
        OrderClause(attribute="a", direction=SortDirection.ASC),
        OrderClause(attribute="b", direction=SortDirection.DESC),
        OrderClause(attribute="c.d[0]", direction=SortDirection.ASC),
    ]
    assert parse_order_by("  ") == []


@pytest.mark.parametrize(
    ("task_routing", "path"),
    [
        ([], "task_routing"),
        ({"filters": {}}, "task_routing.filters"),
        ({"filters": ["x"]}, "task_routing.filters[0]"),
        ({"filters": [{"expression": "1==1"}]}, "task_routing.filters[0].targets"),
        ({"filters": [{"expression": "1==1", "targets": []}]}, "task_routing.filters[0].targets"),
        (
            {"filters": [{"expression": 1, "targets": [{"queue": Q_SPANISH}]}]},
            "task_routing.filters[0].expression",
        ),
        ({"filters": [{"expression": "1==1", "targets": [7]}]}, "task_routing.filters[0].targets[0]"),
        ({"default_filter": "x"}, "task_routing.default_filter"),
        (one_filter(queue=Q_SPANISH, priority=-1), "task_routing.filters[0].targets[0].priority"),
        (one_filter(queue=Q_SPANISH, expression=5), "task_routing.filters[0].targets[0].expression"),
        (
            one_filter(queue=Q_SPANISH, known_worker_sid=""),
            "task_routing.filters[0].targets[0].known_worker_sid",
        ),
        (
            one_filter(queue=Q_SPANISH, known_worker_sid="task.a", known_worker_friendly_name="task.b"),
            "task_routing.filters[0].targets[0]",
        ),
    ],
)
def test_structural_errors_carry_their_path(task_routing: Any, path: str) -> None:
    error = config_error(task_routing)
    assert error.path == path
    assert str(error).startswith(f"{path}: ")


def test_task_routing_is_required() -> None:
    with pytest.raises(WorkflowConfigurationError) as caught:
        parse_workflow_configuration("{}")
    assert caught.value.path == "task_routing"


def test_configuration_must_be_a_json_object() -> None:
    with pytest.raises(WorkflowConfigurationError, match="configuration must be a JSON object, got array"):
        parse_workflow_configuration("[]")


def test_invalid_json_reports_line_and_column() -> None:
    with pytest.raises(WorkflowConfigurationError) as caught:
        parse_workflow_configuration('{\n  "task_routing": {,}\n}')
    assert caught.value.path == ""
    assert "invalid JSON at line 2 column 20" in str(caught.value)


def test_configuration_size_limit() -> None:
    base = json.dumps({"task_routing": {"default_filter": {"queue": Q_DEFAULT}}, "pad": ""})
    fits = base.replace('"pad": ""', '"pad": "' + "x" * (MAX_CONFIGURATION_BYTES - len(base)) + '"')
    assert len(fits.encode()) == MAX_CONFIGURATION_BYTES
    assert parse_workflow_configuration(fits).queue_sids() == {Q_DEFAULT}
    with pytest.raises(WorkflowConfigurationError, match="maximum is 1038576 bytes"):
        parse_workflow_configuration(fits.replace('"pad": "', '"pad": "x'))


def test_size_limit_counts_utf8_bytes_not_characters() -> None:
    base = json.dumps({"task_routing": {"default_filter": {"queue": Q_DEFAULT}}, "pad": ""}, ensure_ascii=False)
    text = base.replace('"pad": ""', '"pad": "' + "é" * (MAX_CONFIGURATION_BYTES // 2) + '"')
    assert len(text) < MAX_CONFIGURATION_BYTES < len(text.encode())
    with pytest.raises(WorkflowConfigurationError):
        parse_workflow_configuration(text)


def test_configuration_error_is_an_invalid_parameter() -> None:
    assert isinstance(config_error([]), InvalidParameter)


# Routing plans ------------------------------------------------------------------------------------------

SPANISH_THEN_EVERYONE: dict[str, Any] = {
    "filters": [
        {
            "filter_friendly_name": "Spanish",
            "expression": "language == 'es'",
            "targets": [
                {"queue": Q_SPANISH, "timeout": 10},
                {"queue": Q_SPANISH, "expression": "worker.level >= 2", "timeout": 10},
            ],
        },
        {"filter_friendly_name": "VIP", "expression": "vip == true", "targets": [{"queue": Q_OVERFLOW}]},
        {
            "filter_friendly_name": "Everyone",
            "expression": "1==1",
            "targets": [{"queue": Q_EVERYONE, "timeout": 30}],
        },
    ],
    "default_filter": {"queue": Q_DEFAULT},
}


def steps_of(plan: RoutingPlan) -> list[tuple[int | None, int, str, int, int | None]]:
    return [(s.filter_index, s.target_index, s.target.queue_sid, s.starts_at, s.cumulative_timeout) for s in plan.steps]


def test_first_matching_filter_routes_and_timeouts_accumulate_then_fall_through() -> None:
    plan = plan_routing(config(SPANISH_THEN_EVERYONE), {"language": "es"})
    assert plan.matched_filter_index == 0
    assert steps_of(plan) == [
        (0, 0, Q_SPANISH, 0, 10),
        (0, 1, Q_SPANISH, 10, 20),
        (2, 0, Q_EVERYONE, 20, 50),
    ]
    assert plan.steps[0].filter_friendly_name == "Spanish"
    assert plan.reason == [
        "filter 0 'Spanish' matched",
        "filter 1 'VIP' did not match",
        "filter 2 'Everyone' matched; the task falls through to it when the previous filter times out",
    ]


def test_non_matching_filters_are_skipped_with_a_reason() -> None:
    plan = plan_routing(config(SPANISH_THEN_EVERYONE), {"language": "en"})
    assert plan.matched_filter_index == 2
    assert steps_of(plan) == [(2, 0, Q_EVERYONE, 0, 30)]
    assert plan.reason == [
        "filter 0 'Spanish' did not match",
        "filter 1 'VIP' did not match",
        "filter 2 'Everyone' matched",
    ]


def test_a_step_without_timeout_ends_the_plan() -> None:
    plan = plan_routing(config(SPANISH_THEN_EVERYONE), {"language": "en", "vip": True})
    assert steps_of(plan) == [(1, 0, Q_OVERFLOW, 0, None)]
    assert plan.reason[-1] == "filter 1 'VIP' never times out; later filters are not considered"


def test_targets_after_one_without_timeout_are_unreachable() -> None:
    raw = {
        "filters": [
            {
                "filter_friendly_name": "F",
                "expression": "1==1",
                "targets": [{"queue": Q_SPANISH, "timeout": 5}, {"queue": Q_SPANISH}, {"queue": Q_EVERYONE}],
            }
        ]
    }
    plan = plan_routing(config(raw), {})
    assert steps_of(plan) == [(0, 0, Q_SPANISH, 0, 5), (0, 1, Q_SPANISH, 5, None)]
    assert "filter 0 'F' target 1 has no timeout; its later targets are never reached" in plan.reason


def test_default_filter_is_used_only_when_no_filter_matched() -> None:
    plan = plan_routing(config(SPANISH_THEN_EVERYONE | {"filters": SPANISH_THEN_EVERYONE["filters"][:2]}), {})
    assert steps_of(plan) == [(None, 0, Q_DEFAULT, 0, None)]
    assert plan.matched_filter_index is None
    assert plan.steps[0].filter_friendly_name is None
    assert plan.reason[-1] == "no filter matched; using default_filter"

    # A match whose steps all time out does not fall back to the default filter.
    raw = {"filters": [{"expression": "1==1", "targets": [{"queue": Q_SPANISH, "timeout": 5}]}]}
    plan = plan_routing(config(raw | {"default_filter": {"queue": Q_DEFAULT}}), {})
    assert [s.target.queue_sid for s in plan.steps] == [Q_SPANISH]


def test_no_match_and_no_default_filter_means_no_targets() -> None:
    raw = {"filters": [{"filter_friendly_name": "Never", "expression": "1==0", "targets": [{"queue": Q_SPANISH}]}]}
    plan = plan_routing(config(raw), {})
    assert not plan.has_targets
    assert plan.reason == [
        "filter 0 'Never' did not match",
        "no filter matched and there is no default_filter; the task has no targets",
    ]


def test_unnamed_filters_are_labelled_by_index() -> None:
    raw = {
        "filters": [{"expression": "1==0", "targets": [{"queue": Q_SPANISH}]}],
        "default_filter": {"queue": Q_DEFAULT},
    }
    assert plan_routing(config(raw), {}).reason[0] == "filter 0 did not match"


def test_environment_values_are_visible_to_filter_expressions() -> None:
    raw = {
        "filters": [{"expression": "taskrouter.dayOfWeek = 'Sat'", "targets": [{"queue": Q_OVERFLOW}]}],
        "default_filter": {"queue": Q_DEFAULT},
    }
    parsed = config(raw)
    weekend = plan_routing(parsed, {}, environment={"taskrouter": {"dayOfWeek": "Sat"}})
    weekday = plan_routing(parsed, {}, environment={"taskrouter": {"dayOfWeek": "Mon"}})
    assert weekend.steps[0].target.queue_sid == Q_OVERFLOW
    assert weekday.steps[0].target.queue_sid == Q_DEFAULT


def test_step_for_age_walks_the_plan() -> None:
    plan = plan_routing(config(SPANISH_THEN_EVERYONE), {"language": "es"})
    assert [plan.step_for_age(age) for age in (0, 9.9, 10, 19, 20, 49)] == [
        plan.steps[0],
        plan.steps[0],
        plan.steps[1],
        plan.steps[1],
        plan.steps[2],
        plan.steps[2],
    ]
    assert plan.step_for_age(50) is None


def test_cumulative_timeouts_are_running_sums_for_any_timeouts() -> None:
    for timeouts in itertools.product([0, 1, 7, 300], repeat=3):
        raw = {"filters": [{"expression": "1==1", "targets": [{"queue": Q_SPANISH, "timeout": t} for t in timeouts]}]}
        plan = plan_routing(config(raw), {})
        running = list(itertools.accumulate(timeouts))
        assert [s.cumulative_timeout for s in plan.steps] == running
        assert [s.starts_at for s in plan.steps] == [0, *running[:-1]]


# order_by -----------------------------------------------------------------------------------------------


def test_sort_workers_by_clauses_then_default_key() -> None:
    workers: list[dict[str, Any]] = [
        {"name": "a", "level": 1, "tenure": 5, "idle": 30},
        {"name": "b", "level": 3, "tenure": 1, "idle": 10},
        {"name": "c", "level": 3, "tenure": 2, "idle": 20},
        {"name": "d", "level": 1, "tenure": 5, "idle": 50},
    ]
    order_by = parse_order_by("worker.level DESC, worker.tenure ASC")
    ordered = sort_workers(workers, order_by, default_key=lambda w: -w["idle"])
    assert [w["name"] for w in ordered] == ["b", "c", "d", "a"]


def test_workers_lacking_the_attribute_sort_last_in_either_direction() -> None:
    workers: list[dict[str, Any]] = [
        {"name": "none"},
        {"name": "low", "level": 1},
        {"name": "null", "level": None},
        {"name": "high", "level": 9},
    ]
    for direction, expected in (("ASC", ["low", "high"]), ("DESC", ["high", "low"])):
        ordered = sort_workers(workers, parse_order_by(f"worker.level {direction}"))
        assert [w["name"] for w in ordered] == [*expected, "none", "null"]


def test_sort_is_stable_without_a_default_key() -> None:
    workers = [{"name": str(i), "level": i % 2} for i in range(6)]
    ordered = sort_workers(workers, parse_order_by("worker.level"))
    assert [w["name"] for w in ordered] == ["0", "2", "4", "1", "3", "5"]


def test_sort_workers_never_raises_on_mixed_types_and_is_total() -> None:
    values: list[Any] = [3, 1.5, "b", "a", True, False, None, [1], {"x": 1}, float("nan")]
    workers = [{"id": i, "v": v} for i, v in enumerate(values)]
    for direction in ("ASC", "DESC"):
        clauses = parse_order_by(f"worker.v {direction}")
        for permutation in itertools.islice(itertools.permutations(workers), 200):
            ordered = sort_workers(list(permutation), clauses, default_key=lambda w: w["id"])
            assert [w["id"] for w in ordered] == [w["id"] for w in sort_workers(workers, clauses, lambda w: w["id"])]
        present = [w["id"] for w in sort_workers(workers, clauses)][:6]
        assert sorted(present) == [0, 1, 2, 3, 4, 5]


def test_sort_workers_matches_a_reference_sort_for_numeric_attributes() -> None:
    workers = [
        {"id": i, "level": level, "tenure": tenure}
        for i, (level, tenure) in enumerate(itertools.product([1, 2, 3], [10, 20]))
    ]
    for level_dir, tenure_dir in itertools.product(["ASC", "DESC"], repeat=2):
        clauses = parse_order_by(f"worker.level {level_dir}, worker.tenure {tenure_dir}")
        level_sign = -1 if level_dir == "DESC" else 1
        tenure_sign = -1 if tenure_dir == "DESC" else 1
        expected = sorted(workers, key=lambda w: (level_sign * w["level"], tenure_sign * w["tenure"]))
        assert sort_workers(workers, clauses) == expected


def test_sort_workers_with_an_attribute_extractor_and_nested_paths() -> None:
    workers: list[dict[str, Any]] = [
        {"sid": "WK1", "attributes": {"skills": {"rating": [1, 5]}}},
        {"sid": "WK2", "attributes": {"skills": {"rating": [1, 9]}}},
    ]
    ordered = sort_workers(
        workers, parse_order_by("worker.skills.rating[1] DESC"), attributes=lambda w: w["attributes"]
    )
    assert [w["sid"] for w in ordered] == ["WK2", "WK1"]


# Exact error messages -----------------------------------------------------------------------------------

T0 = "task_routing.filters[0].targets[0]"


@pytest.mark.parametrize(
    ("task_routing", "message"),
    [
        ([], "task_routing: must be a JSON object, got array"),
        ({"filters": {}}, "task_routing.filters: must be an array, got object"),
        ({"filters": [None]}, "task_routing.filters[0]: must be a JSON object, got null"),
        ({"filters": [True]}, "task_routing.filters[0]: must be a JSON object, got boolean"),
        ({"filters": [7]}, "task_routing.filters[0]: must be a JSON object, got number"),
        ({"filters": ["x"]}, "task_routing.filters[0]: must be a JSON object, got string"),
        (
            {"filters": [{"targets": [{"queue": Q_SPANISH}]}]},
            "task_routing.filters[0].expression: expression is required",
        ),
        (
            {"filters": [{"expression": 1, "targets": [{"queue": Q_SPANISH}]}]},
            "task_routing.filters[0].expression: must be a string, got number",
        ),
        ({"filters": [{"expression": "1==1"}]}, "task_routing.filters[0].targets: must be an array, got null"),
        (
            {"filters": [{"expression": "1==1", "targets": "q"}]},
            "task_routing.filters[0].targets: must be an array, got string",
        ),
        (
            {"filters": [{"expression": "1==1", "targets": []}]},
            "task_routing.filters[0].targets: must contain at least one target",
        ),
        (
            {"filters": [{"filter_friendly_name": 3, "expression": "1==1", "targets": [{"queue": Q_SPANISH}]}]},
            "task_routing.filters[0].filter_friendly_name: must be a string, got number",
        ),
        (
            {"filters": [{"friendly_name": [], "expression": "1==1", "targets": [{"queue": Q_SPANISH}]}]},
            "task_routing.filters[0].friendly_name: must be a string, got array",
        ),
        (one_filter(queue=5), f"{T0}.queue: must be a string, got number"),
        (one_filter(queue="WQ1"), f"{T0}.queue: 'WQ1' is not a TaskQueue SID (WQ + 32 hex)"),
        (one_filter(queue=Q_SPANISH, skip_if=1), f"{T0}.skip_if: must be a string, got number"),
        (one_filter(queue=Q_SPANISH, order_by=False), f"{T0}.order_by: must be a string, got boolean"),
        (one_filter(queue=Q_SPANISH, known_worker_sid={}), f"{T0}.known_worker_sid: must be a string, got object"),
        (
            one_filter(queue=Q_SPANISH, known_worker_friendly_name=2.5),
            f"{T0}.known_worker_friendly_name: must be a string, got number",
        ),
        (one_filter(queue=Q_SPANISH, known_worker_sid=" "), f"{T0}.known_worker_sid: must not be empty"),
        (
            one_filter(queue=Q_SPANISH, known_worker_friendly_name=""),
            f"{T0}.known_worker_friendly_name: must not be empty",
        ),
        (
            one_filter(queue=Q_SPANISH, known_worker_sid="task.a", known_worker_friendly_name="task.b"),
            f"{T0}: known_worker_sid and known_worker_friendly_name are mutually exclusive",
        ),
        (
            one_filter(queue=Q_SPANISH, priority="high"),
            f"{T0}.priority: must be an integer between 0 and 2147483647, got 'high'",
        ),
        ({"default_filter": "q"}, "task_routing.default_filter: must be a JSON object, got string"),
    ],
)
def test_configuration_errors_say_exactly_what_and_where(task_routing: Any, message: str) -> None:
    assert str(config_error(task_routing)) == message


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        ("worker.a,", "order_by: clause 1 is empty"),
        ("worker.a ASC extra", "order_by: clause 0 'worker.a ASC extra': expected '<worker.attribute> [ASC|DESC]'"),
        ("worker.a, bad-key", "order_by: clause 1 'bad-key': 'bad-key' is not a valid key"),
        ("task.a", "order_by: clause 0 'task.a': key must start with 'worker.'"),
        ("worker.a UP", "order_by: clause 0 'worker.a UP': direction must be ASC or DESC, got 'UP'"),
    ],
)
def test_order_by_errors_say_exactly_what(order_by: str, message: str) -> None:
    with pytest.raises(WorkflowConfigurationError) as caught:
        parse_order_by(order_by)
    assert str(caught.value) == message
    assert caught.value.path == "order_by"


def test_document_level_errors_say_exactly_what() -> None:
    for text, message in [
        ("[]", "configuration must be a JSON object, got array"),
        ("{}", "task_routing: task_routing is required"),
        ("[" * 5000 + "]" * 5000, "invalid JSON: nested too deeply"),
    ]:
        with pytest.raises(WorkflowConfigurationError) as caught:
            parse_workflow_configuration(text)
        assert str(caught.value) == message
    with pytest.raises(WorkflowConfigurationError) as caught:
        parse_workflow_configuration(123)  # type: ignore[arg-type]
    assert str(caught.value) == "configuration must be a JSON string"
    assert caught.value.path == ""


def test_plan_reasons_name_unreachable_targets_and_filters() -> None:
    parsed = config(
        {
            "filters": [
                {
                    "filter_friendly_name": "A",
                    "expression": "1==1",
                    "targets": [{"queue": Q_SPANISH}, {"queue": Q_EVERYONE}],
                },
                {"expression": "1==1", "targets": [{"queue": Q_OVERFLOW}]},
            ]
        }
    )
    assert plan_routing(parsed, {}).reason == [
        "filter 0 'A' matched",
        "filter 0 'A' target 0 has no timeout; its later targets are never reached",
        "filter 0 'A' never times out; later filters are not considered",
    ]
    last = config({"filters": [{"expression": "1==1", "targets": [{"queue": Q_SPANISH, "timeout": 5}, {}]}]})
    assert plan_routing(last, {}).reason == ["filter 0 matched"]
    single = config({"filters": [{"expression": "1==1", "targets": [{"queue": Q_SPANISH}]}]})
    assert plan_routing(single, {}).reason == ["filter 0 matched"]


def test_default_filter_step_keeps_its_timeout() -> None:
    parsed = config({"filters": [], "default_filter": {"queue": Q_DEFAULT, "timeout": 90}})
    [step] = plan_routing(parsed, {}).steps
    assert (step.filter_index, step.starts_at, step.cumulative_timeout) == (None, 0, 90)
