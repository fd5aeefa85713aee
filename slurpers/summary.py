"""What became of one run: counts per kind of item, the flags, the exit code, one line."""

from __future__ import annotations

from dataclasses import dataclass, field

from slurpers.source import Problem

EXIT_OK = 0
EXIT_PARTIAL = 3
EXIT_SPOOLED = 4
EXIT_TOKEN = 5
EXIT_BUSY = 6


@dataclass
class Tally:
    """What became of one kind of item (samples, or check results) in a run."""

    sent: int = 0
    rejected: int = 0
    refused: int = 0
    spooled: int = 0
    dropped: int = 0
    backlog: int = 0


@dataclass
class RunSummary:
    instance: str
    collected: int = 0
    problems: list[Problem] = field(default_factory=list)
    unavailable: bool = False
    token_refused: bool = False
    busy: bool = False
    samples: Tally = field(default_factory=Tally)
    checks: Tally = field(default_factory=Tally)
    checks_collected: int = 0
    checks_unsupported: int = 0  # dropped: the server takes none

    @property
    def sent(self) -> int:
        return self.samples.sent

    @property
    def rejected(self) -> int:
        return self.samples.rejected

    @property
    def refused(self) -> int:
        return self.samples.refused

    @property
    def spooled(self) -> int:
        return self.samples.spooled + self.checks.spooled

    @property
    def dropped(self) -> int:
        return self.samples.dropped

    @property
    def backlog(self) -> int:
        return self.samples.backlog

    @property
    def exit_code(self) -> int:
        if self.token_refused:
            return EXIT_TOKEN
        if self.busy:
            return EXIT_BUSY
        if self.unavailable or self.spooled:
            return EXIT_SPOOLED
        bad = (self.samples, self.checks)
        if self.problems or any(t.rejected or t.refused or t.dropped for t in bad):
            return EXIT_PARTIAL
        return EXIT_OK

    def line(self) -> str:
        text = (
            f"{self.instance}: collected={self.collected} sent={self.sent}"
            f" rejected={self.rejected} refused={self.refused} spooled={self.spooled}"
            f" dropped={self.dropped} backlog={self.backlog} errors={len(self.problems)}"
        )
        if self.checks_collected or self.checks.backlog:
            checks = self.checks
            text += (
                f" checks={self.checks_collected} checks_sent={checks.sent}"
                f" checks_rejected={checks.rejected + checks.refused}"
                f" checks_dropped={checks.dropped + self.checks_unsupported}"
            )
        return text
