"""The example configurations in etc/examples/ load, run, and say what the docs show."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rexmon.checkresult import CheckState, check_from_json
from rexmon.sample import DsType
from slurpers.config import load_config
from slurpers.registry import standard_registry
from slurpers.runner import collect, run_instance

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "etc" / "examples"
DOCS = [REPO / "docs" / "munin.md", REPO / "docs" / "slurpers.md"]
MARKED = re.compile(r"<!-- example: (\S+) -->\n```yaml\n(.*?)```", re.DOTALL)
NAGIOS = Path("/usr/lib/nagios/plugins")
MUNIN = Path("/etc/munin/plugins")


def documented_examples() -> list[tuple[str, str]]:
    return [match.groups() for doc in DOCS for match in MARKED.finditer(doc.read_text())]


def test_every_example_shown_in_the_docs_is_in_its_file_and_the_file_loads() -> None:
    examples = documented_examples()
    assert {path for path, _ in examples} == {
        "etc/examples/munin.yaml",
        "etc/examples/nagios-checks.yaml",
    }
    for path, block in examples:
        text = (REPO / path).read_text()
        assert block in text, f"{path} no longer holds what the docs show"
        config = load_config(REPO / path, standard_registry())
        assert config.instances


def test_the_documented_check_result_is_what_the_example_plugin_gives() -> None:
    doc = (REPO / "docs" / "slurpers.md").read_text()
    shown = re.search(r"<!-- check result of: queue -->\n```json\n(.*?)```", doc, re.DOTALL)
    assert shown is not None
    config = load_config(EXAMPLES / "nagios-checks.yaml", standard_registry())
    out = io.StringIO()
    summary = run_instance(
        config, config.instances["queue"], dry_run=True, out=out, clock=lambda: 1_700_000_000
    )
    assert summary.problems == []
    [line] = [line for line in out.getvalue().splitlines() if line.startswith("check ")]
    assert json.loads(line[len("check ") :]) == json.loads(shown.group(1))


@pytest.mark.skipif(not (NAGIOS / "check_disk").exists(), reason="monitoring-plugins-basic")
@pytest.mark.parametrize("name", ["load", "rootfs"])
def test_the_nagios_example_instances_give_check_results(name: str) -> None:
    config = load_config(EXAMPLES / "nagios-checks.yaml", standard_registry())
    result = collect(config.instances[name], config.hostname, 1_700_000_000)
    assert result.run.problems == []
    [check] = result.checks
    assert check.check == f"host.node01_example_org.{name}"
    assert check.state in (CheckState.OK, CheckState.WARNING, CheckState.CRITICAL)
    assert all(p.limits.warn is not None and p.limits.crit is not None for p in check.perfdata)
    assert check_from_json(check.to_json()) == check


def test_the_munin_example_runs_the_installed_plugins(tmp_path: Path) -> None:
    config = load_config(EXAMPLES / "munin.yaml", standard_registry())
    instance = config.instances["munin"]
    missing = [p.name for p in instance.options.plugins if not p.path.exists()]
    if missing:
        pytest.skip(f"munin-node has not linked {missing} in {MUNIN} on this machine")
    options = dataclasses.replace(instance.options, state_dir=tmp_path / "munin")
    instance = dataclasses.replace(instance, options=options)
    result = collect(instance, config.hostname, 1_700_000_000)
    assert result.run.problems == []
    types = {s.metric: s.type for s in result.samples}
    assert types["munin.node01_example_org.load.load"] is DsType.GAUGE
    assert types["munin.node01_example_org.cpu.user"] is DsType.DERIVE
    [df] = result.checks
    assert df.check == "munin.node01_example_org.df"
    assert {p.limits.warn.to_text() for p in df.perfdata if p.limits.warn} == {"~:90"}
    assert (tmp_path / "munin" / "config" / "df.json").exists()


def test_the_documented_dry_run_command_prints_the_check_result() -> None:
    command = [
        str(Path(sys.executable).parent / "rexmon-slurp"),
        "queue",
        "--dry-run",
        "--config",
        "etc/examples/nagios-checks.yaml",
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("host.node01_example_org.queue.state 1 ")
    assert lines[-1].startswith('check {"check": "host.node01_example_org.queue"')
    assert "checks=1" in done.stderr
