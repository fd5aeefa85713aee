"""``man rexmon-web`` works once the pages are made, and every unit's ``Documentation=``
names a page that is made (or one Debian installs)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rexmon.manpages import commands, main

REPO = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPTS = set(re.findall(r"^\s+(rexmon-[a-z]+) =", (REPO / "setup.cfg").read_text(), re.M))
DEBIAN_PAGES = {"rrdcached(1)"}


def test_every_command_gets_a_page_with_its_subcommands_and_options(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0
    assert {path.stem for path in tmp_path.glob("*.1")} == CONSOLE_SCRIPTS
    web = (tmp_path / "rexmon-web.1").read_text()
    for sub in ("check-config", "serve", "token", "demo"):
        assert f'.SS "rexmon\\-web {sub.replace("-", chr(92) + "-")}"' in web
    assert "\\-\\-log\\-format" in web and "\\-h, \\-\\-help" in web
    assert set(commands()) == CONSOLE_SCRIPTS


@pytest.mark.skipif(shutil.which("man") is None, reason="man-db is not installed")
def test_man_renders_each_page_without_warnings(tmp_path: Path) -> None:
    main([str(tmp_path)])
    for page in tmp_path.glob("*.1"):
        shown = subprocess.run(
            ["man", "--warnings", "-l", str(page)],
            capture_output=True,
            text=True,
            env={**os.environ, "MANWIDTH": "80", "MANPAGER": "cat"},
            check=True,
        )
        assert shown.stderr == "", (page.name, shown.stderr)
        assert page.stem.upper() in shown.stdout and "SYNOPSIS" in shown.stdout


def test_each_units_documentation_is_a_page_that_exists(tmp_path: Path) -> None:
    main([str(tmp_path)])
    made = {f"{path.stem}(1)" for path in tmp_path.glob("*.1")}
    for unit in (REPO / "systemd").glob("*.service"):
        lines = unit.read_text().splitlines()
        line = next(text for text in lines if text.startswith("Documentation="))
        pages = re.findall(r"man:(\S+)", line)
        assert pages and set(pages) <= made | DEBIAN_PAGES, unit.name
        assert "file://" not in line, unit.name
