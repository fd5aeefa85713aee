from __future__ import annotations

from pathlib import Path

import pytest

from alarmd.alarmstate import Severity
from alarmd.credentials import redact, scrub
from alarmd.rules import load_config, parse_config
from alarmd.threshold import parse_condition
from rexmon.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
ENV = {"REXMON_SMTP_PASSWORD": "pw-from-env-123"}

GOOD = """\
receivers:
  oncall:
    - mailto://alarms:${SMTP_PASSWORD}@example.org?to=oncall@example.org
  chat: json://127.0.0.1:9/hook
rules:
  - name: disk
    match: host.*.disk.*.used_ratio
    warning: "> 0.85"
    critical: "> 0.95"
    clear: {warning: "< 0.8"}
    for: 5m
    repeat: 12h
    receivers: [oncall, chat]
    labels: {team: ops}
"""


def config_error(text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, environ if environ is not None else {"SMTP_PASSWORD": "x"}, "a.yaml")
    return str(info.value)


def test_the_example_rules_file_loads_and_validates() -> None:
    config = load_config(ROOT / "etc" / "alarms.yaml", ENV)
    names = [rule.name for rule in config.rules]
    assert names == ["disk-full", "host-cpu-iowait", "host-load", "demo-temperature"]
    disk = config.rules[0]
    assert disk.matches("host.node01.disk.root.used_ratio")
    assert not disk.matches("host.node01.disk.root.free_bytes")
    assert disk.hold == 300 and disk.repeat == 12 * 3600
    assert config.receivers["mail-relay"].urls[0].startswith("mailto://alarms:pw-from-env-123@")
    assert "pw-from-env-123" not in repr(config)


def test_a_rule_is_parsed_once_into_value_objects() -> None:
    config = parse_config(GOOD, {"SMTP_PASSWORD": "hunter22"}, "a.yaml")
    [rule] = config.rules
    assert rule.warning == parse_condition("> 0.85")
    assert rule.clear_warning == parse_condition("< 0.8")
    assert rule.clear_critical is None
    levels = rule.levels()
    assert [severity for severity, _, _ in levels] == [Severity.CRITICAL, Severity.WARNING]
    assert levels[0][2] == parse_condition("> 0.95").negation()
    assert rule.labels == (("team", "ops"),)
    assert rule.receivers == ("oncall", "chat")
    assert config.receivers["chat"].urls == ("json://127.0.0.1:9/hook",)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('critical: "> 0.95"', "critical: high"), "a.yaml:9: rules[0].critical: expected a cond"),
        (
            ('critical: "> 0.95"', "critical: 10:20"),
            "a.yaml:9: rules[0].critical: write conditions",
        ),
        (("for: 5m", "for: soon"), "a.yaml:11: rules[0].for: expected a duration"),
        (("repeat: 12h", "repeat: 0s"), "a.yaml:12: rules[0].repeat: expected a duration longer"),
        (("match: host.*", "match: host/*"), "a.yaml:7: rules[0].match: metric glob"),
        (("[oncall, chat]", "[oncall, pager]"), "a.yaml:13: rules[0].receivers[1]: unknown rece"),
        (("labels:", "colour: red\n    labels:"), "a.yaml:14: rules[0].colour: unknown key"),
        (("clear: {warning", "clear: {critical: '< 1', warning"), ""),
        (("json://127.0.0.1:9/hook", "nosuch://x/"), "a.yaml:4: receivers.chat: not a URL apprise"),
    ],
)
def test_config_errors_name_the_file_line_and_key(edit: tuple[str, str], message: str) -> None:
    text = GOOD.replace(*edit)
    assert text != GOOD
    if not message:
        parse_config(text, {"SMTP_PASSWORD": "x"}, "a.yaml")
        return
    assert config_error(text).startswith(message)


def test_a_rule_needs_a_condition_and_unique_names() -> None:
    text = "rules:\n  - name: r\n    match: a.*\n"
    assert config_error(text) == (
        "a.yaml:2: rules[0]: a rule needs a 'warning' or a 'critical' condition (or both)"
    )
    rule = '  - name: r\n    match: a.*\n    warning: "> 1"\n'
    assert "duplicate rule name 'r'" in config_error("rules:\n" + rule + rule)


def test_a_missing_secret_names_the_variable_but_shows_no_url() -> None:
    message = config_error(GOOD, {})
    assert message.startswith("a.yaml:3: receivers.oncall[0]: ${SMTP_PASSWORD} is not set")
    assert "mailto" not in message


def test_secrets_come_from_a_file_only_the_daemon_can_read(tmp_path: Path) -> None:
    secrets = tmp_path / "alarmd.secrets"
    secrets.write_text("# smtp\nSMTP_PASSWORD = from-file-pw\n")
    secrets.chmod(0o600)
    rules = tmp_path / "alarms.yaml"
    rules.write_text("secrets_file: alarmd.secrets\n" + GOOD)
    config = load_config(rules, {"SMTP_PASSWORD": "from-env"})
    assert "from-file-pw@" in config.receivers["oncall"].urls[0]
    assert "from-file-pw" in config.secrets()
    assert all("from-file-pw" not in shown for shown in config.receivers["oncall"].shown)


def test_a_secrets_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    secrets = tmp_path / "alarmd.secrets"
    secrets.write_text("SMTP_PASSWORD=x\n")
    secrets.chmod(0o644)
    rules = tmp_path / "alarms.yaml"
    rules.write_text("secrets_file: alarmd.secrets\n" + GOOD)
    with pytest.raises(ConfigError, match=r"readable or writable by group/others \(mode 0644\)"):
        load_config(rules, {})


def test_a_malformed_secrets_file_names_its_line(tmp_path: Path) -> None:
    secrets = tmp_path / "s"
    secrets.write_text("A=1\nnot a pair\n")
    secrets.chmod(0o600)
    rules = tmp_path / "alarms.yaml"
    rules.write_text("secrets_file: s\n" + GOOD)
    with pytest.raises(ConfigError, match=r"s:2: expected a line NAME=VALUE"):
        load_config(rules, {})


def test_a_rule_may_name_an_apprise_url_directly() -> None:
    text = GOOD.replace("[oncall, chat]", "[oncall, 'json://127.0.0.1:9/direct']")
    config = parse_config(text, {"SMTP_PASSWORD": "x"}, "a.yaml")
    assert config.rules[0].receivers == ("oncall", "disk[1]")
    assert config.receivers["disk[1]"].urls == ("json://127.0.0.1:9/direct",)


def test_redact_masks_passwords_and_tokens_whatever_the_service() -> None:
    assert (
        redact("json://bob:hunter22@127.0.0.1:8080/path") == "json://bob:****@127.0.0.1:8080/path"
    )
    assert "AAHsecrettoken" not in redact("tgram://123456789:AAHsecrettoken/12345")
    assert redact("nosuch://bob:hunter22@h/") == "nosuch://***"
    assert redact("not a url") == "***"
    assert scrub("login hunter22 failed for x", {"hunter22", "x"}) == "login *** failed for x"


def test_rules_load_for_display_without_the_secrets(tmp_path: Path) -> None:
    from alarmd.rules import load_rules_without_secrets

    secrets = tmp_path / "secrets.env"
    secrets.write_text("SMTP_PASSWORD=hunter22\n")
    secrets.chmod(0o000)
    rules = tmp_path / "alarms.yaml"
    rules.write_text(
        "secrets_file: secrets.env\n"
        "receivers:\n  oncall: ['mailto://ops:${SMTP_PASSWORD}@mail.example.org']\n"
        "rules:\n  - name: disk\n    match: host.*.disk.*\n    critical: '> 0.9'\n"
        "    receivers: [oncall]\n"
    )
    config = load_rules_without_secrets(rules)
    assert [rule.name for rule in config.rules] == ["disk"]
    assert "hunter22" not in repr(config)
