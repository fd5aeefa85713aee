"""The wire form of one refused sample: what the ingest answer lists, and slurpers read.

The server lists each sample of a batch it did not store with its position in the batch,
its metric id (as sent, None if there was none), the reason, the 1-based line number for
plaintext bodies, and ``retry`` when the reason passes (the server's disk is full, a file
busy): then the sender keeps the sample and sends it again later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_REASON = 300  # characters of a rejection's reason in the answer


@dataclass(frozen=True)
class Rejection:
    """One refused sample of a batch."""

    index: int
    metric: str | None
    error: str
    line: int | None = None
    retry: bool = False  # refused for a passing reason of the server's: send it again later

    def to_json(self) -> dict[str, Any]:
        error = self.error if len(self.error) <= MAX_REASON else self.error[:MAX_REASON] + "..."
        data: dict[str, Any] = {"index": self.index, "metric": self.metric, "error": error}
        if self.line is not None:
            data["line"] = self.line
        if self.retry:
            data["retry"] = True
        return data

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> Rejection:
        """A rejection read from an answer; raises KeyError, TypeError or ValueError."""
        metric = item.get("metric")
        line = item.get("line")
        return cls(
            int(item["index"]),
            None if metric is None else str(metric),
            str(item["error"]),
            line if type(line) is int else None,
            item.get("retry") is True,
        )
