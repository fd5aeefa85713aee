"""Evaluating rules that read check results (see :mod:`alarmd.checkrules`): a check
rule's observation from the stored check, a ``from-plugin`` rule made concrete with the
thresholds the plugin sent for one metric."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from alarmd.alarmstate import Severity
from alarmd.checkrules import CHECK_STEP, plugin_condition
from alarmd.checkstore import StoredCheck
from alarmd.evaluate import Observation, evaluate
from alarmd.rules import Rule
from rexmon.thresholds import Limits


def observe_check(rule: Rule, name: str, check: StoredCheck | None, now: float) -> Observation:
    """What check ``name``'s newest result says under ``rule`` (stale when it is older than
    the rule's ``nodata``, three plugin intervals by default)."""
    points = [] if check is None else [(float(check.result.time), float(check.state.rank))]
    observation = evaluate(rule, name, points, now, CHECK_STEP)
    if check is None or observation.stale:
        return observation
    return dataclasses.replace(observation, detail=f"{check.state.name}: {check.result.output}")


def with_plugin_limits(rule: Rule, limits: Limits | None) -> Rule:
    """``rule`` with its ``from-plugin`` levels set from ``limits`` (a level the plugin
    gave no range for checks nothing)."""
    if not rule.from_plugin:
        return rule
    limits = limits or Limits()
    warning, critical = rule.warning, rule.critical
    if Severity.WARNING in rule.from_plugin:
        warning = plugin_condition(limits.warn)
    if Severity.CRITICAL in rule.from_plugin:
        critical = plugin_condition(limits.crit)
    return dataclasses.replace(rule, warning=warning, critical=critical)


def plugin_limits(checks: Iterable[StoredCheck]) -> dict[str, Limits]:
    """metric id -> the limits its check's newest result sent with it."""
    return {
        item.metric: item.limits
        for check in checks
        for item in check.result.perfdata
        if item.metric is not None and item.limits
    }
