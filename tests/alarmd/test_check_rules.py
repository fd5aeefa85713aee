"""Rules on check results: a Nagios check's own state alarms (``check:`` + ``state:``), and
threshold rules may take the plugin's own thresholds (``critical: from-plugin``) -- with
``for``, downtimes and notifications as for every rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alarmd.alarmstate import AlarmState, Severity
from alarmd.rules import parse_config
from rexmon.checkresult import CheckResult, CheckState, PerfDatum
from rexmon.errors import ConfigError
from rexmon.thresholds import Limits, parse_range
from tests.alarmd.daemon_env import Environment, Inbox, inbox

__all__ = ["inbox"]  # fixtures

CHECK = "host.n01.rootfs"
RULES = """
receivers:
  oncall: json://127.0.0.1:{port}/
rules:
  - name: plugin-state
    check: host.*.rootfs
    receivers: [oncall]
  - name: disk-critical-only
    check: host.*.rootfs
    state: critical
    for: 2m
    receivers: [oncall]
  - name: disk-used
    match: host.*.rootfs.used
    critical: from-plugin
    warning: from-plugin
    receivers: [oncall]
"""


@pytest.fixture
def env(tmp_path: Path, inbox: Inbox) -> Iterator[Environment]:
    environment = Environment(tmp_path, inbox, RULES)
    yield environment
    environment.close()


def report(env: Environment, state: CheckState, text: str = "", **limits: str) -> None:
    """The plugin's result now, as POST /api/v1/checks stores it."""
    perfdata = ()
    if limits:
        ranges = Limits(
            *(parse_range(limits[k]) if k in limits else None for k in ("warn", "crit"))
        )
        perfdata = (PerfDatum("used", f"{CHECK}.used", 0.5, "", ranges),)
    result = CheckResult(
        CHECK, int(env.clock.now), state, text or f"DISK {state.name}", "", perfdata
    )
    env.store.checks.submit([result], env.clock.now)


def test_a_check_going_warning_then_critical_then_ok_is_told_with_the_plugins_text(
    env: Environment,
) -> None:
    report(env, CheckState.OK)
    env.step(None)
    report(env, CheckState.WARNING, "DISK WARNING - free space: / 812 MB (9%)")
    env.step(None)
    assert env.inbox.titles == ["[rexmon] WARNING FIRING: plugin-state on host.n01.rootfs"]
    assert (
        "check: WARNING: DISK WARNING - free space: / 812 MB (9%)" in env.inbox.bodies[0]["message"]
    )
    report(env, CheckState.CRITICAL)
    env.step(None)
    assert env.inbox.titles[-1] == "[rexmon] CRITICAL ESCALATED: plugin-state on host.n01.rootfs"
    report(env, CheckState.OK)
    env.run(None, None)
    assert env.inbox.titles[-1] == "[rexmon] RESOLVED: plugin-state on host.n01.rootfs"
    assert "check: OK: DISK OK" in env.inbox.bodies[-1]["message"]
    assert "http://localhost:8080/checks/host.n01.rootfs" in env.inbox.bodies[-1]["message"]


def test_state_critical_ignores_warnings_and_for_waits_before_firing(env: Environment) -> None:
    report(env, CheckState.WARNING)
    env.step(None)
    record = env.store.record("disk-critical-only", CHECK)
    assert record is not None and record.state is AlarmState.OK
    report(env, CheckState.CRITICAL)
    env.step(None)
    record = env.store.record("disk-critical-only", CHECK)
    assert record is not None and record.state is AlarmState.PENDING
    env.run(None, None)
    record = env.store.record("disk-critical-only", CHECK)
    assert record is not None and (record.state, record.severity) == (
        AlarmState.FIRING,
        Severity.CRITICAL,
    )


def test_an_unknown_state_fires_as_a_warning_and_a_silent_check_goes_stale(
    env: Environment,
) -> None:
    report(env, CheckState.UNKNOWN, "UNKNOWN - cannot stat /")
    env.step(None)
    record = env.store.record("plugin-state", CHECK)
    assert record is not None and record.severity is Severity.WARNING
    env.run(*[None] * 15)  # no result for 16 minutes: more than 3 plugin intervals
    record = env.store.record("plugin-state", CHECK)
    assert record is not None and record.state is AlarmState.STALE


def test_a_planned_downtime_over_the_check_silences_it(env: Environment) -> None:
    env.downtime(env.clock.now, env.clock.now + 3600, scope="host.n01.*")
    report(env, CheckState.CRITICAL)
    env.run(None, None, None, None)
    record = env.store.record("plugin-state", CHECK)
    assert record is not None and record.shown_state is AlarmState.SILENCED
    assert env.inbox.bodies == []


def test_from_plugin_takes_the_thresholds_the_plugin_sent_with_the_metric(
    env: Environment,
) -> None:
    env.step(0.95, f"{CHECK}.used")  # samples, no plugin thresholds yet: nothing to check
    record = env.store.record("disk-used", f"{CHECK}.used")
    assert record is not None and record.state is AlarmState.OK
    report(env, CheckState.OK, warn="~:0.8", crit="~:0.9")
    env.step(0.85, f"{CHECK}.used")
    record = env.store.record("disk-used", f"{CHECK}.used")
    assert record is not None and record.severity is Severity.WARNING
    env.step(0.95, f"{CHECK}.used")
    record = env.store.record("disk-used", f"{CHECK}.used")
    assert record is not None and record.severity is Severity.CRITICAL
    assert "critical: ~:0.9" in env.inbox.bodies[-1]["message"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{name: r, check: 'h.*', match: 'h.*', state: warning}", "either 'match'"),
        ("{name: r}", "either 'match'"),
        ("{name: r, check: 'h.*', state: red}", "expected one of warning, unknown, critical"),
        ("{name: r, check: 'h.*', critical: '> 1'}", "use 'state: warning|unknown|critical'"),
        ("{name: r, match: 'h.*', state: critical}", "'state' is for check rules"),
        ("{name: r, check: 'h.[', state: critical}", "h.["),
    ],
)
def test_a_bad_check_rule_is_refused_with_its_line(rule: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"rules:\n  - {rule}\n", {}, "alarms.yaml")
    assert "alarms.yaml:2" in str(caught.value) and message in str(caught.value)
