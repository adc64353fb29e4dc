"""Logging setup shared by the api and worker processes, including redaction of secrets in access logs."""

from __future__ import annotations

import logging
import os
import re

_TOKEN_IN_QUERY = re.compile(r"(?i)\b(token|access_token)=[^&\s\"]+")


class RedactTokens(logging.Filter):
    """Browsers pass access tokens in the WebSocket URL; never write them to a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1=[redacted]", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_QUERY.sub(r"\1=[redacted]", record.msg)
        return True


def configure_logging() -> None:
    level = os.environ.get("PARLEY_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("temporalio").setLevel(max(logging.getLevelName(level), logging.WARNING))
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(RedactTokens())
