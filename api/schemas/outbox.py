"""/parley/v1/Outbox resources (Parley extension): the outbox's counts and its dead letters."""

from __future__ import annotations

from typing import Any

from api.schemas.common import PageMeta, Public, TwilioDate
from storage.outbox.service import OutboxStats
from storage.outbox.tables import OutboxRow


def outbox_url(base: str) -> str:
    return f"{base}/parley/v1/Outbox"


class OutboxSummary(Public):
    pending: int
    dead_letters: int
    url: str
    links: dict[str, str]

    @classmethod
    def of(cls, stats: OutboxStats, base: str) -> OutboxSummary:
        url = outbox_url(base)
        return cls.from_row(stats, url=url, links={"dead_letters": f"{url}/DeadLetters"})


class DeadLetter(Public):
    id: int
    account_sid: str
    kind: str
    dedupe_key: str
    payload: dict[str, Any]
    attempts: int
    last_error: str | None
    date_created: TwilioDate
    date_dead: TwilioDate
    url: str

    @classmethod
    def of(cls, row: OutboxRow, base: str) -> DeadLetter:
        return cls.from_row(
            row,
            date_created=row.created_at,
            date_dead=row.dead_at,
            url=f"{outbox_url(base)}/DeadLetters/{row.id}",
        )


class DeadLetterList(Public):
    dead_letters: list[DeadLetter]
    meta: PageMeta
