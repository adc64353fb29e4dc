"""Query parameters, declared once per operation. An operation reads its query string through a
`QueryParameters` dependency: FastAPI documents every parameter it declares in the OpenAPI (name, type, enum and
limits, the types Twilio's specs give them), and the `QueryValues` it hands the route refuse to read a name it
does not declare, so what /openapi.json says and what the route reads cannot drift apart (the fuzzer generates
its requests from the former: docs/security/fuzzing.md).

Values are parsed as before, by api/wire.Params with Twilio's 400s; FastAPI validates none of them (each is
declared `Any`, its schema given as is). Paging and time windows carry their limits, named once: `page_size=`
declares `PageSize` (1 to that maximum), `Page` and `PageToken`, and `QueryValues.paging()` parses them with
the same maximum; `window=` declares `Minutes` (up to its maximum), `StartDate` and `EndDate`, and
`QueryValues.time_window()` applies its default."""

from __future__ import annotations

import builtins
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request
from starlette.datastructures import QueryParams

from api.paging import MAX_PAGE_NUMBER, PAGE_TOKEN_PATTERN, Paging, paging
from api.params import time_window
from api.wire import Params
from domain.limits import DEFAULT_PAGE_SIZE
from domain.sids import SidPrefix


@dataclass(frozen=True, slots=True)
class QueryParam:
    """One query parameter as the OpenAPI documents it: its JSON schema and what it does."""

    name: str
    description: str
    schema: Mapping[str, Any]

    @classmethod
    def string(cls, name: str, description: str, **schema: Any) -> QueryParam:
        return cls(name, description, {"type": "string", **schema})

    @classmethod
    def integer(cls, name: str, description: str, **schema: Any) -> QueryParam:
        return cls(name, description, {"type": "integer", **schema})

    @classmethod
    def boolean(cls, name: str, description: str) -> QueryParam:
        """`true` or `false` (api/wire.Params.bool also takes 1/0 and yes/no)."""
        return cls(name, description, {"type": "boolean"})

    @classmethod
    def sid(cls, name: str, prefix: SidPrefix, description: str) -> QueryParam:
        """A SID of one kind (api/wire.Params.sid refuses any other)."""
        return cls.string(name, description, minLength=34, maxLength=34, pattern=f"^{prefix.value}[0-9a-f]{{32}}$")

    @classmethod
    def one_of(cls, name: str, values: Iterable[str], description: str) -> QueryParam:
        """One of a few values (api/wire.Params.enum, which ignores case)."""
        return cls.string(name, description, enum=list(values))

    @classmethod
    def repeatable(cls, name: str, description: str, values: Iterable[str] | None = None) -> QueryParam:
        """Repeated, or comma-separated (api/wire.Params.list); `values`, when given, are the only ones accepted."""
        items: dict[str, Any] = {"type": "string"} if values is None else {"type": "string", "enum": list(values)}
        return cls(name, description, {"type": "array", "items": items})


@dataclass(frozen=True, slots=True)
class Window:
    """A time window as TaskRouter reads one (api/params.time_window): `Minutes`, `StartDate`, `EndDate`."""

    default_minutes: int
    max_minutes: int

    def parameters(self) -> tuple[QueryParam, ...]:
        return (
            QueryParam.integer(
                "Minutes",
                f"Only the last this many minutes (at most {self.max_minutes}). The default, when none of "
                f"`Minutes`, `StartDate` and `EndDate` is given, is {self.default_minutes}.",
                minimum=1,
                maximum=self.max_minutes,
            ),
            QueryParam.string("StartDate", "Only from this ISO 8601 date-time on.", format="date-time"),
            QueryParam.string(
                "EndDate", "Only up to this ISO 8601 date-time; not before `StartDate`.", format="date-time"
            ),
        )


TASK_CHANNEL = QueryParam.string("TaskChannel", "Only what concerns this task channel: its SID (`TC…`) or unique name.")


def paging_parameters(max_size: int) -> tuple[QueryParam, ...]:
    return (
        QueryParam.integer(
            "PageSize",
            f"How many resources to return in each list page. The default is {DEFAULT_PAGE_SIZE}, and the maximum "
            f"is {max_size}.",
            format="int64",
            minimum=1,
            maximum=max_size,
        ),
        QueryParam.integer(
            "Page", "The page index. This value is simply for client state.", minimum=0, maximum=MAX_PAGE_NUMBER
        ),
        QueryParam.string("PageToken", "The page token. This is provided by the API.", pattern=PAGE_TOKEN_PATTERN),
    )


class UndeclaredQueryParameter(RuntimeError):
    """A route read a query parameter its operation does not declare: a bug (a 500), never the client's."""


class QueryValues(Params):
    """A request's query parameters, readable only by the names its operation declares."""

    def __init__(
        self, source: QueryParams, *, declared: frozenset[str], page_size: int | None, window: Window | None
    ) -> None:
        super().__init__(source)
        self._declared = declared
        self._page_size = page_size
        self._window = window

    def _check(self, name: str) -> None:
        if name not in self._declared:
            raise UndeclaredQueryParameter(f"Query parameter {name} is read but not declared for this operation")

    def has(self, name: str) -> bool:
        self._check(name)
        return super().has(name)

    def _raw(self, name: str) -> str | None:
        self._check(name)
        return super()._raw(name)

    def list(self, name: str) -> list[str]:
        self._check(name)
        return super().list(name)

    def paging(self) -> Paging:
        if self._page_size is None:
            raise UndeclaredQueryParameter("Paging is read but not declared for this operation (page_size=)")
        return paging(self, max_size=self._page_size)

    def time_window(self) -> tuple[datetime | None, datetime | None]:
        if self._window is None:
            raise UndeclaredQueryParameter("A time window is read but not declared for this operation (window=)")
        return time_window(self, default_minutes=self._window.default_minutes, max_minutes=self._window.max_minutes)

    def echo(self, *names: str) -> builtins.list[tuple[str, str | None]]:
        """The filters a list request gave, as given, for its paging URLs."""
        return [(name, self._raw(name)) for name in names]


class QueryParameters:
    """The query parameters of one operation, as a FastAPI dependency (`Annotated[QueryValues, Depends(...)]`).
    Its signature, which FastAPI reads to document it, lists them; none is required."""

    def __init__(self, *parameters: QueryParam, page_size: int | None = None, window: Window | None = None) -> None:
        declared = (
            *parameters,
            *(paging_parameters(page_size) if page_size is not None else ()),
            *(window.parameters() if window is not None else ()),
        )
        names = [p.name for p in declared]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"query parameters declared twice: {duplicated}")
        self.parameters = declared
        self.names = frozenset(names)
        self.page_size = page_size
        self.window = window
        self.__signature__ = inspect.Signature(
            [
                inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
                *(
                    inspect.Parameter(
                        f"q{index}",
                        inspect.Parameter.KEYWORD_ONLY,
                        default=None,
                        annotation=Annotated[
                            Any,
                            Query(
                                alias=p.name, title=p.name, description=p.description, json_schema_extra=dict(p.schema)
                            ),
                        ],
                    )
                    for index, p in enumerate(declared)
                ),
            ]
        )

    async def __call__(self, request: Request, **_: Any) -> QueryValues:
        return QueryValues(request.query_params, declared=self.names, page_size=self.page_size, window=self.window)
