"""History search as use cases: a message's words are indexed when it is written or edited (their keyed hashes
under the account's never-rotated index key: storage/crypto.py), and a search finds the conversations holding
every word of the query, within what the caller may see, newest first, with the messages that match."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import InvalidParameter
from domain.limits import SEARCH_RESULTS_LIMIT, SEARCH_SNIPPETS_PER_CONVERSATION
from domain.search import query_words, words
from storage import crypto
from storage.attributes import attributes_of
from storage.conversations.tables import MessageRow
from storage.db import UnitOfWork


async def _hashes(uow: UnitOfWork, account_sid: str, terms: list[str]) -> list[str]:
    key = await crypto.data_keys().current(uow, account_sid, crypto.DataKeyPurpose.INDEX)
    return [key.index(f"term:{t}") for t in terms]


async def index_message(uow: UnitOfWork, message: MessageRow, *, edited: bool = False) -> None:
    """Index a message's words (called in the transaction that writes it; an edit replaces them)."""
    if edited:
        await uow.execute("DELETE FROM message_terms WHERE message_sid = %s", (message.sid,))
    terms = words(message.body)
    if not terms:
        return
    hashes = await _hashes(uow, message.account_sid, terms)
    await uow.execute(
        "INSERT INTO message_terms (account_sid, term, message_sid, conversation_sid) "
        "SELECT %s, t, %s, %s FROM unnest(%s::text[]) AS t ON CONFLICT DO NOTHING",
        (message.account_sid, message.sid, message.conversation_sid, hashes),
    )


@dataclass(frozen=True, slots=True)
class Scope:
    """What the caller may find: the whole account (None for both), a workspace's conversations (a
    supervisor), or those a worker took part in (an agent, by worker and chat identity)."""

    workspace_sid: str | None = None
    worker_sid: str | None = None
    identity: str | None = None


@dataclass(frozen=True, slots=True)
class Snippet:
    message_sid: str
    author: str
    body: str | None
    date_created: datetime


@dataclass(frozen=True, slots=True)
class Found:
    conversation_sid: str
    friendly_name: str | None
    customer_name: str | None
    state: str
    date_created: datetime
    date_updated: datetime
    messages: list[Snippet]


def _scope_sql(scope: Scope) -> tuple[str, list[object]]:
    if scope.worker_sid is not None:
        return (
            "AND (EXISTS (SELECT 1 FROM interaction_channels ic JOIN interaction_participants ip "
            "ON ip.channel_sid = ic.sid WHERE ic.conversation_sid = c.sid AND ip.type = 'agent' "
            "AND ip.routing_properties->>'worker_sid' = %s) "
            "OR EXISTS (SELECT 1 FROM participants p WHERE p.conversation_sid = c.sid AND p.identity = %s))",
            [scope.worker_sid, scope.identity],
        )
    if scope.workspace_sid is not None:
        return (
            "AND EXISTS (SELECT 1 FROM interaction_channels ic JOIN tasks t ON t.interaction_channel_sid = ic.sid "
            "WHERE ic.conversation_sid = c.sid AND t.workspace_sid = %s)",
            [scope.workspace_sid],
        )
    return "", []


async def search(uow: UnitOfWork, *, account_sid: str, query: str, scope: Scope) -> list[Found]:
    """The conversations whose messages hold every word of `query`, newest activity first."""
    terms = query_words(query)
    if not terms:
        raise InvalidParameter("Query must have a word of two letters or more")
    hashes = await _hashes(uow, account_sid, terms)
    where, params = _scope_sql(scope)
    rows = await uow.fetchall(
        "WITH hits AS (SELECT conversation_sid FROM message_terms WHERE account_sid = %s AND term = ANY(%s) "
        "GROUP BY conversation_sid HAVING count(DISTINCT term) = %s) "
        "SELECT c.sid, c.friendly_name, c.attributes, c.state, c.date_created, c.date_updated "
        f"FROM conversations c JOIN hits h ON h.conversation_sid = c.sid WHERE c.account_sid = %s {where} "
        "ORDER BY c.date_updated DESC, c.sid LIMIT %s",
        [account_sid, hashes, len(set(hashes)), account_sid, *params, SEARCH_RESULTS_LIMIT],
    )
    # The matching messages of every conversation found, in one query: per conversation the ones with the most
    # of the words first, then the latest.
    matching = await uow.all(
        MessageRow,
        "SELECT * FROM (SELECT m.*, row_number() OVER (PARTITION BY m.conversation_sid ORDER BY t.n DESC, "
        "m.index DESC) AS rank FROM messages m JOIN (SELECT message_sid, count(*) AS n FROM message_terms "
        "WHERE account_sid = %s AND conversation_sid = ANY(%s) AND term = ANY(%s) GROUP BY message_sid) t "
        "ON t.message_sid = m.sid) ranked WHERE rank <= %s ORDER BY conversation_sid, rank",
        (account_sid, [r["sid"] for r in rows], hashes, SEARCH_SNIPPETS_PER_CONVERSATION),
    )
    snippets: dict[str, list[Snippet]] = {}
    for m in matching:
        assert m.date_created is not None  # NOT NULL in the table
        snippets.setdefault(m.conversation_sid, []).append(
            Snippet(message_sid=m.sid, author=m.author, body=m.body, date_created=m.date_created)
        )
    found = [
        Found(
            conversation_sid=r["sid"],
            friendly_name=crypto.opened(r["friendly_name"]),
            customer_name=attributes_of(r["attributes"]).get("customer_name"),
            state=str(r["state"]),
            date_created=r["date_created"],
            date_updated=r["date_updated"],
            messages=snippets.get(r["sid"], []),
        )
        for r in rows
    ]
    return found
