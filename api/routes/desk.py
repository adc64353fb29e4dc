"""The agent desktop's tools (Parley extensions, docs/agent-desktop.md): private notes on a conversation and a
customer's earlier conversations, for the conversation's agents and its workspace's supervisors (never its
customer), and a workspace's canned responses (agents read them; supervisors and admins write them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Response
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from api.access import conversation_access, workspace_access
from api.auth import Principal, Role
from api.deps import CurrentPrincipal, DbDep, SettingsDep
from api.forms.fields import FormModel
from api.forms.parse import form_of
from domain.errors import PermissionDenied
from domain.limits import (
    CANNED_RESPONSE_BODY_MAX_LENGTH,
    CANNED_RESPONSE_SHORTCUT_MAX_LENGTH,
    CANNED_RESPONSE_TITLE_MAX_LENGTH,
    PRIVATE_NOTE_MAX_LENGTH,
    SEARCH_QUERY_MAX_LENGTH,
)
from storage.conversations.tables import ConversationRow
from storage.db import UnitOfWork
from storage.desk import service as desk
from storage.desk.service import CannedFields
from storage.desk.tables import CannedResponseRow, PrivateNoteRow
from storage.search import service as search

router = APIRouter(prefix="/parley/v1", tags=["Parley: agent desktop"])


async def _staff_conversation(q: UnitOfWork, principal: Principal, conversation_sid: str) -> ConversationRow:
    """The conversation, for its agents, its workspace's supervisors and admins; its customer is refused."""
    if principal.role is Role.CUSTOMER:
        raise PermissionDenied("Private notes and customer history are for agents and supervisors")
    conversation, _ = await conversation_access(q, principal, conversation_sid)
    return conversation


# --- private notes -----------------------------------------------------------------------------------


class NoteOut(BaseModel):
    sid: str
    account_sid: str
    conversation_sid: str
    author: str
    worker_sid: str | None
    body: str
    date_created: datetime | None
    url: str

    @classmethod
    def of(cls, row: PrivateNoteRow, base_url: str) -> NoteOut:
        return cls(
            **row.model_dump(include={"sid", "account_sid", "conversation_sid", "author", "worker_sid", "body"}),
            date_created=row.date_created,
            url=f"{base_url}/parley/v1/Conversations/{row.conversation_sid}/Notes/{row.sid}",
        )


class NoteList(BaseModel):
    notes: list[NoteOut]


class CreateNote(FormModel):
    body: Annotated[str, Field(max_length=PRIVATE_NOTE_MAX_LENGTH)] = Field(
        alias="Body", description="The note: agents and supervisors see it, the customer never does."
    )


@router.get("/Conversations/{conversation_sid}/Notes", response_model=NoteList)
async def list_notes(conversation_sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep) -> NoteList:
    """The conversation's private notes, oldest first."""
    async with db.read() as q:
        conversation = await _staff_conversation(q, principal, conversation_sid)
        rows = await desk.list_notes(q, conversation=conversation)
    return NoteList(notes=[NoteOut.of(r, settings.base_url) for r in rows])


@router.post("/Conversations/{conversation_sid}/Notes", status_code=201, response_model=NoteOut)
async def create_note(
    conversation_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
    form: Annotated[CreateNote, Form()],
) -> NoteOut:
    """Add a private note (up to 4,096 characters) as the caller."""
    async with db.unit() as uow:
        conversation = await _staff_conversation(uow, principal, conversation_sid)
        row = await desk.add_note(
            uow,
            conversation=conversation,
            author=principal.identity or ("admin" if principal.is_admin else principal.role.value),
            worker_sid=principal.worker_sid,
            body=form.body,
        )
    return NoteOut.of(row, settings.base_url)


@router.delete("/Conversations/{conversation_sid}/Notes/{note_sid}", status_code=204)
async def delete_note(conversation_sid: str, note_sid: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    """An agent removes its own notes; a supervisor or admin any."""
    async with db.unit() as uow:
        conversation = await _staff_conversation(uow, principal, conversation_sid)
        author = None if principal.role in (Role.ADMIN, Role.SUPERVISOR) else principal.identity
        await desk.delete_note(uow, conversation=conversation, note_sid=note_sid, author=author)
    return Response(status_code=204)


# --- the customer's earlier conversations ------------------------------------------------------------


class EarlierConversationOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    conversation_sid: str = Field(validation_alias=AliasChoices("conversation_sid", "sid"))
    friendly_name: str | None
    state: str
    date_created: datetime
    date_updated: datetime
    messages: int
    last_message: str | None


class CustomerHistory(BaseModel):
    conversation_sid: str
    conversations: list[EarlierConversationOut]


@router.get("/Conversations/{conversation_sid}/CustomerHistory", response_model=CustomerHistory)
async def customer_history(conversation_sid: str, principal: CurrentPrincipal, db: DbDep) -> CustomerHistory:
    """The customer's other conversations (same identity or phone address), newest first, at most 20."""
    async with db.read() as q:
        conversation = await _staff_conversation(q, principal, conversation_sid)
        rows = await desk.customer_history(q, conversation=conversation)
    return CustomerHistory(
        conversation_sid=conversation.sid,
        conversations=[EarlierConversationOut.model_validate(r, from_attributes=True) for r in rows],
    )


# --- canned responses --------------------------------------------------------------------------------


class CannedOut(BaseModel):
    sid: str
    account_sid: str
    workspace_sid: str
    title: str
    shortcut: str | None
    body: str
    date_created: datetime | None
    date_updated: datetime | None
    url: str

    @classmethod
    def of(cls, row: CannedResponseRow, base_url: str) -> CannedOut:
        return cls(
            **row.model_dump(),
            url=f"{base_url}/parley/v1/Workspaces/{row.workspace_sid}/CannedResponses/{row.sid}",
        )


class CannedList(BaseModel):
    canned_responses: list[CannedOut]


class CannedForm(FormModel):
    clearable = ("shortcut",)

    title: Annotated[str, Field(max_length=CANNED_RESPONSE_TITLE_MAX_LENGTH)] | None = Field(None, alias="Title")
    body: Annotated[str, Field(max_length=CANNED_RESPONSE_BODY_MAX_LENGTH)] | None = Field(
        None, alias="Body", description="The reply; `{{customer.name}}` and `{{agent.name}}` are filled in."
    )
    shortcut: Annotated[str, Field(max_length=CANNED_RESPONSE_SHORTCUT_MAX_LENGTH + 1)] | None = Field(
        None, alias="Shortcut", description="Typed after `/` in the reply box, unique in the workspace; empty clears."
    )

    def fields(self) -> CannedFields:
        return CannedFields(title=self.title, body=self.body, shortcut=self.shortcut)


def _require_writer(principal: Principal) -> None:
    if principal.role not in (Role.ADMIN, Role.SUPERVISOR):
        raise PermissionDenied("Canned responses are written by supervisors and admins")


@router.get("/Workspaces/{workspace_sid}/CannedResponses", response_model=CannedList)
async def list_canned(workspace_sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep) -> CannedList:
    """The workspace's canned responses, by title (every one: a workspace has at most 500)."""
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        rows = await desk.list_canned(q, workspace_sid=workspace_sid)
    return CannedList(canned_responses=[CannedOut.of(r, settings.base_url) for r in rows])


@router.post("/Workspaces/{workspace_sid}/CannedResponses", status_code=201, response_model=CannedOut)
async def create_canned(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
    form: Annotated[CannedForm, Depends(form_of(CannedForm))],
) -> CannedOut:
    """A new canned response: `Title` and `Body` required, `Shortcut` optional (409 when taken)."""
    _require_writer(principal)
    async with db.unit() as uow:
        await workspace_access(uow, principal, workspace_sid)
        row = await desk.create_canned(
            uow, account_sid=principal.account_sid, workspace_sid=workspace_sid, fields=form.fields()
        )
    return CannedOut.of(row, settings.base_url)


@router.get("/Workspaces/{workspace_sid}/CannedResponses/{sid}", response_model=CannedOut)
async def fetch_canned(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> CannedOut:
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        row = await desk.get_canned(q, workspace_sid=workspace_sid, sid=sid)
    return CannedOut.of(row, settings.base_url)


@router.post("/Workspaces/{workspace_sid}/CannedResponses/{sid}", response_model=CannedOut)
async def update_canned(
    workspace_sid: str,
    sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
    form: Annotated[CannedForm, Depends(form_of(CannedForm))],
) -> CannedOut:
    """Change what is sent (an empty `Shortcut` removes it)."""
    _require_writer(principal)
    async with db.unit() as uow:
        await workspace_access(uow, principal, workspace_sid)
        row = await desk.update_canned(uow, workspace_sid=workspace_sid, sid=sid, fields=form.fields())
    return CannedOut.of(row, settings.base_url)


@router.delete("/Workspaces/{workspace_sid}/CannedResponses/{sid}", status_code=204)
async def delete_canned(workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    _require_writer(principal)
    async with db.unit() as uow:
        await workspace_access(uow, principal, workspace_sid)
        await desk.delete_canned(uow, workspace_sid=workspace_sid, sid=sid)
    return Response(status_code=204)


# --- history search ----------------------------------------------------------------------------------


class SnippetOut(BaseModel):
    message_sid: str
    author: str
    body: str | None
    date_created: datetime


class FoundOut(BaseModel):
    conversation_sid: str
    friendly_name: str | None
    customer_name: str | None
    state: str
    date_created: datetime
    date_updated: datetime
    messages: list[SnippetOut]


class SearchResults(BaseModel):
    query: str
    conversations: list[FoundOut]


@router.get("/ConversationSearch", response_model=SearchResults)
async def search_conversations(
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[str, Query(alias="Query", min_length=1, max_length=SEARCH_QUERY_MAX_LENGTH)],
) -> SearchResults:
    """Past conversations whose messages hold every word of `Query` (case and accents aside), newest first, at
    most 20, each with up to 3 matching messages: an admin searches the account, a supervisor its workspace's
    conversations, an agent those it took part in; a customer none."""
    if principal.role is Role.CUSTOMER:
        raise PermissionDenied("History search is for agents and supervisors")
    if principal.is_admin:
        scope = search.Scope()
    elif principal.role is Role.SUPERVISOR:
        scope = search.Scope(workspace_sid=principal.workspace_sid)
    else:
        scope = search.Scope(worker_sid=principal.worker_sid or "", identity=principal.identity)
    async with db.read() as q:
        found = await search.search(q, account_sid=principal.account_sid, query=query, scope=scope)
    return SearchResults(query=query, conversations=[FoundOut.model_validate(f, from_attributes=True) for f in found])
