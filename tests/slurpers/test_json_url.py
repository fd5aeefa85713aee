from __future__ import annotations

import json

from rexmon.sample import DsType
from slurpers.jsonpath import pick
from slurpers.sources.json_url import JsonOptions, JsonPath, collect
from tests.slurpers.helpers import Reply, local_server, make_run, values

DOCUMENT = {
    "queues": {"short.q": {"length": 3}, "long": {"length": 5}, "odd": {"length": "n/a"}},
    "workers": [{"busy": True}, {"busy": False}],
    "stats": {"processed": 1234},
}


def serve(path: str, body: bytes) -> Reply:
    if path == "/broken":
        return 200, {}, b"{not json"
    return 200, {"Content-Type": "application/json"}, json.dumps(DOCUMENT).encode()


def test_wildcards_put_the_matched_key_or_index_into_the_name() -> None:
    found = list(pick(DOCUMENT, ("workers", "*", "busy")))
    assert found == [(("workers", "0", "busy"), 1.0, None), (("workers", "1", "busy"), 0.0, None)]
    missing = list(pick(DOCUMENT, ("stats", "failed")))
    assert missing[0][2] == "no 'failed' in an object"


def test_a_document_is_fetched_and_numbers_are_picked_and_sanitised() -> None:
    with local_server(serve) as url:
        options = JsonOptions(
            url=url + "/status.json",
            paths=(
                JsonPath(("queues", "*", "length")),
                JsonPath(("stats", "processed"), DsType.DERIVE),
            ),
        )
        run = make_run(("json", "queue"))
        samples = list(collect(options, run))
    got = values(samples)
    assert got == {
        "json.queue.queues.short_q.length": 3.0,
        "json.queue.queues.long.length": 5.0,
        "json.queue.stats.processed": 1234.0,
    }
    assert [s.type for s in samples if s.metric.endswith("processed")] == [DsType.DERIVE]
    assert [p.part for p in run.problems] == ["queues.odd.length"]


def test_an_unreadable_document_is_reported_without_values() -> None:
    with local_server(serve) as url:
        run = make_run()
        options = JsonOptions(url=url + "/broken", paths=(JsonPath(("a", "b")),))
        assert list(collect(options, run)) == []
    assert run.problems[0].part.endswith("/broken")
