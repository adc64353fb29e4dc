"""One way to page, at the edge: Twilio's PageSize / Page / PageToken in, the list envelope's `meta` out. An
operation declares the three, with its maximum page size, in its api/query.QueryParameters, which documents them
and calls `paging` with that maximum."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from api.schemas.common import PageMeta
from api.wire import Params
from domain.errors import InvalidParameter
from domain.limits import DEFAULT_PAGE_SIZE
from storage.paging import PageRequest

# The offset a page starts at, as `next_page_url` and `previous_page_url` carry it; 18 digits fit in a bigint.
PAGE_TOKEN_PATTERN = r"^PT([0-9]{1,18})$"
_PAGE_TOKEN = re.compile(PAGE_TOKEN_PATTERN)
MAX_PAGE_NUMBER = 10**9  # keeps the offset inside PostgreSQL's bigint


@dataclass(frozen=True, slots=True)
class Paging:
    request: PageRequest
    number: int

    def meta(self, *, key: str, url: str, has_more: bool, filters: Iterable[tuple[str, str | None]] = ()) -> PageMeta:
        kept = [(k, v) for k, v in filters if v is not None]
        size, offset = self.request.size, self.request.offset

        def page_url(number: int, token: str | None = None) -> str:
            query = [*kept, ("PageSize", str(size)), ("Page", str(number))]
            if token:
                query.append(("PageToken", token))
            return f"{url}?{urlencode(query)}"

        return PageMeta(
            page=self.number,
            page_size=size,
            first_page_url=page_url(0),
            previous_page_url=page_url(self.number - 1, f"PT{max(offset - size, 0)}") if self.number > 0 else None,
            url=page_url(self.number),
            next_page_url=page_url(self.number + 1, f"PT{offset + size}") if has_more else None,
            key=key,
        )


def paging(params: Params, *, max_size: int) -> Paging:
    size = params.int("PageSize", minimum=1, maximum=max_size) or DEFAULT_PAGE_SIZE
    number = params.int("Page", minimum=0, maximum=MAX_PAGE_NUMBER) or 0
    token = params.str("PageToken")
    if token is not None:
        match = _PAGE_TOKEN.match(token)
        if not match:
            raise InvalidParameter(f"Invalid PageToken '{token}'")
        offset = int(match.group(1))
    else:
        offset = number * size
    return Paging(request=PageRequest(size=size, offset=offset), number=number)
