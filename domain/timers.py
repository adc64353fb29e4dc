"""Conversation timers: `Timers.Inactive` and `Timers.Closed` are ISO 8601 durations of inactivity (PT1M at
least for inactive, PT10M for closed); their deadlines run from the conversation's last activity."""

from __future__ import annotations

import re
from datetime import timedelta

from domain.errors import InvalidParameter
from domain.limits import MIN_CLOSED_TIMER, MIN_INACTIVE_TIMER

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(value: str, *, name: str) -> timedelta:
    match = _DURATION.match(value.strip().upper())
    if match is None:
        raise InvalidParameter(f"{name} must be an ISO 8601 duration such as PT10M or P1D, got '{value}'")
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    return timedelta(**parts)


def check_timer(value: str | None, *, name: str, minimum: timedelta) -> str | None:
    """A timer as given (normalized upper-case), or None; shorter than `minimum` is a 400."""
    if value is None or value.strip() == "":
        return None
    if parse_duration(value, name=name) < minimum:
        raise InvalidParameter(f"{name} must be at least {_iso(minimum)}, got '{value}'")
    return value.strip().upper()


def inactive_timer(value: str | None) -> str | None:
    return check_timer(value, name="Timers.Inactive", minimum=MIN_INACTIVE_TIMER)


def closed_timer(value: str | None) -> str | None:
    return check_timer(value, name="Timers.Closed", minimum=MIN_CLOSED_TIMER)


def _iso(delta: timedelta) -> str:
    return f"PT{int(delta.total_seconds() // 60)}M"
