"""Helpers shared by TaskRouter routes: scoped lookups that 404 with Twilio's wording, list paging, inserts and
updates, the event log, and the `{…:sid}` path convertor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request
from psycopg.errors import UniqueViolation
from starlette.convertors import Convertor, register_url_convertor

from api.auth import Principal, Role
from api.wire import Page, Params
from core.settings import Settings
from domain.errors import Conflict, InvalidParameter, NotFound, PermissionDenied
from domain.routing import Expression, ExpressionSyntaxError, parse_expression
from storage.db import Database, UnitOfWork
from storage.events import record_event

Row = dict[str, Any]

WORKSPACE_PATH = "/taskrouter/v1/Workspaces/{workspace_sid}"
LIVE_TASK = ("pending", "reserved", "assigned", "wrapping")


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


# --- scoped lookups ----------------------------------------------------------------------------------


async def load_workspace(q: UnitOfWork, principal: Principal, workspace_sid: str) -> dict[str, Any]:
    row = await q.fetchone(
        "SELECT * FROM workspaces WHERE sid = %s AND account_sid = %s", (workspace_sid, principal.account_sid)
    )
    if row is None:
        raise NotFound(f"The requested resource /Workspaces/{workspace_sid} was not found")
    principal.require_workspace(workspace_sid)
    return row


async def load_in_workspace(
    q: UnitOfWork, table: str, path: str, workspace_sid: str, sid: str, *, for_update: bool = False
) -> dict[str, Any]:
    row = await q.fetchone(
        f"SELECT * FROM {table} WHERE sid = %s AND workspace_sid = %s" + (" FOR UPDATE" if for_update else ""),
        (sid, workspace_sid),
    )
    if row is None:
        raise NotFound(f"The requested resource /Workspaces/{workspace_sid}/{path}/{sid} was not found")
    return row


async def activity_names(q: UnitOfWork, workspace_sid: str) -> dict[str, str]:
    rows = await q.fetchall("SELECT sid, friendly_name FROM activities WHERE workspace_sid = %s", (workspace_sid,))
    return {r["sid"]: r["friendly_name"] for r in rows}


async def require_activity(uow: UnitOfWork, workspace_sid: str, activity_sid: str, param: str) -> Row:
    """An activity named by a request parameter: unknown is the parameter's fault (400), not a 404."""
    row = await uow.fetchone(
        "SELECT * FROM activities WHERE sid = %s AND workspace_sid = %s", (activity_sid, workspace_sid)
    )
    if row is None:
        raise InvalidParameter(f"Parameter '{param}': {activity_sid} is not an activity of this workspace")
    return row


def deny_agents(principal: Principal, what: str) -> None:
    if principal.role is Role.AGENT:
        raise PermissionDenied(f"An agent token may not read {what}")


# --- list endpoints ----------------------------------------------------------------------------------


class Where:
    """AND-joined list filters; a clause joins only when its value was given (once per placeholder)."""

    def __init__(self, clause: str, *args: Any) -> None:
        self.clauses = [clause]
        self.args: list[Any] = list(args)

    def add(self, value: Any, clause: str) -> None:
        if value is not None:
            self.clauses.append(clause)
            self.args.extend([value] * clause.count("%s"))

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses)


class Listing:
    """One list request: the page it asks for, and Twilio's envelope (url under the workspace, echoed filters)."""

    def __init__(self, request: Request, settings: Settings, workspace_sid: str, resource: str, *, key: str) -> None:
        self.page = Page(request.query_params)
        self._query = request.query_params
        self._url = f"{settings.base_url}/taskrouter/v1/Workspaces/{workspace_sid}/{resource}"
        self._key = key

    async def fetch(self, q: UnitOfWork, sql: str, args: Sequence[Any]) -> tuple[list[Row], bool]:
        return await self.page.fetch(q, sql, args)

    def cut(self, rows: list[Row]) -> tuple[list[Row], bool]:
        return self.page.cut(rows)

    def envelope(self, items: Sequence[Any], has_more: bool, echo: Iterable[str] = ()) -> dict[str, Any]:
        filters = [(name, value) for name in echo if (value := self._query.get(name)) is not None]
        return self.page.envelope(key=self._key, url=self._url, has_more=has_more, items=items, filters=filters)


# --- writes ------------------------------------------------------------------------------------------


@asynccontextmanager
async def unit(db: Database, what: str) -> AsyncIterator[UnitOfWork]:
    """Pre-checks give the precise 409; this catches two requests that pass them at the same moment."""
    try:
        async with db.unit() as uow:
            yield uow
    except UniqueViolation:
        raise Conflict(f"{what} already exists in this workspace") from None


async def ensure_unique(
    uow: UnitOfWork,
    table: str,
    workspace_sid: str,
    column: str,
    value: str,
    what: str,
    *,
    exclude: str = "",
    casefold: bool = False,
) -> None:
    test = f"lower({column}) = lower(%s)" if casefold else f"{column} = %s"
    row = await uow.fetchone(
        f"SELECT sid FROM {table} WHERE workspace_sid = %s AND {test} AND sid <> %s",
        (workspace_sid, value, exclude),
    )
    if row is not None:
        raise Conflict(f"{what} '{value}' already exists in this workspace ({row['sid']})")


async def insert(uow: UnitOfWork, table: str, values: dict[str, Any]) -> Row:
    marks = ", ".join(["%s"] * len(values))
    row = await uow.fetchone(
        f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks}) RETURNING *", tuple(values.values())
    )
    assert row is not None
    return row


async def update(uow: UnitOfWork, table: str, sid: str, changes: dict[str, Any]) -> Row:
    sets = "".join(f"{column} = %s, " for column in changes)
    row = await uow.fetchone(
        f"UPDATE {table} SET {sets}date_updated = now() WHERE sid = %s RETURNING *", (*changes.values(), sid)
    )
    assert row is not None
    return row


async def count(uow: UnitOfWork, sql: str, args: tuple[Any, ...]) -> int:
    row = await uow.fetchone(f"SELECT count(*) AS n FROM {sql}", args)
    return int(row["n"]) if row else 0


async def log_event(
    uow: UnitOfWork,
    workspace: Row,
    event_type: str,
    resource_type: str,
    resource_sid: str,
    description: str,
    **data: Any,
) -> None:
    await record_event(
        uow,
        account_sid=workspace["account_sid"],
        workspace_sid=workspace["sid"],
        event_type=event_type,
        resource_type=resource_type,
        resource_sid=resource_sid,
        description=description,
        data={**data, "workspace_sid": workspace["sid"], "workspace_name": workspace["friendly_name"]},
    )


# --- parameters --------------------------------------------------------------------------------------


def optional_name(form: Params) -> str | None:
    """FriendlyName on update: optional, but not blank when given."""
    name = form.str("FriendlyName", max_length=64)
    if name is not None and not name.strip():
        raise InvalidParameter("Parameter 'FriendlyName' must not be empty")
    return name


def parse_param_expression(text: str, param: str) -> Expression:
    try:
        return parse_expression(text)
    except ExpressionSyntaxError as exc:
        # The error's own message is the bare reason; the client needs the parameter and the position.
        raise InvalidParameter(f"Parameter '{param}' is not a valid expression: {exc.headline}") from None
