"""Query parameters are declared once per operation (api/query.py): the declaration is what the OpenAPI documents
and the only way a route reads its query string, so the two cannot drift apart (docs/security/fuzzing.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from starlette.requests import Request

import api.routes
from api.query import TASK_CHANNEL, QueryParam, QueryParameters, QueryValues, UndeclaredQueryParameter, Window
from domain.errors import InvalidParameter
from domain.limits import DEFAULT_PAGE_SIZE
from domain.sids import SidPrefix

DECLARED = QueryParameters(
    QueryParam.sid("WorkerSid", SidPrefix.WORKER, "Only this worker's."),
    QueryParam.repeatable("Status", "Only these.", ["pending", "done"]),
    TASK_CHANNEL,
    page_size=20,
    window=Window(default_minutes=15, max_minutes=60),
)
ROUTES = Path(api.routes.__file__).resolve().parent
# Reads its query string whole on purpose: a provider's webhook, whose signature covers every parameter.
RAW_QUERY_READERS = {"channels.py"}


async def values(declaration: QueryParameters, query: str) -> QueryValues:
    request = Request({"type": "http", "method": "GET", "path": "/", "query_string": query.encode(), "headers": []})
    return await declaration(request)


def test_fastapi_documents_each_declared_parameter_with_its_schema() -> None:
    app = FastAPI()

    @app.get("/things")
    async def things(query: Annotated[QueryValues, Depends(DECLARED)]) -> dict[str, Any]:
        return {}

    parameters = {p["name"]: p for p in app.openapi()["paths"]["/things"]["get"]["parameters"]}
    assert list(parameters) == [
        "WorkerSid",
        "Status",
        "TaskChannel",
        "PageSize",
        "Page",
        "PageToken",
        "Minutes",
        "StartDate",
        "EndDate",
    ]
    assert all(p["in"] == "query" and not p["required"] and p["description"] for p in parameters.values())
    assert parameters["WorkerSid"]["schema"]["pattern"] == "^WK[0-9a-f]{32}$"
    assert parameters["Status"]["schema"]["type"] == "array"
    assert parameters["Status"]["schema"]["items"] == {"type": "string", "enum": ["pending", "done"]}
    size = parameters["PageSize"]["schema"]
    assert (size["type"], size["minimum"], size["maximum"]) == ("integer", 1, 20)
    assert parameters["Minutes"]["schema"]["maximum"] == 60
    assert parameters["StartDate"]["schema"]["format"] == "date-time"


async def test_paging_and_the_window_use_the_declared_limits() -> None:
    assert (await values(DECLARED, "")).paging().request.size == DEFAULT_PAGE_SIZE
    assert (await values(DECLARED, "PageSize=20&PageToken=PT40")).paging().request.offset == 40
    with pytest.raises(InvalidParameter, match="PageSize' must be at most 20"):
        (await values(DECLARED, "PageSize=21")).paging()
    with pytest.raises(InvalidParameter, match="Minutes' must be at most 60"):
        (await values(DECLARED, "Minutes=61")).time_window()
    start, end = (await values(DECLARED, "")).time_window()
    assert start is not None and end is None  # the default window: the last 15 minutes


async def test_values_are_parsed_as_params_parse_them() -> None:
    query = await values(DECLARED, "Status=pending,done&Status=x&WorkerSid=WK" + "a" * 32)
    assert query.list("Status") == ["pending", "done", "x"]
    assert query.sid("WorkerSid", SidPrefix.WORKER) == "WK" + "a" * 32
    assert query.echo("Status", "TaskChannel") == [("Status", "x"), ("TaskChannel", None)]
    with pytest.raises(InvalidParameter, match="WorkerSid' must be a WK SID"):
        (await values(DECLARED, "WorkerSid=nope")).sid("WorkerSid", SidPrefix.WORKER)


async def test_reading_what_is_not_declared_is_a_bug_not_a_filter() -> None:
    query = await values(DECLARED, "Undeclared=1")
    for read in (
        lambda: query.str("Undeclared"),
        lambda: query.int("Undeclared"),
        lambda: query.list("Undeclared"),
        lambda: query.has("Undeclared"),
        lambda: query.echo("WorkerSid", "Undeclared"),
    ):
        with pytest.raises(UndeclaredQueryParameter, match="Undeclared"):
            read()
    bare = await values(QueryParameters(TASK_CHANNEL), "PageSize=5")
    with pytest.raises(UndeclaredQueryParameter):
        bare.paging()
    with pytest.raises(UndeclaredQueryParameter):
        bare.time_window()


def test_a_parameter_is_declared_once() -> None:
    with pytest.raises(ValueError, match="PageSize"):
        QueryParameters(QueryParam.integer("PageSize", "twice"), page_size=10)


def test_routes_read_their_query_strings_only_through_their_declarations() -> None:
    offenders = [
        f"{path.relative_to(ROUTES)}:{number}: {line.strip()}"
        for path in sorted(ROUTES.rglob("*.py"))
        if path.name not in RAW_QUERY_READERS
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\brequest\.query_params\b|\bParams\(", line)
    ]
    assert not offenders, "declare these in a QueryParameters (api/query.py):\n" + "\n".join(offenders)
