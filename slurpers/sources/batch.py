"""``batch``: job counts by state, user and group, and node/slot states (Slurm or HTCondor).

Metrics under the prefix (default ``batch.{instance}``): ``jobs.<state>`` (every standard
state, zero included), ``users.<user>.<state>``, ``groups.<group>.<state>`` (only the
states seen), and ``nodes.<state>`` (Slurm) or ``slots.<state>_<activity>`` (HTCondor).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from rexmon.errors import InvalidMetricName, InvalidSample
from rexmon.sample import Sample
from rexmon.yamlconf import Node
from slurpers.batchparse import (
    CONDOR_JOB_STATES,
    SLURM_JOB_STATES,
    JobCounts,
    parse_condor_q,
    parse_condor_status,
    parse_sinfo,
    parse_squeue,
)
from slurpers.errors import CollectError
from slurpers.program import run_program
from slurpers.source import COMMON_KEYS, Run, Source, timeout_option

KEYS = frozenset({"scheduler", "timeout", "by"})
COMMANDS = {
    "slurm": (("squeue", "-h", "-o", "%T %u %a"), ("sinfo", "-h", "-o", "%T %D")),
    "htcondor": (
        ("condor_q", "-allusers", "-af", "JobStatus", "Owner", "AcctGroup"),
        ("condor_status", "-af", "State", "Activity"),
    ),
}


@dataclass(frozen=True)
class BatchOptions:
    scheduler: str
    timeout: float = 60.0
    by: tuple[str, ...] = ("user", "group")


def parse_options(node: Node, instance: str) -> BatchOptions:
    node.mapping(COMMON_KEYS | KEYS, required=("scheduler",))
    by = node.get("by")
    by_items = () if by is None else tuple(by.as_str_list())
    for item in by_items:
        if item not in ("user", "group"):
            raise node["by"].error(f"expected user and/or group, got {item!r}")
    return BatchOptions(
        scheduler=node["scheduler"].as_choice(tuple(COMMANDS)),
        timeout=timeout_option(node, 60.0),
        by=("user", "group") if by is None else by_items,
    )


def run_tool(argv: tuple[str, ...], timeout: float) -> str:
    done = run_program(argv, timeout=timeout)  # ProgramFailed is a CollectError
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or [""]
        raise CollectError(f"{argv[0]} exited with status {done.returncode}: {detail[0]}")
    return done.stdout


def job_samples(
    run: Run, counts: JobCounts, states: tuple[str, ...], by: tuple[str, ...]
) -> Iterator[Sample]:
    for message in counts.errors:
        run.problem("jobs", message)
    for state in sorted(set(states) | set(counts.states)):
        yield run.sample(("jobs", state), counts.states[state])
    groups: list[tuple[str, Counter[tuple[str, str]]]] = []
    if "user" in by:
        groups.append(("users", counts.by_user))
    if "group" in by:
        groups.append(("groups", counts.by_group))
    for kind, counter in groups:
        for (owner, state), count in sorted(counter.items()):
            try:
                yield run.sample((kind, owner, state), count)
            except (InvalidMetricName, InvalidSample) as exc:
                run.problem(f"{kind} {owner}", exc)


def node_samples(run: Run, kind: str, counts: Counter[str], errors: list[str]) -> Iterator[Sample]:
    for message in errors:
        run.problem(kind, message)
    for state, count in sorted(counts.items()):
        yield run.sample((kind, state), count)


def collect(options: BatchOptions, run: Run) -> Iterator[Sample]:
    jobs_cmd, nodes_cmd = COMMANDS[options.scheduler]
    slurm = options.scheduler == "slurm"
    try:
        output = run_tool(jobs_cmd, options.timeout)
    except CollectError as exc:
        run.problem("jobs", exc)
    else:
        counts = parse_squeue(output) if slurm else parse_condor_q(output)
        states = SLURM_JOB_STATES if slurm else tuple(CONDOR_JOB_STATES.values())
        yield from job_samples(run, counts, states, options.by)
    try:
        output = run_tool(nodes_cmd, options.timeout)
    except CollectError as exc:
        run.problem("nodes", exc)
    else:
        if slurm:
            yield from node_samples(run, "nodes", *parse_sinfo(output))
        else:
            yield from node_samples(run, "slots", *parse_condor_status(output))


SOURCE = Source(
    name="batch",
    description="job counts by state/user/group and node states from Slurm or HTCondor",
    parse_options=parse_options,
    collect=collect,
    default_prefix="batch.{instance}",
)
