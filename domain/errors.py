"""Parley's error hierarchy. Each error knows its Twilio error code and HTTP status; the API maps it once."""

from __future__ import annotations

from domain.limits import DEPENDENCY_RETRY_AFTER


class ParleyError(Exception):
    code: int = 20001
    status: int = 400

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class InvalidParameter(ParleyError):
    """Bad input: a missing, malformed or out-of-range parameter."""

    code = 20001
    status = 400


class AuthenticationFailed(ParleyError):
    code = 20003
    status = 401


class PermissionDenied(ParleyError):
    code = 20003
    status = 403


class NotFound(ParleyError):
    code = 20404
    status = 404

    @classmethod
    def resource(cls, path: str) -> NotFound:
        """Twilio's 20404 for a resource path such as `/Workspaces/WS…/Tasks/WT…`."""
        return cls(f"The requested resource {path} was not found")


class Conflict(ParleyError):
    """The request is valid but the resource's current state forbids it (e.g. accepting a timed-out reservation)."""

    code = 20409
    status = 409


class ServiceUnavailable(ParleyError):
    """Parley cannot serve the request now (Twilio's 20503); retrying after `retry_after` seconds may work."""

    code = 20503
    status = 503
    retry_after: int | None = None


class DependencyUnavailable(ServiceUnavailable):
    """A service Parley depends on (`postgres`, `temporal`) does not answer, or not in time: nothing was done, and
    the client is told when to retry (a 503 with Retry-After; api/errors.py)."""

    def __init__(self, dependency: str, message: str, *, retry_after: int = DEPENDENCY_RETRY_AFTER) -> None:
        super().__init__(message)
        self.dependency = dependency
        self.retry_after = retry_after


class RoutingConfigurationError(InvalidParameter):
    """Routing cannot proceed because of how it is configured (an address naming a workspace that does not exist
    or belongs to another account, a missing task channel or workflow). Retrying does not help: activities raise
    it as a non-retryable error and the channel or task is left in a visible failed state."""

    code = 20001
    status = 400
