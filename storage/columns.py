"""Column helpers shared by every table: SIDs, account ownership, enums, JSONB and timestamps."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import AutoString, Field


def sid_pk() -> Any:
    return Field(primary_key=True, max_length=34)


def account_fk() -> Any:
    return Field(foreign_key="accounts.sid", index=True, max_length=34)


def created_at() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def updated_at() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def jsonb(default: str = "'{}'::jsonb", nullable: bool = False) -> Any:
    return Field(
        default=None,
        sa_column=Column(JSONB, nullable=nullable, server_default=text(default) if not nullable else None),
    )


def tstz(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


def default(value: bool | int | str, **kwargs: Any) -> Any:
    """A column default that exists in the database too, since most writes are plain SQL."""
    if isinstance(value, bool):
        server = text("true" if value else "false")
    elif isinstance(value, int):
        server = text(str(value))
    else:
        server = text("'" + value.replace("'", "''") + "'")
    return Field(default=value, sa_column_kwargs={"server_default": server}, **kwargs)


def enum_column(value: StrEnum, *, max_length: int = 16) -> Any:
    """An enum column stored as its wire value (a short string, not a database enum type), with a default."""
    return Field(
        default=value,
        sa_type=AutoString(length=max_length),
        sa_column_kwargs={"server_default": text(f"'{value.value}'"), "nullable": False},
    )


def enum_column_required(*, max_length: int = 16, nullable: bool = False) -> Any:
    """An enum column without a default."""
    return Field(default=None if nullable else ..., sa_type=AutoString(length=max_length), nullable=nullable)
