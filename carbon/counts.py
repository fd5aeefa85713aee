"""What the receiver did, counted: lines accepted, lines refused by :class:`Reason`,
connections refused or closed; logged every ``log_interval`` and at the end.

The protocol has no answer, so the log is where a sender's mistakes show: each interval
also logs the first few refusals with the source address and the reason in words.
"""

from __future__ import annotations

import enum
import logging
from collections import Counter
from dataclasses import dataclass, field

from carbon.protocol import Reason, Refused

log = logging.getLogger("carbon")
EXAMPLES_PER_INTERVAL = 5


class Closing(enum.Enum):
    """How a connection ended or was turned away."""

    NETWORK = "refused_network"  # the source address is not in carbon.allow
    FULL = "refused_full"  # max_connections were open
    IDLE = "idle_timeout"
    RESET = "reset"  # by the sender (TCP RST)
    CLOSED = "closed"  # by the sender, or at shutdown


@dataclass
class LineCounts:
    """Totals since start and for the current interval."""

    accepted: int = 0
    refused: Counter[Reason] = field(default_factory=Counter)
    connections: Counter[Closing] = field(default_factory=Counter)
    open: int = 0
    _interval_accepted: int = 0
    _interval_refused: Counter[Reason] = field(default_factory=Counter)
    _examples: int = 0

    def accept(self, lines: int) -> None:
        self.accepted += lines
        self._interval_accepted += lines

    def refuse(self, refused: Refused, address: str | None) -> None:
        self.refused[refused.reason] += 1
        self._interval_refused[refused.reason] += 1
        if self._examples < EXAMPLES_PER_INTERVAL:
            self._examples += 1
            log.warning(
                "carbon: refused a line from %s (%s): %s",
                address,
                refused.reason.value,
                refused.detail,
            )

    def close(self, how: Closing) -> None:
        self.connections[how] += 1

    def turn_away(self, how: Closing, address: str | None, why: str) -> None:
        """A connection closed as soon as accepted: counted, and logged within the same
        budget as refused lines (a port scan must not flood the log)."""
        self.close(how)
        if self._examples < EXAMPLES_PER_INTERVAL:
            self._examples += 1
            log.warning("carbon: refused a connection from %s: %s", address, why)

    def quiet(self) -> bool:
        """Nothing accepted or refused in this interval (then nothing is logged)."""
        return not self._interval_accepted and not self._interval_refused and not self._examples

    def report(self, interval: float) -> str:
        """One line for the log: the interval's figures, then the totals; starts a new
        interval."""
        refused = sum(self._interval_refused.values())
        reasons = _listed(self._interval_refused)
        text = (
            f"carbon: last {interval:g}s: {self._interval_accepted} lines accepted,"
            f" {refused} refused{f' ({reasons})' if reasons else ''};"
            f" {self.open} connections open; total {self.accepted} accepted,"
            f" {sum(self.refused.values())} refused"
        )
        turned = {how.value: n for how, n in self.connections.items() if how is not Closing.CLOSED}
        if turned:
            text += "; connections " + ", ".join(f"{k} {v}" for k, v in sorted(turned.items()))
        self._interval_accepted = 0
        self._interval_refused.clear()
        self._examples = 0
        return text

    def totals(self) -> str:
        """The final line: every counter since start, by name (tests read it)."""
        parts = [f"accepted={self.accepted}"]
        named = {**_named(self.refused), **_named(self.connections)}
        parts += [f"{name}={n}" for name, n in sorted(named.items())]
        return "carbon: totals " + " ".join(parts)


def _named(counter: Counter[Reason] | Counter[Closing]) -> dict[str, int]:
    return {key.value: n for key, n in counter.items() if n}


def _listed(counter: Counter[Reason]) -> str:
    return ", ".join(f"{reason.value} {n}" for reason, n in counter.most_common())
