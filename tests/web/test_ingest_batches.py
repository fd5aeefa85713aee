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
