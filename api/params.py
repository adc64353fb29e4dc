"""Request parsing shared by route modules (routes never import one another): path conventions and query
parameters that are expressions. Form bodies are api/forms/."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

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
