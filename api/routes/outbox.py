"""/parley/v1/Outbox (Parley extension): the account's side effects waiting to be handed to Temporal, and its
dead letters, the ones that gave up, with the error that stopped them. A dead letter can be re-queued once
its cause is fixed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.deps import AdminPrincipal, DbDep, SettingsDep
from api.paging import paging
from api.schemas.common import PageMeta, Public, iso
from storage.outbox import service as outbox
from storage.outbox.tables import OutboxRow

router = APIRouter(prefix="/parley/v1/Outbox", tags=["Parley: outbox"])


class OutboxSummary(Public):
    pending: int
    dead_letters: int
    url: str
    links: dict[str, str]


class DeadLetter(Public):
    id: int
    account_sid: str
    kind: str
    dedupe_key: str
    payload: dict[str, Any]
    attempts: int
    last_error: str | None
    date_created: str | None
    date_dead: str | None
    url: str

    @classmethod
    def of(cls, row: OutboxRow, base: str) -> DeadLetter:
        assert row.id is not None
        return cls(
            id=row.id,
            account_sid=row.account_sid,
            kind=row.kind,
            dedupe_key=row.dedupe_key,
            payload=row.payload,
            attempts=row.attempts,
            last_error=row.last_error,
            date_created=iso(row.created_at),
            date_dead=iso(row.dead_at),
            url=f"{base}/parley/v1/Outbox/DeadLetters/{row.id}",
        )


class DeadLetterList(Public):
    dead_letters: list[DeadLetter]
    meta: PageMeta


@router.get("", response_model=OutboxSummary)
async def outbox_summary(principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> OutboxSummary:
    """How many of the account's side effects wait to be handed to Temporal, and how many gave up."""
    async with db.read() as q:
        stats = await outbox.stats(q, account_sid=principal.account_sid)
    url = f"{settings.base_url}/parley/v1/Outbox"
    return OutboxSummary(
        pending=stats.pending, dead_letters=stats.dead_letters, url=url, links={"dead_letters": f"{url}/DeadLetters"}
    )


@router.get("/DeadLetters", response_model=DeadLetterList)
async def list_dead_letters(
    request: Request, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> DeadLetterList:
    """The account's dead letters, newest first, each with the error that stopped it."""
    page = paging(request.query_params)
    async with db.read() as q:
        result = await outbox.dead_letters(q, account_sid=principal.account_sid, page=page.request)
    return DeadLetterList(
        dead_letters=[DeadLetter.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="dead_letters", url=f"{settings.base_url}/parley/v1/Outbox/DeadLetters", has_more=result.has_more
        ),
    )


@router.post("/DeadLetters/{row_id}", response_model=DeadLetter)
async def requeue_dead_letter(row_id: int, principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> DeadLetter:
    """Re-queue a dead letter once its cause is fixed; the sweeper sends it next."""
    async with db.unit() as uow:
        row = await outbox.requeue(uow, account_sid=principal.account_sid, row_id=row_id)
    return DeadLetter.of(row, settings.base_url)
