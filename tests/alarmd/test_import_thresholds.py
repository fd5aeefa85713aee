"""``rexmon-alarmd import-thresholds``: the plugins' perfdata thresholds become rules that
load as they are, one per metric pattern unless hosts were tuned differently."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from alarmd.cli import main
from alarmd.rules import parse_config
from alarmd.statestore import AlarmStore
from rexmon.checkresult import CheckResult, CheckState, PerfDatum
from rexmon.database import open_database
from rexmon.thresholds import Limits, parse_range
from tests.fixtures_server import write_server_config

NOW = 1_780_000_000


def load_check(host: str, warn: str, crit: str) -> CheckResult:
    def item(label: str) -> PerfDatum:
        limits = Limits(parse_range(warn), parse_range(crit), 0.0)
        return PerfDatum(label, f"host.{host}.load.{label}", 0.4, "", limits)

    return CheckResult(
        f"host.{host}.load", NOW, CheckState.OK, "LOAD OK", "", (item("load1"), item("load5"))
    )


def test_imported_thresholds_are_rules_that_load_and_keep_each_hosts_tuning(
    tmp_path: Path,
) -> None:
    config = write_server_config(tmp_path, "token")
    store = AlarmStore(open_database(f"sqlite:///{tmp_path / 'rexmon.db'}"))
    store.migrate()
    results = [load_check(f"n{i:02d}", "15", "30") for i in range(1, 4)]
    results.append(load_check("bignode", "60", "120"))
    untuned = CheckResult(
        "host.n01.ping",
        NOW,
        CheckState.OK,
        "PING OK",
        "",
        (PerfDatum("rta", "host.n01.ping.rta", 0.001),),
    )
    store.checks.submit([*results, untuned], NOW)
    store.engine.dispose()

    output = tmp_path / "imported.yaml"
    done = CliRunner().invoke(
        main,
        [
            "--config",
            str(config),
            "import-thresholds",
            "--receiver",
            "oncall",
            "--output",
            str(output),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "8 rules from the perfdata of 5 checks" in done.stderr
    rules = {rule["match"]: rule for rule in yaml.safe_load(output.read_text())["rules"]}
    # bignode was tuned apart: a host.*.load.load1 rule would alarm it at 15, so every
    # metric of that pattern gets its own rule
    assert set(rules) == {
        f"host.{host}.load.{label}"
        for host in ("n01", "n02", "n03", "bignode")
        for label in ("load1", "load5")
    }
    assert rules["host.bignode.load.load1"]["critical"] == "120"
    assert rules["host.n02.load.load5"]["warning"] == "15"

    text = "receivers:\n  oncall: json://127.0.0.1:9/\n" + output.read_text()
    loaded = parse_config(text, {}, "alarms.yaml")
    assert len(loaded.rules) == len(rules)
    assert all(rule.receivers == ("oncall",) for rule in loaded.rules)


def test_one_rule_per_pattern_when_every_host_has_the_same_thresholds(tmp_path: Path) -> None:
    config = write_server_config(tmp_path, "token")
    store = AlarmStore(open_database(f"sqlite:///{tmp_path / 'rexmon.db'}"))
    store.migrate()
    store.checks.submit([load_check(f"n{i:02d}", "15", "~:30") for i in range(1, 50)], NOW)
    store.engine.dispose()
    done = CliRunner().invoke(main, ["--config", str(config), "import-thresholds"])
    assert done.exit_code == 0, done.output
    rules = yaml.safe_load(done.stdout)["rules"]
    assert [(r["match"], r["warning"], r["critical"]) for r in rules] == [
        ("host.*.load.load1", "15", "~:30"),
        ("host.*.load.load5", "15", "~:30"),
    ]
    assert rules[0]["name"] == "plugin.host.any.load.load1"
    assert "from check host.n01.load and 48 more" in rules[0]["description"]


def test_a_bad_scope_is_refused_before_the_database_is_read(tmp_path: Path) -> None:
    config = write_server_config(tmp_path, "token")
    done = CliRunner().invoke(main, ["--config", str(config), "import-thresholds", "--scope", "a["])
    assert done.exit_code == 2 and "--scope" in done.output
