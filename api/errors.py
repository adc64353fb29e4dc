"""Maps Parley's errors (and FastAPI's) to Twilio error bodies, once, at the edge."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import AuthenticationFailed, ParleyError

log = logging.getLogger(__name__)


def error_body(code: int, message: str, status: int) -> dict[str, object]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def twilio_error(code: int, message: str, status: int) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="Parley"'} if status == 401 else None
    return JSONResponse(error_body(code, message, status), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ParleyError)
    async def _parley(_: Request, exc: ParleyError) -> JSONResponse:
        # Rich domain errors (expression syntax, workflow configuration) carry position/path in str().
        message = getattr(exc, "headline", None) or str(exc) or exc.message
        if isinstance(exc, AuthenticationFailed):
            return twilio_error(exc.code, message, 401)
        return twilio_error(exc.code, message, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return twilio_error(20001, f"Invalid request: {where}: {first.get('msg')}", 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return twilio_error(20404, f"The requested resource {request.url.path} was not found", 404)
        if exc.status_code == 405:
            return twilio_error(20004, f"Method {request.method} not allowed on {request.url.path}", 405)
        return twilio_error(20001 if exc.status_code < 500 else 20500, str(exc.detail), exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return twilio_error(20500, "An internal server error occurred", 500)
