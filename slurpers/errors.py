"""Errors of the slurpers: collection problems, push failures and the spool."""

from __future__ import annotations

from typing import Any

from rexmon.errors import RexmonError


class SlurperError(RexmonError):
    """Base of every error the slurpers raise on purpose."""


class CollectError(SlurperError):
    """One part of a source (a disk, a URL, a command) could not be read."""


class PushError(SlurperError):
    """The server did not take a batch; subclasses say whether retrying can help."""


class ServerUnavailable(PushError):
    """Connection error, timeout or 5xx: keep the batch in the spool and try next run."""

    def __init__(self, message: str, *, unsent: list[Any] | None = None) -> None:
        super().__init__(message)
        self.unsent = unsent


class TokenRefused(PushError):
    """401/403 or an unreadable token file: an operator must fix the token."""


class BatchRefused(PushError):
    """400 (or 413 for a single sample): the server will never take this batch."""


class ChecksUnsupported(PushError):
    """404 from ``/api/v1/checks``: an older server; check results are dropped, not kept."""


class SpoolBusy(SlurperError):
    """Another run of the same instance holds the spool lock."""
