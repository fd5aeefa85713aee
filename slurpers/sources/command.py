"""``command``: run a program with a timeout and read Nagios plugin or ``key value`` output.

``format: nagios`` (default) sends ``<prefix>.state`` (0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN) and one metric per perfdata label in base units (see ``slurpers.nagios``),
and a check result named ``<prefix>``: the state, the first line and the long output
(bounded), and each perfdata item with its thresholds, min and max.
``format: lines`` reads ``key value`` lines; a dotted key gives several components.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from rexmon.checkresult import (
    MAX_LONG_OUTPUT_BYTES,
    MAX_OUTPUT_BYTES,
    MAX_PERFDATA,
    CheckResult,
    CheckState,
    PerfDatum,
    bounded,
)
from rexmon.errors import InvalidMetricName, InvalidSample
from rexmon.metric import join_metric
from rexmon.sample import DsType, Sample
from rexmon.yamlconf import Node
from slurpers.nagios import PerfValue, parse_lines, parse_perfdata, split_output
from slurpers.program import ProgramFailed, run_program
from slurpers.source import COMMON_KEYS, Collected, Run, Source, timeout_option

KEYS = frozenset({"command", "timeout", "format"})


@dataclass(frozen=True)
class CommandOptions:
    command: tuple[str, ...]
    timeout: float = 30.0
    format: str = "nagios"


def parse_options(node: Node, instance: str) -> CommandOptions:
    node.mapping(COMMON_KEYS | KEYS, required=("command",))
    command_node = node["command"]
    if isinstance(command_node.value, str):
        try:
            argv = tuple(shlex.split(command_node.as_str()))
        except ValueError as exc:
            raise command_node.error(f"cannot split command: {exc}") from None
    else:
        argv = tuple(command_node.as_str_list())
    if not argv:
        raise command_node.error("must not be empty")
    if "/" in argv[0]:  # a bare name is looked up on PATH, a relative path in the file's dir
        argv = (str(command_node.relative_to_file(argv[0])), *argv[1:])
    fmt = node.get("format")
    return CommandOptions(
        command=argv,
        timeout=timeout_option(node, 30.0),
        format="nagios" if fmt is None else fmt.as_choice(("nagios", "lines")),
    )


def nagios_results(run: Run, exit_status: int, output: str) -> Iterator[Collected]:
    """Samples and the check result of one plugin run; unreadable perfdata items become
    problems (the check result still says what the plugin said)."""
    state = CheckState.from_exit_status(exit_status)
    if state.value != exit_status:
        run.problem("command", f"exit status {exit_status} is not a plugin state: UNKNOWN")
    yield run.sample(("state",), state.value)
    parts = split_output(output)
    values, errors = parse_perfdata(parts.perfdata)
    for message in errors:
        run.problem("perfdata", message)
    perfdata: list[PerfDatum] = []
    for item in values:
        kind = DsType.COUNTER if item.counter else DsType.GAUGE
        try:
            sample = run.sample((item.name,), item.value, kind)
        except (InvalidMetricName, InvalidSample) as exc:
            run.problem(f"perfdata {item.label!r}", exc)
            perfdata.append(_perfdatum(item, None))
            continue
        perfdata.append(_perfdatum(item, sample.metric))
        yield sample
    try:
        check = join_metric(*run.prefix)
    except InvalidMetricName as exc:
        run.problem("check", f"no check result: the prefix is no check name ({exc})")
        return
    if len(perfdata) > MAX_PERFDATA:
        run.problem("check", f"{len(perfdata)} perfdata items: only {MAX_PERFDATA} kept")
    yield CheckResult(
        check=check,
        time=run.now,
        state=state,
        output=bounded(parts.text, MAX_OUTPUT_BYTES),
        long_output=bounded(parts.long_text, MAX_LONG_OUTPUT_BYTES),
        perfdata=tuple(perfdata[:MAX_PERFDATA]),
        exit_status=exit_status,
    )


def _perfdatum(item: PerfValue, metric: str | None) -> PerfDatum:
    label = bounded(item.label, 200)
    return PerfDatum(label, metric, item.value, item.uom, item.limits)


def line_samples(run: Run, output: str) -> Iterator[Sample]:
    values, errors = parse_lines(output)
    for message in errors:
        run.problem("output", message)
    for key, value in values:
        try:
            yield run.sample(tuple(key.split(".")), value)
        except (InvalidMetricName, InvalidSample) as exc:
            run.problem(f"key {key!r}", exc)


def collect(options: CommandOptions, run: Run) -> Iterator[Collected]:
    try:
        done = run_program(options.command, timeout=options.timeout)
    except ProgramFailed as exc:
        run.problem("command", exc)
        return
    if options.format == "nagios":
        yield from nagios_results(run, done.returncode, done.stdout)
        return
    if done.returncode != 0:
        run.problem("command", f"{options.command[0]} exited with status {done.returncode}")
    yield from line_samples(run, done.stdout)


SOURCE = Source(
    name="command",
    description="run a command: Nagios plugin output (check result, state, perfdata)"
    " or 'key value' lines",
    parse_options=parse_options,
    collect=collect,
    default_prefix="host.{host}.{instance}",
)
