"""Errors of the Graphite API: each becomes a 400 whose text says what to change."""

from __future__ import annotations

from rexmon.errors import RexmonError


class GraphiteError(RexmonError, ValueError):
    """A request the Graphite API cannot answer as asked (answered 400)."""


class BadTarget(GraphiteError):
    """A target that does not parse or whose call is wrong; names the position (1-based)."""

    def __init__(self, target: str, position: int, reason: str) -> None:
        self.target = target
        self.position = position
        self.reason = reason
        super().__init__(f"target {target!r}: at position {position}: {reason}")


class TooMuchWork(GraphiteError):
    """A request that would read or compute more than the per-request limits allow."""
