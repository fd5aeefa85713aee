from __future__ import annotations

import json

from rexmon.rejection import MAX_REASON, Rejection


def test_a_rejection_reads_back_as_the_server_wrote_it() -> None:
    for rejection in (
        Rejection(3, "a.b", "out of order"),
        Rejection(0, None, "not a sample", line=1),
        Rejection(7, "a.c", "No space left", retry=True),
    ):
        assert Rejection.from_json(json.loads(json.dumps(rejection.to_json()))) == rejection


def test_a_long_reason_is_cut_in_the_answer_and_retry_is_only_sent_when_true() -> None:
    data = Rejection(0, "a.b", "x" * 10_000).to_json()
    assert len(data["error"]) == MAX_REASON + 3 and "retry" not in data and "line" not in data


def test_an_answer_from_an_older_server_without_metric_or_retry_is_read() -> None:
    rejection = Rejection.from_json({"index": "2", "error": "bad"})
    assert rejection == Rejection(2, None, "bad")
