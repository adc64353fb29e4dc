"""Maps Parley's errors (and FastAPI's) to Twilio error bodies, once, at the edge."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import AuthenticationFailed, DependencyUnavailable, NotFound, ParleyError, ServiceUnavailable

log = logging.getLogger(__name__)


def error_body(code: int, message: str, status: int) -> dict[str, object]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def twilio_error(code: int, message: str, status: int, *, retry_after: int | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="Parley"'} if status == 401 else {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(error_body(code, message, status), status_code=status, headers=headers or None)


def validation_message(error: Mapping[str, Any]) -> str:
    """A form or query validation error in the words Twilio uses, naming the parameter."""
    loc = [str(part) for part in error.get("loc", ())]
    where = loc[0] if loc else ""
    name = loc[-1] if len(loc) > 1 else where
    kind, message, ctx = error.get("type", ""), str(error.get("msg", "")), error.get("ctx") or {}
    if kind == "missing":
        return f"Missing required parameter {name} in the {'post body' if where == 'body' else 'query'}"
    if kind == "value_error":
        return f"Parameter '{name}' {message.removeprefix('Value error, ')}"
    if kind == "string_too_long":
        return f"Parameter '{name}' must be at most {ctx.get('max_length')} characters"
    if kind in ("greater_than_equal", "greater_than"):
        return f"Parameter '{name}' must be at least {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"Parameter '{name}' must be at most {ctx.get('le', ctx.get('lt'))}"
    if kind in ("int_parsing", "int_from_float"):
        return f"Parameter '{name}' must be an integer, got '{error.get('input')}'"
    if kind in ("string_type", "bool_parsing", "bool_type"):
        return f"Parameter '{name}' must be a {'string' if kind == 'string_type' else 'boolean'}"
    return f"Parameter '{name}' is invalid: {message}"


def install(app: FastAPI) -> None:
    @app.exception_handler(ParleyError)
    async def _parley(_: Request, exc: ParleyError) -> JSONResponse:
        # Rich domain errors (expression syntax, workflow configuration) carry position/path in str().
        message = getattr(exc, "headline", None) or str(exc) or exc.message
        if isinstance(exc, AuthenticationFailed):
            return twilio_error(exc.code, message, 401)
        if isinstance(exc, DependencyUnavailable):
            # PostgreSQL or Temporal does not answer (storage/db.py): Twilio's 503, and when to try again.
            log.warning("%s unavailable: %s", exc.dependency, exc.message)
        if isinstance(exc, ServiceUnavailable):
            return twilio_error(exc.code, message, exc.status, retry_after=exc.retry_after)
        return twilio_error(exc.code, message, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        return twilio_error(20001, validation_message(errors[0]) if errors else "Invalid request", 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            missing = NotFound.resource(request.url.path)
            return twilio_error(missing.code, missing.message, missing.status)
        if exc.status_code == 405:
            return twilio_error(20004, f"Method {request.method} not allowed on {request.url.path}", 405)
        return twilio_error(20001 if exc.status_code < 500 else 20500, str(exc.detail), exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return twilio_error(20500, "An internal server error occurred", 500)
