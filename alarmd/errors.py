"""Errors of the alarm daemon; every one derives from :class:`AlarmdError`."""

from __future__ import annotations

from rexmon.errors import RexmonError


class AlarmdError(RexmonError):
    """Base of the errors alarmd raises on purpose."""


class NotAcknowledgeable(AlarmdError):
    """An acknowledgement was asked for an alarm that is not a problem."""
