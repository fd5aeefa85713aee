"""Errors of the RRD store, and what rrdtool's and rrdcached's refusals mean.

Both tell why they refused an operation in a message only; :func:`read_failure` reads it
once, where the refusal arrives, into a :class:`Failure` that the writer decides on.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from rexmon.errors import RexmonError

_LAST_UPDATE = re.compile(r"last update time is (\d+)")


class ArchiveError(RexmonError):
    """rrdtool or rrdcached refused an operation on one file."""

    def __init__(self, path: str, command: str, message: str) -> None:
        self.path = path
        self.command = command
        self.message = message
        super().__init__(f"{command} {path}: {message}")


class Cause(enum.Enum):
    """Why rrdtool or rrdcached refused to update or read a file."""

    BEHIND = "behind"  # the file's last update is at or after a time sent
    MISSING = "missing"  # no such file
    LOCKED = "locked"  # another process holds the file
    NO_SPACE = "no space"  # the disk is full
    OTHER = "other"

    @property
    def passing(self) -> bool:
        """Whether the same update may succeed later without any change."""
        return self in (Cause.LOCKED, Cause.NO_SPACE)


@dataclass(frozen=True)
class Failure:
    """A refusal read: its cause, rrdtool's message, and (BEHIND) the file's last update."""

    cause: Cause
    message: str
    last_update: int = 0


def read_failure(message: str) -> Failure:
    """The failure rrdtool's (or rrdcached's) ``message`` reports."""
    behind = _LAST_UPDATE.search(message)
    if behind is not None:
        return Failure(Cause.BEHIND, message, int(behind.group(1)))
    if "No such file" in message:
        return Failure(Cause.MISSING, message)
    if "could not lock" in message:
        return Failure(Cause.LOCKED, message)
    if "No space left" in message:
        return Failure(Cause.NO_SPACE, message)
    return Failure(Cause.OTHER, message)
