"""Planning a write is pure: it returns the refused samples and the groups to write."""

from __future__ import annotations

from pathlib import Path

from rexmon.metric import metric_path, validate_metric
from rexmon.sample import Sample
from rrdarchive.config import ArchiveConfig
from rrdarchive.plan import Target, plan, settle
from rrdarchive.verdict import STORED, rejected

T0 = 1_699_999_980
NOW = T0 + 3600
CONFIG = ArchiveConfig.simple(Path("/archive"))


def target_for(metric: str) -> Target:
    validate_metric(metric)
    schema = CONFIG.schemas.schema_for(metric)
    return Target(metric, metric_path(CONFIG.root, metric), schema, CONFIG.max_age_for(schema))


def test_plan_returns_its_refusals_and_one_time_sorted_group_per_metric() -> None:
    samples = [
        Sample("a.b", T0 + 120, 2.0),
        Sample("a.b", T0 + 60, 1.0),
        Sample("a.b", NOW + 3600, 9.0),  # too far ahead
        Sample("a.c", T0 + 60, 1.0),
        Sample("a.c", T0 + 60, 5.0),  # the same time, another value
        Sample("a..d", T0, 1.0),
    ]
    planned = plan(samples, NOW, target_for=target_for, max_future=300)
    assert [(g.metric, g.times, g.values, g.indexes) for g in planned.groups] == [
        ("a.b", [T0 + 60, T0 + 120], [1.0, 2.0], [[1], [0]])
    ]
    assert sorted(planned.refused) == [2, 3, 4, 5]
    assert (
        planned.refused[3]
        == planned.refused[4]
        == rejected(f"conflicting values for a.c at {T0 + 60} in this batch")
    )
    assert "ahead of the server clock" in planned.refused[2].reason
    assert not any(verdict.retry for verdict in planned.refused.values())


def test_settle_returns_the_verdicts_of_samples_at_or_before_the_last_update() -> None:
    samples = [Sample("a.b", T0 + 60 * m, float(m)) for m in (1, 2, 3)]
    (group,) = plan(samples, NOW, target_for=target_for, max_future=300).groups
    verdicts = settle(group, T0 + 120, {T0 + 60: 1.0}, replay=False)
    assert verdicts == {
        0: STORED,  # sent again: the file holds that value
        1: rejected(
            f"out of order: a.b was last updated at {T0 + 120}; only samples after that are stored"
        ),
    }
    assert group.times == [T0 + 180]
