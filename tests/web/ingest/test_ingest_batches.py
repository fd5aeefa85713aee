"""Large and repeated ingest batches over real HTTP, through a real rrdcached."""

from __future__ import annotations

import json
from collections.abc import Callable

from rexmon.metric import metric_path
from tests.fixtures_server import RexmonServer, aligned_now, push
from tests.plain_rrdtool import fetch_values, last_update
from web.config import DEFAULT_MAX_SAMPLES
from web.services import get_services


def test_a_batch_of_700_samples_of_one_metric_is_stored_through_rrdcached(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = make_rexmon_server(with_rrdcached=True)
    end = aligned_now()
    times = [end - 60 * (699 - i) for i in range(700)]
    samples = [{"metric": "spool.node01.load", "time": t, "value": i + 0.5} for i, t in
               enumerate(times)]  # fmt: skip
    response = push(server, samples)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 700, "rejected": []}
    path = metric_path(server.archive_root, "spool.node01.load")
    server.stop()
    get_services(server.app).archive.close()  # flushes rrdcached, as a clean stop does
    values = fetch_values(path, times[0] - 60, end)
    assert {t: values[t] for t in times} == {t: i + 0.5 for i, t in enumerate(times)}
    assert last_update(path) == end


def test_the_largest_batch_the_api_allows_of_one_metric_is_stored_through_rrdcached(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = make_rexmon_server(with_rrdcached=True)
    end = aligned_now()
    count = DEFAULT_MAX_SAMPLES
    first = end - count + 1  # one sample a second; the value is its time
    body = json.dumps(
        {
            "samples": [
                {"metric": "spool.big.value", "time": t, "value": float(t)}
                for t in range(first, end + 1)
            ]
        }  # fmt: skip
    ).encode()
    response = push(server, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text[:300]
    assert response.json() == {"accepted": count, "rejected": []}
    server.stop()
    get_services(server.app).archive.close()
    path = metric_path(server.archive_root, "spool.big.value")
    assert last_update(path) == end
    values = fetch_values(path, first + 60, end)
    minutes = [t for t in values if first + 60 < t < end]
    assert len(minutes) > count // 60 - 3
    # each minute's average is the mean of the 60 times fed in it: a missing line would
    # leave a gap (unknown) or stretch the next value over it
    assert {t: values[t] for t in minutes} == {t: t - 29.5 for t in minutes}


def resend_batch(server: RexmonServer) -> None:
    end = aligned_now()
    metrics = ["resend.node01.load", "resend.node01.users", "resend.node02.load"]
    times = [end - 60 * (49 - i) for i in range(50)]
    batch = [{"metric": m, "time": t, "value": i * 1.25 + n}
             for n, m in enumerate(metrics) for i, t in enumerate(times)]  # fmt: skip
    assert push(server, batch).json() == {"accepted": 150, "rejected": []}
    paths = [metric_path(server.archive_root, m) for m in metrics]
    before = [fetch_values(path, times[0] - 60, end) for path in paths]
    # the answer was lost: the slurper sends the same batch again
    assert push(server, batch).json() == {"accepted": 150, "rejected": []}
    assert [fetch_values(path, times[0] - 60, end) for path in paths] == before
    changed = [dict(sample) for sample in batch]
    changed[60]["value"] = 99.0  # metrics[1] at times[10]
    answer = push(server, changed).json()
    assert answer["accepted"] == 149
    [rejection] = answer["rejected"]
    assert rejection["index"] == 60 and rejection["metric"] == metrics[1]
    assert "conflicts with the stored value 13.5" in rejection["error"]
    assert "retry" not in rejection
    assert [fetch_values(path, times[0] - 60, end) for path in paths] == before


def test_a_batch_sent_again_is_accepted_and_not_rewritten_and_a_changed_value_conflicts(
    rexmon_server: RexmonServer,
) -> None:
    resend_batch(rexmon_server)


def test_a_batch_sent_again_through_rrdcached_is_accepted_and_a_changed_value_conflicts(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    resend_batch(make_rexmon_server(with_rrdcached=True))
