"""Request parsing shared by route modules (routes never import one another): path conventions and query
parameters that are expressions. Form bodies are api/forms/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.convertors import Convertor, register_url_convertor

from api.wire import Params
from domain.errors import InvalidParameter
from domain.routing import Expression, ExpressionSyntaxError, parse_expression

WORKSPACE_PATH = "/taskrouter/v1/Workspaces/{workspace_sid}"


class _SidConvertor(Convertor[str]):
    """Path segments that look like a SID. Routers included after the one using it serve siblings such as
    `/Workers/Statistics` or `POST /TaskQueues/RealTimeStatistics`; a plain `{sid}` would shadow them."""

    regex = "[A-Z]{2}[0-9a-fA-F]{32}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Registered on import, so before any route declared in a module that imports this one.
register_url_convertor("sid", _SidConvertor())


def parse_param_expression(text: str, param: str) -> Expression:
    try:
        return parse_expression(text)
    except ExpressionSyntaxError as exc:
        # The error's own message is the bare reason; the client needs the parameter and the position.
        raise InvalidParameter(f"Parameter '{param}' is not a valid expression: {exc.headline}") from None


def _date(params: Params, name: str) -> datetime | None:
    value = params.str(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(f"Parameter '{name}' must be an ISO 8601 date-time, got '{value}'") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def time_window(query: Params, *, default_minutes: int, max_minutes: int) -> tuple[datetime | None, datetime | None]:
    """`Minutes`, `StartDate` and `EndDate` as TaskRouter reads them: the last `default_minutes` when none is
    given; `Minutes` narrows a `StartDate` further back; a start after the end is a 400."""
    start, end = _date(query, "StartDate"), _date(query, "EndDate")
    minutes = query.int("Minutes", minimum=1, maximum=max_minutes)
    if minutes is None and start is None and end is None:
        minutes = default_minutes
    if minutes is not None:
        since = datetime.now(UTC) - timedelta(minutes=minutes)
        start = max(start, since) if start else since
    if start and end and start > end:
        raise InvalidParameter("Parameter 'StartDate' must not be after 'EndDate'")
    return start, end
