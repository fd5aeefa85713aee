"""The errors of rexmon-carbon."""

from __future__ import annotations

from rexmon.errors import RexmonError


class CarbonError(RexmonError):
    """Base of the receiver's errors; the CLI turns them into a message and exit 1."""


class ListenError(CarbonError):
    """The listening socket cannot be opened (address in use, no permission)."""
