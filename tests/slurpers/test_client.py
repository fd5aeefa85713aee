"""Failure answers the real server cannot give on demand, from tiny local servers."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable

import pytest

from rexmon.sample import make_sample
from slurpers.client import IngestClient
from slurpers.errors import BatchRefused, ServerUnavailable, TokenRefused
from tests.slurpers.helpers import Reply, local_server

SAMPLES = [make_sample(f"test.m{i}", 1_700_000_000, float(i), "GAUGE") for i in range(8)]


def accept_up_to(limit: int, seen: list[int]) -> Callable[[str, bytes], Reply]:
    def handle(path: str, body: bytes) -> Reply:
        samples = json.loads(gzip.decompress(body))["samples"]
        seen.append(len(samples))
        if len(samples) > limit:
            return 413, {}, b"too large"
        rejected = [
            {"index": i, "metric": s["metric"], "error": "bad"}
            for i, s in enumerate(samples)
            if s["metric"] == "test.m5"
        ]
        answer = {"accepted": len(samples) - len(rejected), "rejected": rejected}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    return handle


def client(url: str, sleeps: list[float] | None = None, retries: int = 2) -> IngestClient:
    record = sleeps if sleeps is not None else []
    return IngestClient(
        url, lambda: "tok", timeout=2, retries=retries, sleep=record.append, jitter=lambda: 0.5
    )


def test_a_413_splits_the_batch_and_rejections_keep_their_original_index() -> None:
    seen: list[int] = []
    with local_server(accept_up_to(3, seen)) as url:
        result = client(url).push(SAMPLES)
    assert result.accepted == 7
    assert [(r.index, r.metric) for r in result.rejected] == [(5, "test.m5")]
    assert seen[0] == 8 and max(seen[1:]) <= 8 // 2


def test_a_5xx_is_retried_with_growing_back_off_and_then_gives_up() -> None:
    sleeps: list[float] = []
    calls: list[int] = []

    def broken(path: str, body: bytes) -> Reply:
        calls.append(1)
        return 503, {}, b"rrdcached down"

    with local_server(broken) as url:
        with pytest.raises(ServerUnavailable, match="503") as info:
            client(url, sleeps).push(SAMPLES)
    assert len(calls) == 3
    assert sleeps == [1.0, 2.0]
    assert info.value.unsent == SAMPLES


def test_a_server_that_recovers_during_the_retries_gets_the_batch() -> None:
    answers = iter([500, 502, 200])

    def flaky(path: str, body: bytes) -> Reply:
        status = next(answers)
        return status, {}, json.dumps({"accepted": 8, "rejected": []}).encode()

    with local_server(flaky) as url:
        assert client(url).push(SAMPLES).accepted == 8


def test_token_and_malformed_batch_answers_are_not_retried() -> None:
    def refuse(status: int) -> Callable[[str, bytes], Reply]:
        return lambda path, body: (status, {}, b'{"error": "nope"}')

    for status, error in ((401, TokenRefused), (403, TokenRefused), (400, BatchRefused)):
        sleeps: list[float] = []
        with local_server(refuse(status)) as url:
            with pytest.raises(error):
                client(url, sleeps).push(SAMPLES)
        assert sleeps == []


def test_a_hanging_server_times_out_and_counts_as_unavailable() -> None:
    release = threading.Event()

    def hang(path: str, body: bytes) -> Reply:
        release.wait(10)
        return 200, {}, b"{}"

    with local_server(hang) as url:
        try:
            slow = IngestClient(url, lambda: "t", timeout=0.3, retries=0)
            with pytest.raises(ServerUnavailable, match="no answer"):
                slow.push(SAMPLES)
        finally:
            release.set()


def test_nobody_listening_is_unavailable() -> None:
    with pytest.raises(ServerUnavailable):
        client("http://127.0.0.1:9", retries=0).push(SAMPLES)


def test_the_request_is_gzip_json_with_the_bearer_token() -> None:
    seen: list[bytes] = []

    def capture(path: str, body: bytes) -> Reply:
        seen.append(body)
        return 200, {}, json.dumps({"accepted": 1, "rejected": []}).encode()

    with local_server(capture) as url:
        client(url).push(SAMPLES[:1])
    assert json.loads(gzip.decompress(seen[0])) == {"samples": [SAMPLES[0].to_json()]}
