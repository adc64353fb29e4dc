"""message_terms: one row per distinct word of a message, as its keyed hash under the account's index key."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class MessageTermRow(SQLModel):
    account_sid: str = Field(primary_key=True, foreign_key="accounts.sid", max_length=34)
    term: str = Field(primary_key=True, max_length=64)
    message_sid: str = Field(primary_key=True, foreign_key="messages.sid", max_length=34)
    conversation_sid: str = Field(index=True, max_length=34)


class MessageTerm(MessageTermRow, table=True):
    __tablename__ = "message_terms"
