"""What a rule on check results says, as conditions the evaluator already knows.

A check rule (``check: GLOB`` with ``state: warning|unknown|critical``) alarms on a
Nagios-style check's own state, so a site's tuned plugin thresholds work without being
written again. The state becomes a number -- OK 0, WARNING 1, UNKNOWN 2, CRITICAL 3 (the
order Icinga sorts problems in) -- and ``state:`` the lowest one that alarms: WARNING and
UNKNOWN fire as warnings, CRITICAL as critical. ``for``, hysteresis-free clearing,
flapping, downtimes and acknowledgements then work exactly as for threshold rules.

A threshold rule may instead take the plugin's own thresholds for the metric (``warning:
from-plugin``, ``critical: from-plugin``): the perfdata ranges of the check result that
sent the metric's samples, in the samples' units (:mod:`rexmon.checkresult`).
"""

from __future__ import annotations

from alarmd.threshold import Condition, Function, Range, parse_condition
from rexmon import thresholds

FROM_PLUGIN = "from-plugin"
LOWEST_STATES = {"warning": 1, "unknown": 2, "critical": 3}
CRITICAL_RANK = 3
CHECK_STEP = 300  # a plugin's usual interval: ``nodata`` defaults to 3 of them (15 min)


def state_conditions(lowest: str) -> tuple[Condition | None, Condition]:
    """The (warning, critical) conditions on a check's state rank for ``state: lowest``;
    raises ValueError for another word."""
    rank = LOWEST_STATES.get(lowest.strip().lower())
    if rank is None:
        raise ValueError(f"expected one of {', '.join(LOWEST_STATES)}, got {lowest!r}")
    critical = parse_condition(f">= {CRITICAL_RANK}")
    warning = parse_condition(f">= {rank}") if rank < CRITICAL_RANK else None
    return warning, critical


def plugin_condition(limit: thresholds.Range | None) -> Condition | None:
    """A plugin's Nagios range as a condition on the last value (None: it sent none)."""
    if limit is None:
        return None
    return Condition(Function(), Range(limit.start, limit.end, limit.inside))


def describe_states(warning: Condition | None) -> str:
    """What a check rule alarms on, in words (for ``check-config``)."""
    names = {1: "WARNING", 2: "UNKNOWN"}
    lowest = int(getattr(warning.test, "threshold", CRITICAL_RANK)) if warning else CRITICAL_RANK
    warned = [names[rank] for rank in (1, 2) if rank >= lowest]
    as_warning = f"{' and '.join(warned)} as warning, " if warned else ""
    return f"{as_warning}CRITICAL as critical"
