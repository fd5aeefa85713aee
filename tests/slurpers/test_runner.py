"""The runner's decisions, against small local servers (the real one: test_push_end_to_end)."""

from __future__ import annotations

import gzip
import io
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from rexmon.sample import make_sample
from slurpers.config import SlurperConfig, config_from_text
from slurpers.registry import standard_registry
from slurpers.runner import (
    EXIT_BUSY,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_SPOOLED,
    run_instance,
)
from slurpers.spool import Spool
from tests.slurpers.helpers import Reply, fake_executable, local_server

NOW = 1_700_000_000.0


def config_for(tmp_path: Path, url: str, extra: str = "") -> SlurperConfig:
    text = f"""
server: {{url: "{url}", token: tok, retries: 0, batch_size: 3}}
spool: {{dir: "{tmp_path / "spool"}", max_age: 1h}}
hostname: n1
instances:
  demo: {{source: demo, series: [a, b]}}
{extra}"""
    return config_from_text(text, standard_registry(), tmp_path)


def recorder(status: int, got: list[list[str]]) -> Callable[[str, bytes], Reply]:
    """A server of samples only: ``/api/v1/checks`` is 404, as on servers before it."""

    def handle(path: str, body: bytes) -> Reply:
        if path == "/api/v1/checks":
            return 404, {}, b"not found"
        samples = json.loads(gzip.decompress(body))["samples"]
        got.append([s["metric"] for s in samples])
        answer = {"accepted": len(samples), "rejected": []}
        return status, {}, json.dumps(answer).encode()

    return handle


def test_a_dry_run_prints_the_samples_and_sends_nothing(tmp_path: Path) -> None:
    config = config_for(tmp_path, "http://127.0.0.1:9")
    out = io.StringIO()
    summary = run_instance(
        config, config.instances["demo"], dry_run=True, out=out, clock=lambda: NOW
    )
    lines = out.getvalue().splitlines()
    assert len(lines) == summary.collected == 4
    assert lines[0].startswith("demo.n1.a.sine ") and lines[0].endswith(" 1700000000 GAUGE")
    assert not (tmp_path / "spool").exists()


def test_samples_go_in_batches_and_spooled_ones_go_first(tmp_path: Path) -> None:
    got: list[list[str]] = []
    with local_server(recorder(200, got)) as url:
        config = config_for(tmp_path, url)
        spool = Spool(config.spool.dir, "demo", 10**9, 3600, lambda: NOW - 60)
        spool.save([make_sample("old.one", int(NOW) - 60, 1.0)])
        summary = run_instance(config, config.instances["demo"], clock=lambda: NOW)
    assert summary.exit_code == EXIT_OK
    assert got == [
        ["old.one"],
        ["demo.n1.a.sine", "demo.n1.a.walk", "demo.n1.b.sine"],
        ["demo.n1.b.walk"],
    ]
    assert (summary.backlog, summary.sent, summary.spooled) == (1, 5, 0)
    assert spool.pending() == []


def test_when_the_server_fails_every_remaining_batch_is_spooled(tmp_path: Path) -> None:
    got: list[list[str]] = []
    with local_server(recorder(500, got)) as url:
        config = config_for(tmp_path, url)
        summary = run_instance(config, config.instances["demo"], clock=lambda: NOW)
    assert summary.exit_code == EXIT_SPOOLED
    assert len(got) == 1  # the second batch is not even tried
    assert summary.spooled == 4
    spool = Spool(config.spool.dir, "demo", 10**9, 3600, lambda: NOW)
    assert [b.count for b in spool.pending()] == [3, 1]


def test_a_malformed_batch_answer_keeps_a_copy_aside_and_says_partial(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with local_server(recorder(400, [])) as url:
        config = config_for(tmp_path, url)
        summary = run_instance(config, config.instances["demo"], clock=lambda: NOW)
    assert summary.exit_code == EXIT_PARTIAL
    assert summary.refused == 4
    assert len(list((tmp_path / "spool" / "demo" / "refused").iterdir())) == 2
    assert Spool(config.spool.dir, "demo", 10**9, 3600, lambda: NOW).pending() == []
    assert "refused the batch (400)" in caplog.text


def test_samples_the_server_asks_to_send_again_stay_in_the_spool_and_go_next_run(
    tmp_path: Path,
) -> None:
    got: list[list[str]] = []
    full = True

    def handle(path: str, body: bytes) -> Reply:
        samples = json.loads(gzip.decompress(body))["samples"]
        got.append([s["metric"] for s in samples])
        rejected = [
            {"index": i, "metric": s["metric"], "error": "No space left", "retry": True}
            for i, s in enumerate(samples)
            if full and s["metric"].endswith(".walk")
        ]
        rejected += [
            {"index": i, "metric": s["metric"], "error": "value is NaN"}
            for i, s in enumerate(samples)
            if s["metric"] == "demo.n1.b.sine"
        ]
        answer = {"accepted": len(samples) - len(rejected), "rejected": rejected}
        return 200, {}, json.dumps(answer).encode()

    with local_server(handle) as url:
        config = config_for(tmp_path, url)
        spool = Spool(config.spool.dir, "demo", 10**9, 3600, lambda: NOW)
        first = run_instance(config, config.instances["demo"], clock=lambda: NOW)
        assert first.exit_code == EXIT_SPOOLED
        assert (first.sent, first.rejected, first.spooled) == (1, 1, 2)
        assert [b.count for b in spool.pending()] == [1, 1]  # one per batch sent
        full = False
        second = run_instance(config, config.instances["demo"], clock=lambda: NOW + 60)
    assert second.exit_code == EXIT_PARTIAL  # b.sine is refused again, for good
    assert (second.backlog, second.spooled) == (2, 0)
    assert got[2:4] == [["demo.n1.a.walk"], ["demo.n1.b.walk"]]  # the kept ones first
    assert spool.pending() == []


def test_a_second_concurrent_run_spools_instead_of_sending(tmp_path: Path) -> None:
    got: list[list[str]] = []
    with local_server(recorder(200, got)) as url:
        config = config_for(tmp_path, url)
        spool = Spool(config.spool.dir, "demo", 10**9, 3600, lambda: NOW)
        with spool.locked():
            summary = run_instance(config, config.instances["demo"], clock=lambda: NOW)
        assert summary.exit_code == EXIT_BUSY
        assert got == []
        assert summary.spooled == 4
        later = run_instance(config, config.instances["demo"], clock=lambda: NOW + 60)
    assert later.backlog == 4 and later.sent == 8


def test_spool_limits_drop_old_batches_and_log_the_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with local_server(recorder(200, [])) as url:
        config = config_for(tmp_path, url)
        old = [make_sample("old.one", int(NOW) - 7200, 1.0)] * 2
        Spool(config.spool.dir, "demo", 10**9, 3600, lambda: NOW - 7200).save(old)
        caplog.set_level(logging.WARNING)
        summary = run_instance(config, config.instances["demo"], clock=lambda: NOW)
    assert summary.exit_code == EXIT_PARTIAL
    assert summary.dropped == 2
    assert "dropped 1 batches (2 samples) older than max_age" in caplog.text


def test_a_failing_part_gives_partial_and_the_rest_is_sent(tmp_path: Path) -> None:
    plugin = fake_executable(tmp_path / "bin", "check_odd", "echo 'OK | a=1 b=2furlongs'\n")
    extra = f"  odd: {{source: command, command: {plugin}}}\n"
    got: list[list[str]] = []
    with local_server(recorder(200, got)) as url:
        config = config_for(tmp_path, url, extra)
        summary = run_instance(config, config.instances["odd"], clock=lambda: NOW)
    assert summary.exit_code == EXIT_PARTIAL
    assert got == [["host.n1.odd.state", "host.n1.odd.a"]]
    assert "unknown unit" in summary.problems[0].message


def test_rejections_the_server_left_out_of_its_list_count_as_rejected_for_good(
    tmp_path: Path,
) -> None:
    def handle(path: str, body: bytes) -> Reply:
        count = len(json.loads(gzip.decompress(body))["samples"])
        answer = {
            "accepted": 0,
            "rejected": [{"index": 0, "metric": "x", "error": "bad"}],
            "rejected_total": count,
            "rejected_omitted": count - 1,
        }
        return 200, {}, json.dumps(answer).encode()

    with local_server(handle) as url:
        config = config_for(tmp_path, url)
        summary = run_instance(config, config.instances["demo"], clock=lambda: NOW)
    assert (summary.sent, summary.rejected, summary.spooled) == (0, 4, 0)
