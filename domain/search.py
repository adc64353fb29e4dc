"""The words a message is found by (history search, storage/search): case- and accent-insensitive words of two
characters or more. Stored only as keyed hashes (blind indexes), so the search index reveals no text."""

from __future__ import annotations

import re
import unicodedata

from domain.limits import SEARCH_MAX_QUERY_TERMS, SEARCH_MAX_TERMS_PER_MESSAGE, SEARCH_TERM_MAX_LENGTH

_WORD = re.compile(r"\w{2,}")


def _plain(text: str) -> str:
    """Lower case without accents: "Réfund" and "refund" are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str | None, *, limit: int = SEARCH_MAX_TERMS_PER_MESSAGE) -> list[str]:
    """The distinct words of `text`, in order of first appearance, at most `limit`."""
    seen: dict[str, None] = {}
    for match in _WORD.finditer(_plain(text or "")):
        seen.setdefault(match.group()[:SEARCH_TERM_MAX_LENGTH], None)
        if len(seen) >= limit:
            break
    return list(seen)


def query_words(query: str) -> list[str]:
    """A search's words (every one must appear in a conversation); at most SEARCH_MAX_QUERY_TERMS."""
    return words(query, limit=SEARCH_MAX_QUERY_TERMS)
