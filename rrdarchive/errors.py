"""Errors of the RRD store."""

from __future__ import annotations

from rexmon.errors import RexmonError


class ArchiveError(RexmonError):
    """rrdtool or rrdcached refused an operation on one file."""

    def __init__(self, path: str, command: str, message: str) -> None:
        self.path = path
        self.command = command
        self.message = message
        super().__init__(f"{command} {path}: {message}")
