"""Parse batch-system listings into counts (pure functions, tested on captured output).

Slurm: ``squeue -h -o '%T %u %a'`` (state, user, account per job) and
``sinfo -h -o '%T %D'`` (node state, node count). HTCondor:
``condor_q -allusers -af JobStatus Owner AcctGroup`` and ``condor_status -af State Activity``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

SLURM_JOB_STATES = ("pending", "running", "suspended", "completing", "configuring")
CONDOR_JOB_STATES = {
    "1": "idle",
    "2": "running",
    "3": "removed",
    "4": "completed",
    "5": "held",
    "6": "transferring_output",
    "7": "suspended",
}
NODE_STATE_FLAGS = "*~#!%$@^-+"


@dataclass
class JobCounts:
    """Jobs per state, per (user, state) and per (group, state); lines that did not parse."""

    states: Counter[str] = field(default_factory=Counter)
    by_user: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_group: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def add(self, state: str, user: str, group: str) -> None:
        self.states[state] += 1
        self.by_user[(user, state)] += 1
        if group and group.lower() not in ("undefined", "(null)"):
            self.by_group[(group, state)] += 1


def parse_squeue(output: str) -> JobCounts:
    counts = JobCounts()
    for number, line in enumerate(output.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) not in (2, 3):
            counts.errors.append(f"squeue line {number}: expected 'STATE USER ACCOUNT'")
            continue
        counts.add(fields[0].lower(), fields[1], fields[2] if len(fields) == 3 else "")
    return counts


def parse_condor_q(output: str) -> JobCounts:
    counts = JobCounts()
    for number, line in enumerate(output.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) not in (2, 3) or fields[0] not in CONDOR_JOB_STATES:
            counts.errors.append(f"condor_q line {number}: expected 'JobStatus Owner AcctGroup'")
            continue
        group = fields[2] if len(fields) == 3 else ""
        counts.add(CONDOR_JOB_STATES[fields[0]], fields[1], group)
    return counts


def parse_sinfo(output: str) -> tuple[Counter[str], list[str]]:
    """Nodes per state; flags such as ``down*`` or ``idle~`` are folded into the state."""
    nodes: Counter[str] = Counter()
    errors: list[str] = []
    for number, line in enumerate(output.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or not fields[1].isdigit():
            errors.append(f"sinfo line {number}: expected 'STATE COUNT'")
            continue
        nodes[fields[0].rstrip(NODE_STATE_FLAGS).lower()] += int(fields[1])
    return nodes, errors


def parse_condor_status(output: str) -> tuple[Counter[str], list[str]]:
    """Slots per ``state_activity`` such as ``claimed_busy`` or ``unclaimed_idle``."""
    slots: Counter[str] = Counter()
    errors: list[str] = []
    for number, line in enumerate(output.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            errors.append(f"condor_status line {number}: expected 'State Activity'")
            continue
        slots[f"{fields[0]}_{fields[1]}".lower()] += 1
    return slots, errors
