"""TaskRouter Workflow `Configuration`: parsing and validation, the routing plan a task walks, order_by.

Pure: callers supply task/worker attributes and any `taskrouter.*` / `workers.*` context values.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import InvalidParameter
from domain.limits import MAX_PRIORITY, MAX_TARGET_TIMEOUT, MAX_WORKFLOW_CONFIGURATION_BYTES
from domain.routing.expressions import ExpressionSyntaxError, KeyRef, parse_expression

__all__ = [
    "MAX_CONFIGURATION_BYTES",
    "MAX_PRIORITY",
    "MAX_TARGET_TIMEOUT",
    "OrderClause",
    "RoutingFilter",
    "RoutingPlan",
    "RoutingStep",
    "RoutingTarget",
    "SortDirection",
    "WorkflowConfiguration",
    "WorkflowConfigurationError",
    "parse_order_by",
    "parse_workflow_configuration",
    "plan_routing",
    "sort_workers",
]

MAX_CONFIGURATION_BYTES = MAX_WORKFLOW_CONFIGURATION_BYTES
QUEUE_SID_PATTERN = r"^WQ[0-9a-f]{32}$"

_QUEUE_SID_RE = re.compile(r"^WQ[0-9a-fA-F]{32}$")
_INTEGER_TEXT_RE = re.compile(r"^\s*-?[0-9]+\s*$")
_TARGET_KEY_PREFIXES = ("task.", "worker.")
_ORDER_BY_PREFIX = "worker."


class WorkflowConfigurationError(InvalidParameter):
    """Invalid workflow configuration; `path` locates the offending value (e.g. `task_routing.filters[1]`)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        # ParleyError stores the full sentence; the contract here is the bare reason plus a separate path.
        self.message = message
        self.path = path


class SortDirection(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrderClause(_Frozen):
    """One `worker.<attribute> ASC|DESC` clause; `attribute` is relative to the worker's attributes."""

    attribute: str
    direction: SortDirection = SortDirection.ASC

    @property
    def expression_key(self) -> str:
        return f"{_ORDER_BY_PREFIX}{self.attribute}"


class RoutingTarget(_Frozen):
    queue_sid: str = Field(pattern=QUEUE_SID_PATTERN)
    expression: str | None = None
    priority: int | None = Field(default=None, ge=0, le=MAX_PRIORITY)
    timeout: int | None = Field(default=None, ge=0, le=MAX_TARGET_TIMEOUT)
    order_by: list[OrderClause] = Field(default_factory=list)
    skip_if: str | None = None
    known_worker_sid: str | None = None
    known_worker_friendly_name: str | None = None


class RoutingFilter(_Frozen):
    friendly_name: str | None = None
    expression: str
    targets: list[RoutingTarget] = Field(min_length=1)

    def matches(self, task_attributes: Mapping[str, Any]) -> bool:
        return parse_expression(self.expression).evaluate(task_attributes)


class WorkflowConfiguration(_Frozen):
    filters: list[RoutingFilter] = Field(default_factory=list)
    default_filter: RoutingTarget | None = None

    def queue_sids(self) -> set[str]:
        sids = {target.queue_sid for routing_filter in self.filters for target in routing_filter.targets}
        if self.default_filter is not None:
            sids.add(self.default_filter.queue_sid)
        return sids


class RoutingStep(_Frozen):
    filter_index: int | None
    filter_friendly_name: str | None
    target_index: int
    target: RoutingTarget
    starts_at: int
    """Task age (seconds) at which this step begins."""
    cumulative_timeout: int | None
    """Task age (seconds) at which this step ends; None means it never times out."""


class RoutingPlan(_Frozen):
    steps: list[RoutingStep]
    matched_filter_index: int | None
    reason: list[str]

    @property
    def has_targets(self) -> bool:
        return bool(self.steps)

    def step_for_age(self, age_seconds: float) -> RoutingStep | None:
        """The step a task of this age sits in, or None once every step has timed out."""
        for step in self.steps:
            if step.cumulative_timeout is None or age_seconds < step.cumulative_timeout:
                return step
        return None


# ---------------------------------------------------------------------------------------------------------
# Parsing


@functools.lru_cache(maxsize=1024)
def _parse_key(path: str) -> KeyRef:
    return KeyRef.parse(path)


def _join(path: str, child: str | int) -> str:
    if isinstance(child, int):
        return f"{path}[{child}]"
    return f"{path}.{child}" if path else child


def _expect_object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        subject = "must" if path else "configuration must"
        raise WorkflowConfigurationError(f"{subject} be a JSON object, got {_json_type(value)}", path)
    return value


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _optional_string(raw: Mapping[str, Any], key: str, path: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise WorkflowConfigurationError(f"must be a string, got {_json_type(value)}", _join(path, key))
    return value


def _optional_integer(raw: Mapping[str, Any], key: str, path: str, maximum: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    field_path = _join(path, key)
    number: int | None = None
    # Twilio's own console writes these as strings ("priority": "10"); both forms are accepted.
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER_TEXT_RE.match(value):
        number = int(value)
    if number is None or not 0 <= number <= maximum:
        raise WorkflowConfigurationError(f"must be an integer between 0 and {maximum}, got {value!r}", field_path)
    return number


def _parse_expression_field(text: str, path: str) -> None:
    try:
        parse_expression(text)
    except ExpressionSyntaxError as error:
        raise WorkflowConfigurationError(error.headline, path) from None


def _check_target_expression(text: str, path: str) -> None:
    _parse_expression_field(text, path)
    for key in parse_expression(text).key_references():
        if not key.path.startswith(_TARGET_KEY_PREFIXES):
            raise WorkflowConfigurationError(
                f"key '{key.path}' at position {key.position} must start with 'task.' or 'worker.'", path
            )


def parse_order_by(text: str, path: str = "order_by") -> list[OrderClause]:
    """Parse `worker.level DESC, worker.tenure ASC`; the direction defaults to ASC."""
    if not text.strip():
        return []
    clauses: list[OrderClause] = []
    for index, clause_text in enumerate(text.split(",")):
        words = clause_text.split()
        if not words:
            raise WorkflowConfigurationError(f"clause {index} is empty", path)
        if len(words) > 2:
            raise WorkflowConfigurationError(
                f"clause {index} {clause_text.strip()!r}: expected '<worker.attribute> [ASC|DESC]'", path
            )
        key = words[0]
        direction = words[1] if len(words) == 2 else None
        try:
            _parse_key(key)
        except ValueError:
            raise WorkflowConfigurationError(
                f"clause {index} {clause_text.strip()!r}: {key!r} is not a valid key", path
            ) from None
        if not key.startswith(_ORDER_BY_PREFIX):
            raise WorkflowConfigurationError(
                f"clause {index} {clause_text.strip()!r}: key must start with 'worker.'", path
            )
        if direction is not None and direction.upper() not in SortDirection.__members__:
            raise WorkflowConfigurationError(
                f"clause {index} {clause_text.strip()!r}: direction must be ASC or DESC, got {direction!r}",
                path,
            )
        clauses.append(
            OrderClause(
                attribute=key.removeprefix(_ORDER_BY_PREFIX),
                direction=SortDirection(direction.upper()) if direction else SortDirection.ASC,
            )
        )
    return clauses


def _parse_target(raw_value: object, path: str, inherited_queue: str | None) -> RoutingTarget:
    raw = _expect_object(raw_value, path)
    queue = _optional_string(raw, "queue", path)
    if queue is None:
        if inherited_queue is None:
            raise WorkflowConfigurationError("queue is required", _join(path, "queue"))
        queue_sid = inherited_queue
    elif not _QUEUE_SID_RE.match(queue):
        raise WorkflowConfigurationError(f"{queue!r} is not a TaskQueue SID (WQ + 32 hex)", _join(path, "queue"))
    else:
        queue_sid = "WQ" + queue[2:].lower()

    expression = _optional_string(raw, "expression", path)
    if expression is not None:
        _check_target_expression(expression, _join(path, "expression"))
    skip_if = _optional_string(raw, "skip_if", path)
    if skip_if is not None:
        _parse_expression_field(skip_if, _join(path, "skip_if"))
    order_by_text = _optional_string(raw, "order_by", path)
    order_by = parse_order_by(order_by_text, _join(path, "order_by")) if order_by_text is not None else []

    known_worker_sid = _optional_string(raw, "known_worker_sid", path)
    known_worker_friendly_name = _optional_string(raw, "known_worker_friendly_name", path)
    for name, value in (
        ("known_worker_sid", known_worker_sid),
        ("known_worker_friendly_name", known_worker_friendly_name),
    ):
        if value is not None and not value.strip():
            raise WorkflowConfigurationError("must not be empty", _join(path, name))
    if known_worker_sid is not None and known_worker_friendly_name is not None:
        raise WorkflowConfigurationError("known_worker_sid and known_worker_friendly_name are mutually exclusive", path)

    return RoutingTarget(
        queue_sid=queue_sid,
        expression=expression,
        priority=_optional_integer(raw, "priority", path, MAX_PRIORITY),
        timeout=_optional_integer(raw, "timeout", path, MAX_TARGET_TIMEOUT),
        order_by=order_by,
        skip_if=skip_if,
        known_worker_sid=known_worker_sid,
        known_worker_friendly_name=known_worker_friendly_name,
    )


def _parse_filter(raw_value: object, path: str) -> RoutingFilter:
    raw = _expect_object(raw_value, path)
    friendly_name = _optional_string(raw, "filter_friendly_name", path)
    if friendly_name is None:
        friendly_name = _optional_string(raw, "friendly_name", path)

    expression = raw.get("expression")
    if expression is None:
        raise WorkflowConfigurationError("expression is required", _join(path, "expression"))
    if not isinstance(expression, str):
        raise WorkflowConfigurationError(f"must be a string, got {_json_type(expression)}", _join(path, "expression"))
    _parse_expression_field(expression, _join(path, "expression"))

    targets_path = _join(path, "targets")
    raw_targets = raw.get("targets")
    if not isinstance(raw_targets, list):
        raise WorkflowConfigurationError(f"must be an array, got {_json_type(raw_targets)}", targets_path)
    if not raw_targets:
        raise WorkflowConfigurationError("must contain at least one target", targets_path)
    targets: list[RoutingTarget] = []
    inherited_queue: str | None = None
    for index, raw_target in enumerate(raw_targets):
        target = _parse_target(raw_target, _join(targets_path, index), inherited_queue)
        inherited_queue = target.queue_sid
        targets.append(target)
    return RoutingFilter(friendly_name=friendly_name, expression=expression, targets=targets)


def parse_workflow_configuration(text: str) -> WorkflowConfiguration:
    """Validate a Workflow `Configuration` JSON string; raises WorkflowConfigurationError with a path."""
    if not isinstance(text, str):
        raise WorkflowConfigurationError("configuration must be a JSON string")
    size = len(text.encode("utf-8"))
    if size > MAX_CONFIGURATION_BYTES:
        raise WorkflowConfigurationError(
            f"configuration is {size} bytes; the maximum is {MAX_CONFIGURATION_BYTES} bytes"
        )
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise WorkflowConfigurationError(
            f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise WorkflowConfigurationError("invalid JSON: nested too deeply") from None

    root = _expect_object(document, "")
    if "task_routing" not in root:
        raise WorkflowConfigurationError("task_routing is required", "task_routing")
    task_routing = _expect_object(root["task_routing"], "task_routing")

    raw_filters = task_routing.get("filters")
    if raw_filters is None:
        raw_filters = []
    if not isinstance(raw_filters, list):
        raise WorkflowConfigurationError(f"must be an array, got {_json_type(raw_filters)}", "task_routing.filters")
    filters = [
        _parse_filter(raw_filter, f"task_routing.filters[{index}]") for index, raw_filter in enumerate(raw_filters)
    ]

    raw_default = task_routing.get("default_filter")
    default_filter = (
        _parse_target(raw_default, "task_routing.default_filter", None) if raw_default is not None else None
    )
    return WorkflowConfiguration(filters=filters, default_filter=default_filter)


# ---------------------------------------------------------------------------------------------------------
# Routing plan


def _filter_label(index: int, routing_filter: RoutingFilter) -> str:
    if routing_filter.friendly_name is None:
        return f"filter {index}"
    return f"filter {index} {routing_filter.friendly_name!r}"


def plan_routing(
    config: WorkflowConfiguration,
    task_attributes: Mapping[str, Any],
    *,
    environment: Mapping[str, Any] | None = None,
) -> RoutingPlan:
    """The ordered steps a task walks, with a recorded reason for each routing decision.

    Switch semantics: the first matching filter routes the task; when its last step times out the task falls
    through to the next matching filter. `default_filter` applies only when no filter matched. `environment`
    (e.g. {"taskrouter": {"dayOfWeek": "Sat"}}) overlays the task attributes for filter evaluation.
    """
    document: Mapping[str, Any] = {**task_attributes, **environment} if environment else task_attributes
    steps: list[RoutingStep] = []
    reasons: list[str] = []
    matched_filter_index: int | None = None
    age = 0  # task age at which the next step starts; timeouts accumulate across steps

    for filter_index, routing_filter in enumerate(config.filters):
        label = _filter_label(filter_index, routing_filter)
        if not routing_filter.matches(document):
            reasons.append(f"{label} did not match")
            continue
        if matched_filter_index is None:
            matched_filter_index = filter_index
            reasons.append(f"{label} matched")
        else:
            reasons.append(f"{label} matched; the task falls through to it when the previous filter times out")

        never_times_out = False
        for target_index, target in enumerate(routing_filter.targets):
            ends_at = None if target.timeout is None else age + target.timeout
            steps.append(
                RoutingStep(
                    filter_index=filter_index,
                    filter_friendly_name=routing_filter.friendly_name,
                    target_index=target_index,
                    target=target,
                    starts_at=age,
                    cumulative_timeout=ends_at,
                )
            )
            if ends_at is None:
                never_times_out = True
                if target_index + 1 < len(routing_filter.targets):
                    reasons.append(f"{label} target {target_index} has no timeout; its later targets are never reached")
                break
            age = ends_at
        if never_times_out:
            if filter_index + 1 < len(config.filters):
                reasons.append(f"{label} never times out; later filters are not considered")
            break

    if matched_filter_index is None:
        if config.default_filter is not None:
            reasons.append("no filter matched; using default_filter")
            target = config.default_filter
            steps.append(
                RoutingStep(
                    filter_index=None,
                    filter_friendly_name=None,
                    target_index=0,
                    target=target,
                    starts_at=0,
                    cumulative_timeout=target.timeout,
                )
            )
        else:
            reasons.append("no filter matched and there is no default_filter; the task has no targets")
    return RoutingPlan(steps=steps, matched_filter_index=matched_filter_index, reason=reasons)


# ---------------------------------------------------------------------------------------------------------
# order_by

W = TypeVar("W")

# Cross-type ranking so a worker whose attribute has an unexpected type never breaks the sort.
_NUMBER_RANK, _STRING_RANK, _BOOLEAN_RANK = 0, 1, 2


def _sortable(value: object) -> tuple[int, Any] | None:
    if isinstance(value, bool):
        return (_BOOLEAN_RANK, value)
    if isinstance(value, int | float):
        return None if value != value else (_NUMBER_RANK, value)  # NaN has no order
    if isinstance(value, str):
        return (_STRING_RANK, value)
    return None  # missing, null, arrays and objects count as "lacking the attribute"


def sort_workers(
    workers: Iterable[W],
    order_by: Sequence[OrderClause],
    default_key: Callable[[W], Any] | None = None,
    *,
    attributes: Callable[[W], Mapping[str, Any]] | None = None,
) -> list[W]:
    """Order candidate workers by `order_by`, then `default_key` (ascending), then input order (stable).

    Workers lacking a clause's attribute sort after those that have it, whatever the direction.
    `attributes` extracts the attribute document from a worker; by default the worker is that document.
    """

    def attributes_of(worker: W) -> Mapping[str, Any]:
        return attributes(worker) if attributes is not None else cast(Mapping[str, Any], worker)

    ordered = list(workers)
    if default_key is not None:
        ordered.sort(key=default_key)
    # Stable sorts from the last clause to the first: each earlier clause decides, later ones break its ties.
    for clause in reversed(order_by):
        key = _parse_key(clause.attribute)
        valued = [(_sortable(key.resolve(attributes_of(worker))), worker) for worker in ordered]
        present = [(value, worker) for value, worker in valued if value is not None]
        present.sort(key=lambda pair: pair[0], reverse=clause.direction is SortDirection.DESC)
        ordered = [worker for _, worker in present] + [worker for value, worker in valued if value is None]
    return ordered
