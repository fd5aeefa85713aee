"""What became of one sample handed to the archive, as a value.

A caller decides on the outcome (stored, refused for good, or refused for a passing reason
of the server's own, so that the sender keeps the sample and sends it again); the reason is
text for people, never matched to tell the outcomes apart.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Outcome(enum.Enum):
    STORED = "stored"
    REJECTED = "rejected"  # sending it again cannot help
    RETRY_LATER = "retry later"  # the disk is full, other writers keep the file busy


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one sample of a write, and why it was not stored."""

    outcome: Outcome
    reason: str = ""

    @property
    def stored(self) -> bool:
        """Stored, and durable once the write returned."""
        return self.outcome is Outcome.STORED

    @property
    def retry(self) -> bool:
        """Refused for a passing reason: the sender should keep it and send it again."""
        return self.outcome is Outcome.RETRY_LATER

    def __str__(self) -> str:
        return self.reason or self.outcome.value


STORED = Verdict(Outcome.STORED)


def rejected(reason: str) -> Verdict:
    return Verdict(Outcome.REJECTED, reason)


def retry_later(reason: str) -> Verdict:
    return Verdict(Outcome.RETRY_LATER, reason)
