"""/parley/v1/Outbox (Parley extension): the account's side effects waiting to be handed to Temporal, and its
dead letters, the ones that gave up, with the error that stopped them. A dead letter can be re-queued once
its cause is fixed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import AdminPrincipal, DbDep, SettingsDep
from api.query import QueryParameters, QueryValues
from api.schemas.outbox import DeadLetter, DeadLetterList, OutboxSummary, outbox_url
from domain.limits import TASKROUTER_MAX_PAGE_SIZE
from storage.outbox import service as outbox

router = APIRouter(prefix="/parley/v1/Outbox", tags=["Parley: outbox"])
PAGED = QueryParameters(page_size=TASKROUTER_MAX_PAGE_SIZE)


@router.get("", response_model=OutboxSummary)
async def outbox_summary(principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> OutboxSummary:
    """How many of the account's side effects wait to be handed to Temporal, and how many gave up."""
    async with db.read() as q:
        stats = await outbox.stats(q, account_sid=principal.account_sid)
    return OutboxSummary.of(stats, settings.base_url)


@router.get("/DeadLetters", response_model=DeadLetterList)
async def list_dead_letters(
    principal: AdminPrincipal, db: DbDep, query: Annotated[QueryValues, Depends(PAGED)], settings: SettingsDep
) -> DeadLetterList:
    """The account's dead letters, newest first, each with the error that stopped it."""
    page = query.paging()
    async with db.read() as q:
        result = await outbox.dead_letters(q, account_sid=principal.account_sid, page=page.request)
    return DeadLetterList(
        dead_letters=[DeadLetter.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="dead_letters", url=f"{outbox_url(settings.base_url)}/DeadLetters", has_more=result.has_more
        ),
    )


@router.post("/DeadLetters/{row_id}", response_model=DeadLetter)
async def requeue_dead_letter(row_id: int, principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> DeadLetter:
    """Re-queue a dead letter once its cause is fixed; the sweeper sends it next."""
    async with db.unit() as uow:
        row = await outbox.requeue(uow, account_sid=principal.account_sid, row_id=row_id)
    return DeadLetter.of(row, settings.base_url)
