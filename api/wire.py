"""Twilio wire conventions for input: PascalCase form and query parameters, each failure a 400 that names it."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from starlette.datastructures import FormData, QueryParams

from domain.errors import InvalidParameter
from domain.sids import SidPrefix, is_sid

E = TypeVar("E", bound=StrEnum)
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class Params:
    """Typed access to form or query parameters; every failure is a 400 that names the parameter."""

    def __init__(self, source: FormData | QueryParams | Mapping[str, Any]) -> None:
        self._source = source

    def has(self, name: builtins.str) -> bool:
        return name in self._source

    def _raw(self, name: builtins.str) -> builtins.str | None:
        value = self._source.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise InvalidParameter(f"Parameter '{name}' must be a string")
        return value

    def str(
        self, name: builtins.str, *, required: builtins.bool = False, max_length: builtins.int | None = None
    ) -> builtins.str | None:
        value = self._raw(name)
        if value is None or (required and value.strip() == ""):
            if required:
                raise InvalidParameter(f"Missing required parameter {name} in the post body")
            return None
        if max_length is not None and len(value) > max_length:
            raise InvalidParameter(f"Parameter '{name}' must be at most {max_length} characters")
        return value

    def required_str(self, name: builtins.str, *, max_length: builtins.int | None = None) -> builtins.str:
        value = self.str(name, required=True, max_length=max_length)
        assert value is not None
        return value

    def list(self, name: builtins.str) -> list[builtins.str]:
        getlist = getattr(self._source, "getlist", None)
        values = list(getlist(name)) if getlist else ([self._source[name]] if name in self._source else [])
        out: list[builtins.str] = []
        for v in values:
            out.extend(part.strip() for part in str(v).split(",") if part.strip())
        return out

    def bool(self, name: builtins.str) -> builtins.bool | None:
        value = self._raw(name)
        if value is None:
            return None
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InvalidParameter(f"Parameter '{name}' must be true or false, got '{value}'")

    def int(
        self, name: builtins.str, *, minimum: builtins.int | None = None, maximum: builtins.int | None = None
    ) -> builtins.int | None:
        value = self._raw(name)
        if value is None:
            return None
        try:
            number = int(value.strip())
        except ValueError:
            raise InvalidParameter(f"Parameter '{name}' must be an integer, got '{value}'") from None
        if minimum is not None and number < minimum:
            raise InvalidParameter(f"Parameter '{name}' must be at least {minimum}")
        if maximum is not None and number > maximum:
            raise InvalidParameter(f"Parameter '{name}' must be at most {maximum}")
        return number

    def enum(self, name: builtins.str, enum: type[E]) -> E | None:
        value = self._raw(name)
        if value is None:
            return None
        for member in enum:
            if member.value.lower() == value.strip().lower():
                return member
        allowed = ", ".join(m.value for m in enum)
        raise InvalidParameter(f"Parameter '{name}' must be one of {allowed}; got '{value}'")

    def sid(self, name: builtins.str, prefix: SidPrefix, *, required: builtins.bool = False) -> builtins.str | None:
        value = self.str(name, required=required)
        if value is None:
            return None
        if not is_sid(value, prefix):
            raise InvalidParameter(f"Parameter '{name}' must be a {prefix.value} SID, got '{value}'")
        return value

    def json_object(self, name: builtins.str, *, max_length: builtins.int | None = None) -> builtins.str | None:
        """A JSON object sent as a string (Attributes); returned re-serialized only if valid."""
        value = self.str(name, max_length=max_length)
        if value is None:
            return None
        return ensure_json_object(value, name)

    def json_value(self, name: builtins.str, *, required: builtins.bool = False) -> Any:
        value = self.str(name, required=required)
        if value is None:
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidParameter(f"Parameter '{name}' is not valid JSON: {exc.msg} at position {exc.pos}") from None


def ensure_json_object(value: str, name: str) -> str:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidParameter(f"Parameter '{name}' is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(parsed, dict):
        raise InvalidParameter(f"Parameter '{name}' must be a JSON object")
    return value
