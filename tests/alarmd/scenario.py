"""A tiny driver for alarm scenarios: feed values minute by minute, collect events."""

from __future__ import annotations

from alarmd.evaluate import evaluate
from alarmd.record import AlarmRecord, new_record
from alarmd.rules import Rule, parse_config
from alarmd.transition import Event, EventKind, transition
from downtime.model import Effect

STEP = 60
START = 1_800_000_000.0


def rule_from_yaml(text: str) -> Rule:
    config = parse_config(
        "receivers:\n  oncall: json://127.0.0.1:9/\nrules:\n" + text, {}, "test.yaml"
    )
    return config.rules[0]


class Scenario:
    """One (rule, metric) alarm driven with an injected clock, one sample per step."""

    def __init__(self, rule: Rule, metric: str = "host.n01.load.5m") -> None:
        self.rule = rule
        self.metric = metric
        self.now = START
        self.points: list[tuple[float, float | None]] = []
        self.record: AlarmRecord = new_record(rule.name, metric, self.now)
        self.events: list[Event] = []

    def tick(self, value: float | None, effect: Effect | None = None) -> list[Event]:
        """Advance one step, store ``value`` (None = no sample) and evaluate."""
        self.now += STEP
        if value is not None:
            self.points.append((self.now, value))
        observation = None
        if effect is not Effect.SKIP:
            observation = evaluate(self.rule, self.metric, self.points, self.now, STEP)
        self.record, events = transition(self.record, observation, self.now, effect)
        self.events.extend(events)
        return events

    def run(self, *values: float | None, effect: Effect | None = None) -> list[Event]:
        found: list[Event] = []
        for value in values:
            found.extend(self.tick(value, effect))
        return found


def kinds(events: list[Event]) -> list[EventKind]:
    return [event.kind for event in events]
