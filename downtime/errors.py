"""Errors of the downtime store; every one is a :class:`rexmon.errors.RexmonError`."""

from __future__ import annotations

from rexmon.errors import RexmonError


class DowntimeError(RexmonError):
    """Base of every error the downtime package raises on purpose."""


class InvalidDowntime(DowntimeError, ValueError):
    """A downtime (or a change to one) that cannot be stored; ``field`` names the input."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class DowntimeNotFound(DowntimeError, LookupError):
    """No downtime with this id."""

    def __init__(self, downtime_id: int) -> None:
        self.downtime_id = downtime_id
        super().__init__(f"no downtime with id {downtime_id}")


class ScopeRefused(DowntimeError, PermissionError):
    """The actor may not file or change a downtime with this scope."""

    def __init__(self, actor: str, scope: str, reason: str) -> None:
        self.actor = actor
        self.scope = scope
        self.reason = reason
        super().__init__(f"{actor} may not use scope {scope!r}: {reason}")
