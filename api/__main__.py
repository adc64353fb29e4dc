"""`python -m api`: serve Parley's api with uvicorn on PARLEY_HOST:PARLEY_PORT."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from core.logging import configure_logging
from core.settings import get_settings
from domain.limits import HTTP_KEEP_ALIVE


def main() -> None:
    configure_logging()
    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # Longer than clients keep an idle connection (httpx and twilio-python's requests: 5 s or less): with
        # uvicorn's own 5 s, the server could close a connection just as a client reused it (a reset POST).
        timeout_keep_alive=HTTP_KEEP_ALIVE,
    )


if __name__ == "__main__":
    main()
