"""``command``: run a program with a timeout and read Nagios plugin or ``key value`` output.

``format: nagios`` (default) sends ``<prefix>.state`` (0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN) and one metric per perfdata label in base units (see ``slurpers.nagios``).
``format: lines`` reads ``key value`` lines; a dotted key gives several components.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from rexmon.errors import InvalidMetricName, InvalidSample
from rexmon.sample import DsType, Sample
from rexmon.yamlconf import Node
from slurpers.nagios import parse_lines, parse_perfdata, split_output, state_of
from slurpers.source import COMMON_KEYS, Run, Source, timeout_option

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


def nagios_samples(run: Run, exit_status: int, output: str) -> Iterator[Sample]:
    """Samples from one plugin run; unreadable perfdata items become problems."""
    if state_of(exit_status) != exit_status:
        run.problem("command", f"exit status {exit_status} is not a plugin state: UNKNOWN")
    yield run.sample(("state",), state_of(exit_status))
    _text, perf = split_output(output)
    values, errors = parse_perfdata(perf)
    for message in errors:
        run.problem("perfdata", message)
    for item in values:
        kind = DsType.COUNTER if item.counter else DsType.GAUGE
        try:
            yield run.sample((item.name,), item.value, kind)
        except (InvalidMetricName, InvalidSample) as exc:
            run.problem(f"perfdata {item.label!r}", exc)


def line_samples(run: Run, output: str) -> Iterator[Sample]:
    values, errors = parse_lines(output)
    for message in errors:
        run.problem("output", message)
    for key, value in values:
        try:
            yield run.sample(tuple(key.split(".")), value)
        except (InvalidMetricName, InvalidSample) as exc:
            run.problem(f"key {key!r}", exc)


def collect(options: CommandOptions, run: Run) -> Iterator[Sample]:
    try:
        done = subprocess.run(
            options.command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=options.timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        run.problem("command", f"{options.command[0]} timed out after {options.timeout:g}s")
        return
    except OSError as exc:
        run.problem("command", f"cannot run {options.command[0]}: {exc.strerror or exc}")
        return
    if options.format == "nagios":
        yield from nagios_samples(run, done.returncode, done.stdout)
        return
    if done.returncode != 0:
        run.problem("command", f"{options.command[0]} exited with status {done.returncode}")
    yield from line_samples(run, done.stdout)


SOURCE = Source(
    name="command",
    description="run a command: Nagios plugin output (state + perfdata) or 'key value' lines",
    parse_options=parse_options,
    collect=collect,
    default_prefix="host.{host}.{instance}",
)
