"""One way to page a list: offset paging over a stable ORDER BY, fetching one extra row to know if more follow.
The API edge turns PageSize/Page/PageToken into a PageRequest and the result into Twilio's envelope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from storage.db import UnitOfWork

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    size: int
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool


async def fetch_page(uow: UnitOfWork, model: type[M], sql: str, args: Sequence[Any], page: PageRequest) -> Page[M]:
    """This page's rows straight from SQL (`sql` must end with its ORDER BY)."""
    rows = await uow.all(model, f"{sql} LIMIT %s OFFSET %s", (*args, page.size + 1, page.offset))
    return Page(items=rows[: page.size], has_more=len(rows) > page.size)


def cut(rows: Sequence[T], page: PageRequest) -> Page[T]:
    """This page of a list already filtered in Python (an expression filter SQL cannot evaluate)."""
    window = list(rows[page.offset : page.offset + page.size + 1])
    return Page(items=window[: page.size], has_more=len(window) > page.size)
