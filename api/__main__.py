"""`python -m api`: serve Parley's api with uvicorn on PARLEY_HOST:PARLEY_PORT (and, when PARLEY_METRICS_PORT is
set, /metrics on that second port of the same server: docs/observability.md)."""

from __future__ import annotations

import logging
import socket
import sys

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from api.app import create_app
from core.logging import configure_logging, log_format
from core.settings import get_settings
from domain.limits import HTTP_KEEP_ALIVE

log = logging.getLogger("parley.api")


def metrics_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    log.info("Prometheus metrics on http://%s:%d/metrics", host, sock.getsockname()[1])
    return sock


def main() -> None:
    configure_logging()
    settings = get_settings()
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        # JSON logs: uvicorn's loggers propagate to the root handler (core/logging.py) instead of its own.
        log_config=None if log_format() == "json" else LOGGING_CONFIG,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # Longer than clients keep an idle connection (httpx and twilio-python's requests: 5 s or less): with
        # uvicorn's own 5 s, the server could close a connection just as a client reused it (a reset POST).
        timeout_keep_alive=HTTP_KEEP_ALIVE,
    )
    server = uvicorn.Server(config)
    # One server, two listening sockets: the app tells them apart by the connection's local port.
    sockets = [config.bind_socket()]
    if settings.metrics_port is not None:
        sockets.append(metrics_socket(settings.host, settings.metrics_port))
    server.run(sockets=sockets)
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE, as uvicorn.run exits


if __name__ == "__main__":
    main()
