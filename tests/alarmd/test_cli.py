from __future__ import annotations

import subprocess
from pathlib import Path

from click.testing import CliRunner

from alarmd.cli import main

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Very-s3cret-smtp-pw"


def test_check_config_summarises_the_example_rules_with_redacted_urls() -> None:
    result = CliRunner().invoke(
        main,
        ["check-config", "--rules", str(ROOT / "etc" / "alarms.yaml")],
        env={"REXMON_SMTP_PASSWORD": SECRET},
    )
    assert result.exit_code == 0, result.output
    assert "OK, 4 rules, 3 receivers" in result.output
    assert "rule disk-full: host.*.disk.*.used_ratio" in result.output
    assert "mailto://localhost/oncall%40example.org" in result.output
    assert "  warning: > 0.85   clear: < 0.8" in result.output
    assert "for 5m; repeat 12h; receivers oncall, ops-chat" in result.output
    assert "mailto://alarms:****@mail.example.org" in result.output
    assert SECRET not in result.output


def test_the_shipped_rules_pass_as_shipped_with_a_warning_for_the_unused_secret() -> None:
    result = CliRunner().invoke(
        main, ["check-config", "--rules", str(ROOT / "etc" / "alarms.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "OK, 4 rules, 2 receivers" in result.stdout
    assert "warning: " in result.stderr and "${REXMON_SMTP_PASSWORD} is not set" in result.stderr
    assert "no rule uses receiver 'mail-relay'" in result.stderr


def test_an_unset_secret_in_a_receiver_a_rule_uses_is_an_error(tmp_path: Path) -> None:
    rules = tmp_path / "alarms.yaml"
    rules.write_text(
        "receivers:\n  mail: mailto://a:${NOPE}@example.org?to=x@example.org\n"
        "rules:\n  - {name: r, match: a.*, critical: '> 1', receivers: [mail]}\n"
    )
    result = CliRunner().invoke(main, ["check-config", "--rules", str(rules)])
    assert result.exit_code == 1
    assert f"{rules}:2: receivers.mail: ${{NOPE}} is not set" in result.output


def test_check_config_reports_errors_with_file_and_line_and_exit_code_1(tmp_path: Path) -> None:
    rules = tmp_path / "alarms.yaml"
    rules.write_text(
        "receivers:\n  x: json://127.0.0.1:9/\nrules:\n  - name: r\n    match: a.*\n"
        "    critical: high\n"
    )
    result = CliRunner().invoke(main, ["check-config", "--rules", str(rules)])
    assert result.exit_code == 1
    assert f"Error: {rules}:6: rules[0].critical: expected a condition like '> 90'" in result.output
    assert "Traceback" not in result.output


def test_check_config_never_prints_a_password_in_an_error(tmp_path: Path) -> None:
    rules = tmp_path / "alarms.yaml"
    rules.write_text(f"receivers:\n  x: nosuchservice://bob:{SECRET}@h/\nrules: []\n")
    result = CliRunner().invoke(main, ["check-config", "--rules", str(rules)])
    assert result.exit_code == 1
    assert "not a URL apprise can send to: nosuchservice://***" in result.output
    assert SECRET not in result.output


def test_check_config_never_prints_passwords_of_json_or_mail_urls(tmp_path: Path) -> None:
    rules = tmp_path / "alarms.yaml"
    rules.write_text(
        "receivers:\n"
        f"  hook: json://bob:{SECRET}@127.0.0.1:9/\n"
        "  mail: mailto://alarms:${PW}@example.org?to=oncall@example.org\n"
        "rules:\n"
        "  - name: r\n    match: a.*\n    critical: '> 1'\n    receivers: [hook, mail]\n"
    )
    result = CliRunner().invoke(
        main, ["check-config", "--rules", str(rules)], env={"PW": SECRET + "2"}
    )
    assert result.exit_code == 0, result.output
    assert "json://bob:****@127.0.0.1:9/" in result.output
    assert "mailto://alarms:****@example.org" in result.output
    assert SECRET not in result.output


def test_a_rule_glob_that_can_never_match_a_metric_is_an_error_naming_its_line(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "alarms.yaml"
    rules.write_text("rules:\n  - name: r\n    match: host..cpu\n    critical: '> 1'\n")
    result = CliRunner().invoke(main, ["check-config", "--rules", str(rules)])
    assert result.exit_code == 1
    assert f"{rules}:3: rules[0].match: metric glob 'host..cpu' can never match" in result.output


def test_a_rule_glob_that_matches_no_metric_in_the_archive_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "rrd" / "host" / "n1").mkdir(parents=True)
    subprocess.run(
        [
            "rrdtool",
            "create",
            str(tmp_path / "rrd/host/n1/load.rrd"),
            "DS:value:GAUGE:120:U:U",
            "RRA:AVERAGE:0.5:1:10",
        ],
        check=True,
    )
    (tmp_path / "alarms.yaml").write_text(
        "rules:\n  - {name: load, match: 'host.*.load', critical: '> 9'}\n"
        "  - {name: typo, match: 'hots.*.load', critical: '> 9'}\n"
    )
    config = tmp_path / "rexmon.yaml"
    (tmp_path / "archive.yaml").write_text(
        "schemas:\n  - {match: '*', step: 1m, retention: '1m:1d'}\n"
    )
    config.write_text("archive:\n  root: rrd\nalarmd:\n  rules: alarms.yaml\n")
    result = CliRunner().invoke(main, ["--config", str(config), "check-config"])
    assert result.exit_code == 0, result.output
    assert "rule 'typo': match 'hots.*.load' matches no metric in" in result.stderr
    assert "rule 'load'" not in result.stderr
