"""Man pages for rexmon's commands, made from their click definitions, so ``man
rexmon-web`` says what ``rexmon-web --help`` says and the units' ``Documentation=``
points at something installed.

``python -m rexmon.manpages DIR`` writes ``rexmon-*.1`` for every installed rexmon
console script into DIR (e.g. ``/usr/local/share/man/man1``). The commands are found
through the package's entry points, so this module imports none of them itself.
"""

from __future__ import annotations

import sys
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path

import click

from rexmon.commandline import rexmon_version

PREFIX = "rexmon-"
PROJECT = "rexmon"


def commands() -> dict[str, click.Command]:
    """Every installed ``rexmon-*`` console script, by name."""
    found = {}
    for point in entry_points(group="console_scripts"):
        if point.name.startswith(PREFIX):
            command = point.load()
            if isinstance(command, click.Command):
                found[point.name] = command
    return dict(sorted(found.items()))


def roff(text: str) -> str:
    """Text safe in a roff line: backslashes doubled, no line starting with . or '."""
    escaped = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(
        "\\&" + line if line.startswith((".", "'")) else line for line in escaped.splitlines()
    )


def manpage(name: str, command: click.Command) -> str:
    """The man page of one command: synopsis, description, options, subcommands."""
    context = click.Context(command, info_name=name, **command.context_settings)
    summary = command.get_short_help_str(limit=80)
    lines = [
        f'.TH "{name.upper()}" "1" "{date.today():%Y-%m-%d}" "{PROJECT} {rexmon_version()}"'
        f' "{PROJECT} manual"',
        ".SH NAME",
        f"{roff(name)} \\- {roff(summary)}",
        ".SH SYNOPSIS",
        f".B {roff(name)}",
        roff(" ".join(command.collect_usage_pieces(context))),
        ".SH DESCRIPTION",
        roff(command.help or summary),
    ]
    lines += _options(command, context)
    if isinstance(command, click.Group):
        lines.append(".SH COMMANDS")
        for sub_name in command.list_commands(context):
            sub = command.get_command(context, sub_name)
            if sub is None or sub.hidden:
                continue
            sub_context = click.Context(
                sub, info_name=sub_name, parent=context, **sub.context_settings
            )
            lines += [
                f'.SS "{roff(name)} {roff(sub_name)}"',
                roff(" ".join(sub.collect_usage_pieces(sub_context))),
                ".PP",
                roff(sub.help or sub.get_short_help_str()),
            ]
            lines += _options(sub, sub_context, heading=None)
    lines += [
        ".SH SEE ALSO",
        roff(", ".join(f"{other}(1)" for other in commands() if other != name)),
    ]
    return "\n".join(lines) + "\n"


def _options(
    command: click.Command, context: click.Context, heading: str | None = ".SH OPTIONS"
) -> list[str]:
    records = [p.get_help_record(context) for p in command.get_params(context)]
    shown = [record for record in records if record is not None]
    lines = [heading] if heading and shown else []
    for flags, help_text in shown:
        lines += [".TP", f"\\fB{roff(flags)}\\fR", roff(help_text or "")]
    return lines


def write_manpages(directory: Path) -> list[Path]:
    """Write one page per command into ``directory``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, command in commands().items():
        path = directory / f"{name}.1"
        path.write_text(manpage(name, command))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python -m rexmon.manpages DIRECTORY   (e.g. /usr/local/share/man/man1)")
        return 0 if args and args[0] in ("-h", "--help") else 2
    for path in write_manpages(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
