"""GET /healthz: 200 once both Postgres and Temporal answer, 503 otherwise (for make dev and orchestrators)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import DbDep, TemporalDep

router = APIRouter(tags=["Health"])


@router.get(
    "/healthz",
    responses={
        503: {
            "description": "PostgreSQL or Temporal does not answer; the body says which.",
            "content": {"application/json": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}},
        }
    },
)
async def healthz(db: DbDep, temporal: TemporalDep) -> Any:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(3):
            await db.ping()
        checks["postgres"] = "ok"
    except Exception as exc:
        checks["postgres"] = f"error: {exc}"
    try:
        async with asyncio.timeout(3):
            await temporal.service_client.check_health()
        checks["temporal"] = "ok"
    except Exception as exc:
        checks["temporal"] = f"error: {exc}"
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if healthy else "unavailable", **checks}, status_code=200 if healthy else 503)
