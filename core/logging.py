"""Structured-enough logging setup shared by the api and worker processes."""

from __future__ import annotations

import logging
import os


def configure_logging() -> None:
    level = os.environ.get("PARLEY_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("temporalio").setLevel(max(logging.getLevelName(level), logging.WARNING))
