"""Alarm rules and receivers (``etc/alarms.yaml``), parsed and validated once at start-up.

See ``docs/alarmd.md`` for the file format. Every error names file, line and key, e.g.
``etc/alarms.yaml:14: rules[2].critical: expected a condition like '> 90', got 'high'``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alarmd.alarmstate import Severity
from alarmd.checkrules import FROM_PLUGIN, state_conditions
from alarmd.credentials import (
    lookup_chain,
    read_secrets_file,
)
from alarmd.receivers import Receiver, UnsetSecret, parse_receiver
from alarmd.threshold import Condition, parse_condition
from rexmon.errors import ConfigError
from rexmon.metric import glob_matcher, validate_metric_glob
from rexmon.timespec import parse_duration
from rexmon.yamlconf import Node, load_yaml, parse_yaml

NODATA_STEPS = 3
DEFAULT_BASE_URL = "http://localhost:8080"
_RULE_KEYS = frozenset(
    {
        "name",
        "match",
        "warning",
        "critical",
        "clear",
        "for",
        "nodata",
        "repeat",
        "receivers",
        "labels",
        "flapping",
        "description",
        "check",
        "state",
    }
)
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")


@dataclass(frozen=True)
class FlapPolicy:
    """An alarm whose level changed ``changes`` times within ``window`` is flapping."""

    changes: int = 6
    window: int = 1800


@dataclass(frozen=True)
class Rule:
    """One alarm rule; ``warning``/``critical`` fire, ``clear_*`` (if set) clear."""

    name: str
    match: str
    warning: Condition | None = None
    critical: Condition | None = None
    clear_warning: Condition | None = None
    clear_critical: Condition | None = None
    hold: int = 0
    nodata: int | None = None
    repeat: int | None = None
    receivers: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    flapping: FlapPolicy = FlapPolicy()
    description: str = ""
    check: bool = False  # ``match`` is a glob over check names: alarm on their state
    from_plugin: tuple[Severity, ...] = ()  # levels whose thresholds the plugin sends
    matcher: Callable[[str], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.warning is None and self.critical is None and not self.from_plugin:
            raise ValueError(f"rule {self.name!r} needs a warning or a critical condition")
        object.__setattr__(self, "matcher", glob_matcher(self.match))

    def matches(self, metric: str) -> bool:
        return self.matcher(metric)

    def levels(self) -> tuple[tuple[Severity, Condition, Condition], ...]:
        """(severity, firing condition, clear condition), most severe first."""
        found = []
        if self.critical is not None:
            found.append(
                (Severity.CRITICAL, self.critical, self.clear_critical or self.critical.negation())
            )
        if self.warning is not None:
            found.append(
                (Severity.WARNING, self.warning, self.clear_warning or self.warning.negation())
            )
        return tuple(found)

    def nodata_after(self, step: int) -> int:
        """Seconds without data before the alarm goes STALE (default: a few steps)."""
        return self.nodata if self.nodata is not None else NODATA_STEPS * step

    def lookback(self, step: int) -> int:
        """How many seconds of history :func:`alarmd.evaluate.evaluate` needs."""
        windows = [
            cond.function.window for _, fire, clear in self.levels() for cond in (fire, clear)
        ]
        return max(windows + [0]) + self.nodata_after(step) + step


@dataclass(frozen=True)
class AlarmConfig:
    """Everything ``etc/alarms.yaml`` says."""

    rules: tuple[Rule, ...]
    receivers: Mapping[str, Receiver]
    base_url: str = DEFAULT_BASE_URL
    source: str = ""
    warnings: tuple[str, ...] = ()  # e.g. an unset secret in a receiver no rule uses

    def secrets(self) -> frozenset[str]:
        return frozenset().union(*(receiver.secrets for receiver in self.receivers.values()))


def load_config(path: Path | str, environ: Mapping[str, str]) -> AlarmConfig:
    """Load and validate an alarms file; ``${VAR}`` are looked up in ``environ``."""
    return _config(load_yaml(path), Path(path).parent, environ)


def load_rules_without_secrets(path: Path | str) -> AlarmConfig:
    """The rules for display (thresholds on graphs): the secrets file is not read and every
    ``${VAR}`` stays masked, so a process that never notifies needs no access to them."""
    return _config(load_yaml(path), Path(path).parent, _Masked(), read_secrets=False)


class _Masked(Mapping[str, str]):
    """Answers every variable name with a mask."""

    def __getitem__(self, name: str) -> str:
        return "********"

    def __contains__(self, name: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def parse_config(text: str, environ: Mapping[str, str], source: str = "<string>") -> AlarmConfig:
    """Like :func:`load_config` for YAML text (a relative secrets file is taken from '.')."""
    return _config(parse_yaml(text, source), Path("."), environ)


def _config(
    root: Node, base: Path, environ: Mapping[str, str], *, read_secrets: bool = True
) -> AlarmConfig:
    root.mapping({"rules", "receivers", "secrets_file", "base_url"}, required=("rules",))
    secrets: dict[str, str] = {}
    if (node := root.get("secrets_file")) is not None and read_secrets:
        secrets = read_secrets_file(base / node.as_str())
    receivers: dict[str, Receiver] = {}
    unset: dict[str, ConfigError] = {}  # receivers whose URL names an unset secret
    lookup = lookup_chain(secrets, environ) if read_secrets else environ
    if (node := root.get("receivers")) is not None:
        for name, child in node.items():
            if not _NAME.match(name):
                raise child.error("receiver names are letters, digits, '_', '-' and '.'")
            try:
                receivers[name] = parse_receiver(name, child, lookup)
            except UnsetSecret as exc:
                unset[name] = exc.error
                receivers[name] = Receiver(name, (), (), frozenset())
    rules: list[Rule] = []
    for node in root["rules"].as_list():
        rule = _rule(node, receivers, lookup)
        if any(other.name == rule.name for other in rules):
            raise node["name"].error(f"duplicate rule name {rule.name!r}")
        for name in rule.receivers:
            if name in unset:
                raise unset[name]
        rules.append(rule)
    warnings = tuple(f"{error}; no rule uses receiver {name!r}" for name, error in unset.items())
    for name in unset:
        del receivers[name]
    base_url = DEFAULT_BASE_URL
    if (node := root.get("base_url")) is not None:
        base_url = node.as_str().rstrip("/")
        if not re.match(r"https?://[^/\s]+", base_url):
            raise node.error(f"expected an http:// or https:// URL, got {base_url!r}")
    return AlarmConfig(tuple(rules), receivers, base_url, root.source, warnings)


def _rule(node: Node, receivers: dict[str, Receiver], lookup: Mapping[str, str]) -> Rule:
    node.mapping(_RULE_KEYS, required=("name",))
    name = node["name"].as_str()
    if not _NAME.match(name):
        raise node["name"].error("rule names are letters, digits, '_', '-' and '.'")
    if node.has("check") == node.has("match"):
        raise node.error("a rule needs either 'match' (metrics) or 'check' (check results)")
    if node.has("check"):
        return _check_rule(node, name, receivers, lookup)
    if node.has("state"):
        raise node["state"].error("'state' is for check rules ('check: GLOB')")
    match = node["match"].parse(validate_metric_glob)
    warning = _condition(node.get("warning"))
    critical = _condition(node.get("critical"))
    from_plugin = tuple(
        severity
        for severity in (Severity.CRITICAL, Severity.WARNING)
        if _is_from_plugin(node.get(severity.value))
    )
    if warning is None and critical is None and not from_plugin:
        raise node.error("a rule needs a 'warning' or a 'critical' condition (or both)")
    clear_warning = clear_critical = None
    if (clear := node.get("clear")) is not None:
        if isinstance(clear.value, dict):
            clear.mapping({"warning", "critical"})
            clear_warning = _condition(clear.get("warning"))
            clear_critical = _condition(clear.get("critical"))
            if clear_warning is not None and warning is None:
                raise clear["warning"].error("there is no warning condition to clear")
            if clear_critical is not None and critical is None:
                raise clear["critical"].error("there is no critical condition to clear")
        elif warning is not None:
            clear_warning = _condition(clear)
        else:
            clear_critical = _condition(clear)
    return Rule(
        name=name,
        match=match,
        warning=warning,
        critical=critical,
        clear_warning=clear_warning,
        clear_critical=clear_critical,
        from_plugin=from_plugin,
        **_settings(node, name, receivers, lookup),
    )


def _settings(
    node: Node, name: str, receivers: dict[str, Receiver], lookup: Mapping[str, str]
) -> dict[str, Any]:
    """What threshold and check rules share: timing, receivers, labels, flapping."""
    labels: list[tuple[str, str]] = []
    if (labels_node := node.get("labels")) is not None:
        labels = [(key, value.as_str()) for key, value in labels_node.items()]
    flapping = FlapPolicy()
    if (flap := node.get("flapping")) is not None:
        flap.mapping({"changes", "window"})
        flapping = FlapPolicy(
            flap["changes"].as_int(low=2) if flap.has("changes") else flapping.changes,
            flap["window"].parse(_positive) if flap.has("window") else flapping.window,
        )
    return {
        "hold": _duration(node.get("for")) or 0,
        "nodata": _duration(node.get("nodata"), positive=True),
        "repeat": _duration(node.get("repeat"), positive=True),
        "receivers": _targets(node.get("receivers"), name, receivers, lookup),
        "labels": tuple(labels),
        "flapping": flapping,
        "description": node["description"].as_str() if node.has("description") else "",
    }


def _check_rule(
    node: Node, name: str, receivers: dict[str, Receiver], lookup: Mapping[str, str]
) -> Rule:
    """A rule on check states (:mod:`alarmd.checkrules`); it takes no conditions."""
    for key in ("warning", "critical", "clear"):
        if node.has(key):
            raise node[key].error(
                f"a check rule alarms on the check's state: use 'state: warning|unknown|"
                f"critical' instead of {key!r}"
            )
    state = node["state"] if node.has("state") else None
    warning, critical = state.parse(state_conditions) if state else state_conditions("warning")
    return Rule(
        name=name,
        match=node["check"].parse(validate_metric_glob),
        warning=warning,
        critical=critical,
        check=True,
        **_settings(node, name, receivers, lookup),
    )


def _is_from_plugin(node: Node | None) -> bool:
    return node is not None and node.value == FROM_PLUGIN


def _targets(
    node: Node | None, rule: str, receivers: dict[str, Receiver], lookup: Mapping[str, str]
) -> tuple[str, ...]:
    """Receiver names; an apprise URL written in the rule becomes a receiver of its own."""
    if node is None:
        return ()
    names: list[str] = []
    for index, item in enumerate(node.as_list() if isinstance(node.value, list) else [node]):
        text = item.as_str()
        if "://" in text:
            text = f"{rule}[{index}]"
            try:
                receivers[text] = parse_receiver(text, item, lookup)
            except UnsetSecret as exc:
                raise exc.error from None
        elif text not in receivers:
            known = ", ".join(sorted(receivers)) or "none defined"
            raise item.error(f"unknown receiver {text!r} (known: {known})")
        names.append(text)
    return tuple(names)


def _condition(node: Node | None) -> Condition | None:
    if node is None or _is_from_plugin(node):
        return None
    if not isinstance(node.value, str):
        raise node.error(
            f'write conditions as quoted strings such as "> 90" or "10:20", got'
            f" {node.value!r} (YAML reads an unquoted 10:20 as the number 620)"
        )
    return node.parse(parse_condition)


def _duration(node: Node | None, positive: bool = False) -> int | None:
    if node is None:
        return None
    return node.parse(_positive if positive else parse_duration)


def _positive(text: str) -> int:
    seconds = parse_duration(text)
    if seconds <= 0:
        raise ValueError(f"expected a duration longer than 0s, got {text!r}")
    return seconds


__all__ = ["AlarmConfig", "ConfigError", "FlapPolicy", "Receiver", "Rule", "load_config"]
