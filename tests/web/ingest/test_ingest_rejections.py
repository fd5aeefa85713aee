"""What the ingest answer says about rejected samples: per sample, bounded in size."""

from __future__ import annotations

import gzip
import json

from rexmon.metric import metric_path
from rexmon.rejection import Rejection
from tests.fixtures_server import RexmonServer, aligned_now, push
from tests.plain_rrdtool import fetch_values
from web.ingest.views import MAX_LISTED, listed_rejections


def test_a_small_gzip_body_of_many_bad_lines_gets_a_small_answer(
    rexmon_server: RexmonServer,
) -> None:
    now = aligned_now()
    bad = [f"host.n1.{'x' * 150} not-a-number {now}"] * 80_000
    good = [f"host.n1.load.one {i} {now - (3 - i) * 60}" for i in range(3)]
    body = gzip.compress("\n".join(good + bad).encode(), 9)
    assert len(body) < 70_000
    response = push(
        rexmon_server,
        data=body,
        headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200, response.text[:300]
    assert len(response.content) < 1_000_000
    answer = response.json()
    assert answer["accepted"] == 3
    assert answer["rejected_total"] == 80_000
    assert answer["rejected_omitted"] == 80_000 - MAX_LISTED
    assert [r["index"] for r in answer["rejected"]] == list(range(3, 3 + MAX_LISTED))
    assert answer["rejected"][0]["error"] == "value must be a number, got 'not-a-number'"
    path = metric_path(rexmon_server.archive_root, "host.n1.load.one")
    assert fetch_values(path, now - 3 * 60, now - 60)[now - 60] == 2.0


def test_a_huge_integer_or_a_string_rejects_its_sample_alone_through_the_app(
    rexmon_server: RexmonServer,
) -> None:
    now = aligned_now()
    huge = "9" * 5000
    raw = (
        '{"samples": ['
        f'{{"metric": "host.n2.a", "time": {now}, "value": {huge}}},'
        f'{{"metric": "host.n2.b", "time": {huge}, "value": 1}},'
        f'{{"metric": "host.n2.c", "time": {now}, "value": "12"}},'
        f'{{"metric": "host.n2.d", "time": {now}, "value": 12}}]}}'
    )
    response = push(rexmon_server, data=raw.encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text[:300]
    assert response.json() == {
        "accepted": 1,
        "rejected": [
            {"index": 0, "metric": "host.n2.a", "error": "value out of range"},
            {"index": 1, "metric": "host.n2.b", "error": "time out of range"},
            {"index": 2, "metric": "host.n2.c", "error": "value must be a number, got a string"},
        ],
    }
    text = f"host.n2.e {huge} {now}\nhost.n2.f 1 {huge}\nhost.n2.g 5 {now}\n"
    response = push(rexmon_server, data=text.encode(), headers={"Content-Type": "text/plain"})
    assert response.status_code == 200, response.text[:300]
    answer = response.json()
    assert answer["accepted"] == 1
    assert [(r["index"], r["error"]) for r in answer["rejected"]] == [
        (0, "value out of range"),
        (1, "time out of range"),
    ]


def test_retryable_rejections_are_always_listed_and_the_others_capped() -> None:
    final = [Rejection(i, "a.b", "bad") for i in range(MAX_LISTED + 500)]
    again = [Rejection(MAX_LISTED + 500 + i, "a.c", "disk full", retry=True) for i in range(3)]
    listed = listed_rejections(again + final)
    assert [r.index for r in listed] == list(range(MAX_LISTED)) + [r.index for r in again]
    assert len(json.dumps(Rejection(0, "a.b", "x" * 10_000).to_json())) < 400
