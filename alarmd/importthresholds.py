"""``rexmon-alarmd import-thresholds``: the thresholds the site's plugins already send,
written out as alarm rules to review and keep.

Every perfdata item with a warning or critical range (as the latest check results carry
them) becomes a rule on its metric. Metrics that differ only in the host component and
share the same ranges become one rule (``host.*.load.load1``); where hosts were tuned
differently, each metric gets its own rule, so nothing a site tuned is averaged away.
The alternative that needs no file is ``critical: from-plugin`` (:mod:`alarmd.checkrules`).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from alarmd.checkstore import StoredCheck
from rexmon.thresholds import Limits

MAX_NAME = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")

Ranges = tuple[str | None, str | None]  # warn, crit as Nagios range text


def threshold_rules(checks: Iterable[StoredCheck]) -> list[dict[str, Any]]:
    """Alarm rules (as YAML-ready dicts) for the perfdata thresholds of ``checks``."""
    found: dict[str, tuple[Ranges, str]] = {}  # metric -> its ranges, the check that sent it
    for check in checks:
        for item in check.result.perfdata:
            if item.metric is not None and (item.limits.warn or item.limits.crit):
                found[item.metric] = (_ranges(item.limits), check.name)
    by_pattern: dict[str, dict[Ranges, list[str]]] = defaultdict(lambda: defaultdict(list))
    for metric, (ranges, _) in found.items():
        by_pattern[_any_host(metric)][ranges].append(metric)
    rules = []
    for pattern, variants in sorted(by_pattern.items()):
        if len(variants) == 1:
            [(ranges, metrics)] = variants.items()
            checks_named = sorted({found[m][1] for m in metrics})
            rules.append(_rule(pattern, ranges, checks_named))
        else:
            for ranges, metrics in variants.items():
                rules.extend(_rule(m, ranges, [found[m][1]]) for m in sorted(metrics))
    return sorted(rules, key=lambda rule: rule["name"])


def rules_yaml(rules: Sequence[dict[str, Any]], receivers: Sequence[str]) -> str:
    """The rules as an ``alarms.yaml`` ``rules:`` list, each sent to ``receivers``."""
    shown = [{**rule, "receivers": list(receivers)} if receivers else rule for rule in rules]
    header = (
        "# Alarm rules from the thresholds the plugins send (rexmon-alarmd import-thresholds).\n"
        "# Review them, add receivers, and merge them into the rules of your alarms.yaml.\n"
    )
    return header + yaml.safe_dump({"rules": shown}, sort_keys=False, allow_unicode=True)


def _ranges(limits: Limits) -> Ranges:
    return (
        None if limits.warn is None else limits.warn.to_text(),
        None if limits.crit is None else limits.crit.to_text(),
    )


def _any_host(metric: str) -> str:
    """``host.node01.load.load1`` -> ``host.*.load.load1`` (the host is the second part)."""
    parts = metric.split(".")
    return ".".join([parts[0], "*", *parts[2:]]) if len(parts) >= 3 else metric


def _rule(match: str, ranges: Ranges, checks: list[str]) -> dict[str, Any]:
    rule: dict[str, Any] = {"name": _name(match), "match": match}
    warn, crit = ranges
    if warn is not None:
        rule["warning"] = warn
    if crit is not None:
        rule["critical"] = crit
    more = f" and {len(checks) - 1} more" if len(checks) > 1 else ""
    rule["description"] = f"the plugin's thresholds, from check {checks[0]}{more}"
    return rule


def _name(match: str) -> str:
    name = "plugin." + _UNSAFE.sub("_", match.replace("*", "any"))
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha1(match.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}-{digest}"
