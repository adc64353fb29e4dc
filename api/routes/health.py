"""GET /healthz: 200 once both Postgres and Temporal answer, 503 (with Retry-After) otherwise, the body saying
which does not (for make dev, orchestrators and load balancers; docs/operations.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import DbDep, TemporalDep
from domain.limits import DEPENDENCY_RETRY_AFTER, HEALTH_CHECK_TIMEOUT

router = APIRouter(tags=["Health"])


@router.get(
    "/healthz",
    responses={
        503: {
            "description": "PostgreSQL or Temporal does not answer; the body says which, `Retry-After` when to ask "
            "again.",
            "content": {"application/json": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}},
        }
    },
)
async def healthz(db: DbDep, temporal: TemporalDep) -> Any:
    postgres, temporal_server = await asyncio.gather(_check(db.ping()), _check(temporal.service_client.check_health()))
    checks = {"postgres": postgres, "temporal": temporal_server}
    if all(v == "ok" for v in checks.values()):
        return JSONResponse({"status": "ok", **checks})
    return JSONResponse(
        {"status": "unavailable", **checks}, status_code=503, headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER)}
    )


async def _check(probe: Awaitable[object]) -> str:
    """ "ok", or what went wrong: both dependencies are asked at once, each for at most HEALTH_CHECK_TIMEOUT."""
    try:
        async with asyncio.timeout(HEALTH_CHECK_TIMEOUT):
            await probe
    except TimeoutError:
        return f"error: no answer within {HEALTH_CHECK_TIMEOUT:g} s"
    except Exception as exc:
        return f"error: {exc or type(exc).__name__}"
    return "ok"
