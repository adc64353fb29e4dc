"""The agent desktop's tools as use cases: private notes on a conversation, a workspace's canned responses, and
a customer's earlier conversations. Who may call them is checked at the edge (api/access.py): notes and history
for the conversation's agents and supervisors, never its customer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from psycopg.errors import UniqueViolation

from domain.errors import Conflict, InvalidParameter, NotFound, PermissionDenied
from domain.limits import (
    CANNED_RESPONSE_BODY_MAX_LENGTH,
    CANNED_RESPONSE_SHORTCUT_MAX_LENGTH,
    CANNED_RESPONSE_TITLE_MAX_LENGTH,
    CANNED_RESPONSES_PER_WORKSPACE,
    CUSTOMER_HISTORY_LIMIT,
    PRIVATE_NOTE_MAX_LENGTH,
)
from domain.sids import SidPrefix, new_sid
from storage import crypto
from storage.attributes import attributes_of
from storage.conversations.tables import ConversationRow
from storage.db import UnitOfWork
from storage.desk.tables import CannedResponseRow, PrivateNoteRow

# --- private notes -----------------------------------------------------------------------------------


def _text(value: str | None, *, what: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidParameter(f"{what} is required")
    if len(text) > limit:
        raise InvalidParameter(f"{what} must be at most {limit} characters")
    return text


async def add_note(
    uow: UnitOfWork, *, conversation: ConversationRow, author: str, worker_sid: str | None, body: str | None
) -> PrivateNoteRow:
    """A note only the conversation's agents and supervisors read (never the customer, never a webhook)."""
    text = _text(body, what="Body", limit=PRIVATE_NOTE_MAX_LENGTH)
    row = await uow.one(
        PrivateNoteRow,
        "INSERT INTO private_notes (sid, account_sid, conversation_sid, author, worker_sid, body) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
        (
            new_sid(SidPrefix.PRIVATE_NOTE),
            conversation.account_sid,
            conversation.sid,
            author,
            worker_sid,
            await crypto.seal(uow, conversation.account_sid, text),
        ),
    )
    assert row is not None
    return row


async def list_notes(uow: UnitOfWork, *, conversation: ConversationRow) -> list[PrivateNoteRow]:
    return await uow.all(
        PrivateNoteRow,
        "SELECT * FROM private_notes WHERE conversation_sid = %s ORDER BY date_created, sid",
        (conversation.sid,),
    )


async def delete_note(uow: UnitOfWork, *, conversation: ConversationRow, note_sid: str, author: str | None) -> None:
    """Removes a note: its author's own (`author`), or any (None: an admin or supervisor)."""
    note = await uow.one(
        PrivateNoteRow,
        "SELECT * FROM private_notes WHERE sid = %s AND conversation_sid = %s",
        (note_sid, conversation.sid),
    )
    if note is None:
        raise NotFound.resource(f"/Conversations/{conversation.sid}/Notes/{note_sid}")
    if author is not None and note.author != author:
        raise PermissionDenied("Only the note's author (or a supervisor) may remove it")
    await uow.execute("DELETE FROM private_notes WHERE sid = %s", (note_sid,))


# --- canned responses --------------------------------------------------------------------------------

_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True, slots=True)
class CannedFields:
    title: str | None = None
    body: str | None = None
    shortcut: str | None = None  # "" clears it


def _shortcut(value: str) -> str | None:
    text = value.strip().lower().removeprefix("/")
    if not text:
        return None
    if len(text) > CANNED_RESPONSE_SHORTCUT_MAX_LENGTH or not _SHORTCUT.match(text):
        raise InvalidParameter(
            f"Shortcut must be up to {CANNED_RESPONSE_SHORTCUT_MAX_LENGTH} lower-case letters, digits, - or _"
        )
    return text


async def _saved(uow: UnitOfWork, sql: str, params: tuple[object, ...]) -> CannedResponseRow:
    try:
        async with uow.conn.transaction():
            row = await uow.one(CannedResponseRow, sql, params)
    except UniqueViolation:
        raise Conflict("Another canned response of this workspace has that Shortcut") from None
    if row is None:
        raise NotFound("The canned response does not exist")
    return row


async def create_canned(
    uow: UnitOfWork, *, account_sid: str, workspace_sid: str, fields: CannedFields
) -> CannedResponseRow:
    title = _text(fields.title, what="Title", limit=CANNED_RESPONSE_TITLE_MAX_LENGTH)
    body = _text(fields.body, what="Body", limit=CANNED_RESPONSE_BODY_MAX_LENGTH)
    count = await uow.fetchone("SELECT count(*) AS n FROM canned_responses WHERE workspace_sid = %s", (workspace_sid,))
    if count and count["n"] >= CANNED_RESPONSES_PER_WORKSPACE:
        raise InvalidParameter(f"A workspace may have at most {CANNED_RESPONSES_PER_WORKSPACE} canned responses")
    return await _saved(
        uow,
        "INSERT INTO canned_responses (sid, account_sid, workspace_sid, title, shortcut, body) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
        (
            new_sid(SidPrefix.CANNED_RESPONSE),
            account_sid,
            workspace_sid,
            title,
            _shortcut(fields.shortcut or ""),
            body,
        ),
    )


async def get_canned(uow: UnitOfWork, *, workspace_sid: str, sid: str) -> CannedResponseRow:
    return await uow.found(
        CannedResponseRow,
        "SELECT * FROM canned_responses WHERE sid = %s AND workspace_sid = %s",
        (sid, workspace_sid),
        resource=f"/Workspaces/{workspace_sid}/CannedResponses/{sid}",
    )


async def update_canned(uow: UnitOfWork, *, workspace_sid: str, sid: str, fields: CannedFields) -> CannedResponseRow:
    current = await get_canned(uow, workspace_sid=workspace_sid, sid=sid)
    title = (
        current.title
        if fields.title is None
        else _text(fields.title, what="Title", limit=CANNED_RESPONSE_TITLE_MAX_LENGTH)
    )
    body = (
        current.body if fields.body is None else _text(fields.body, what="Body", limit=CANNED_RESPONSE_BODY_MAX_LENGTH)
    )
    shortcut = current.shortcut if fields.shortcut is None else _shortcut(fields.shortcut)
    return await _saved(
        uow,
        "UPDATE canned_responses SET title = %s, body = %s, shortcut = %s, date_updated = now() "
        "WHERE sid = %s RETURNING *",
        (title, body, shortcut, sid),
    )


async def delete_canned(uow: UnitOfWork, *, workspace_sid: str, sid: str) -> None:
    await get_canned(uow, workspace_sid=workspace_sid, sid=sid)
    await uow.execute("DELETE FROM canned_responses WHERE sid = %s", (sid,))


async def list_canned(uow: UnitOfWork, *, workspace_sid: str) -> list[CannedResponseRow]:
    return await uow.all(
        CannedResponseRow,
        "SELECT * FROM canned_responses WHERE workspace_sid = %s ORDER BY lower(title), sid",
        (workspace_sid,),
    )


# --- the customer's earlier conversations ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EarlierConversation:
    sid: str
    friendly_name: str | None
    state: str
    date_created: datetime
    date_updated: datetime
    messages: int
    last_message: str | None


async def customer_history(uow: UnitOfWork, *, conversation: ConversationRow) -> list[EarlierConversation]:
    """The other conversations of this conversation's customer, newest first: the same chat identity (a
    verified web chat customer, a Conversations user) or the same phone address (SMS, WhatsApp, Messenger).
    Anonymous web chat visitors get a new identity per chat, so they have none."""
    customers = await uow.fetchall(
        "SELECT identity, attributes, binding_address_hash FROM participants WHERE conversation_sid = %s",
        (conversation.sid,),
    )
    identities: list[str] = []
    addresses: list[str] = []
    for p in customers:
        if attributes_of(p["attributes"]).get("role") == "agent":
            continue
        if p["binding_address_hash"]:
            addresses.append(p["binding_address_hash"])
        elif p["identity"]:
            identities.append(p["identity"])
    if not identities and not addresses:
        return []
    rows = await uow.fetchall(
        "SELECT c.sid, c.friendly_name, c.state, c.date_created, c.date_updated, "
        "(SELECT count(*) FROM messages m WHERE m.conversation_sid = c.sid) AS messages, "
        "(SELECT m.body FROM messages m WHERE m.conversation_sid = c.sid ORDER BY m.index DESC LIMIT 1) AS last_body "
        "FROM conversations c WHERE c.account_sid = %s AND c.sid <> %s AND c.sid IN ("
        "SELECT p.conversation_sid FROM participants p WHERE p.account_sid = %s "
        "AND (p.identity = ANY(%s) OR p.binding_address_hash = ANY(%s))) "
        "ORDER BY c.date_created DESC LIMIT %s",
        (
            conversation.account_sid,
            conversation.sid,
            conversation.account_sid,
            identities,
            addresses,
            CUSTOMER_HISTORY_LIMIT,
        ),
    )
    return [
        EarlierConversation(
            sid=r["sid"],
            friendly_name=crypto.opened(r["friendly_name"]),
            state=str(r["state"]),
            date_created=r["date_created"],
            date_updated=r["date_updated"],
            messages=int(r["messages"]),
            last_message=crypto.opened(r["last_body"]),
        )
        for r in rows
    ]
