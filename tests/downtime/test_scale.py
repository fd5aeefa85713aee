"""10,000 downtimes against 100,000 metric names: the index must give the same answers as
checking every downtime against every metric (no timing asserts; see the report)."""

from __future__ import annotations

from downtime.model import Draft
from downtime.recurrence import windows
from downtime.store import DowntimeStore
from rexmon.metric import glob_matcher
from tests.downtime.conftest import ALICE, NOW

HOUR = 3600
HOSTS = 10_000
METRICS = [
    f"host.node{h:05d}.{m}"
    for h in range(HOSTS)
    for m in (
        "cpu.user",
        "cpu.system",
        "load.one",
        "mem.used_bytes",
        "disk.root.used_ratio",
        "net.eth0.rx_bytes",
        "net.eth0.tx_bytes",
        "proc.count",
        "uptime_seconds",
        "ping.rtt",
    )
]


def drafts() -> list[Draft]:
    result = []
    for j in range(10_000):
        start = NOW + (j % 48) * HOUR
        if j % 100 == 0:  # a wide one: a whole rack of 100 hosts
            scope = f"host.node{j // 100:03d}*"
        elif j % 10 == 7:  # one metric kind on one host
            scope = f"host.node{j:05d}.cpu.*"
        else:
            scope = f"host.node{j:05d}.*"
        rrule = "FREQ=DAILY;COUNT=5" if j % 50 == 1 else None
        result.append(Draft((scope,), start, start + 2 * HOUR, f"work {j}", rrule=rrule))
    return result


def test_the_index_answers_like_a_full_scan_at_scale(store: DowntimeStore) -> None:
    assert len(METRICS) == 100_000
    store.add_many(drafts(), ALICE)
    every = store.find()
    assert len(every) == 10_000
    matchers = {d.id: [glob_matcher(s) for s in d.scopes] for d in every}
    at = NOW + 10 * HOUR + 30
    index = store.index(at, at + 1)
    covered = index.covering_many(METRICS, at)
    # the full scan: every downtime in effect at `at`, tested against each sampled metric
    in_effect = [d for d in every if windows(d, at, at + 1)]
    sample = METRICS[::331] + [m for m in METRICS if m.startswith("host.node0001")]
    for metric in sample:
        expected = [d.id for d in in_effect if any(m(metric) for m in matchers[d.id])]
        assert [d.id for d in covered.get(metric, [])] == sorted(expected)
    # hosts j with j % 48 in (9, 10), daily series repeating, racks widening it
    assert 3_000 < sum(len(found) for found in covered.values()) < 6_000

    start, end = NOW, NOW + 7 * 24 * HOUR
    graph = store.overlapping(METRICS[10:30], start, end)
    expected_windows = sorted(
        (w.start, w.downtime.id)
        for d in every
        if any(m(metric) for m in matchers[d.id] for metric in METRICS[10:30])
        for w in windows(d, start, end)
    )
    assert [(w.start, w.downtime.id) for w in graph] == expected_windows
    assert len(graph) >= 6  # the rack, a daily series of 5, host 2
