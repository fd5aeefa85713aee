"""The runner against the real rexmon server: push, spool while it is down, catch up."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from rexmon.metric import metric_path
from slurpers.config import config_from_text
from slurpers.registry import standard_registry
from slurpers.runner import EXIT_OK, EXIT_SPOOLED, EXIT_TOKEN, run_instance
from slurpers.spool import Spool
from tests.clock import Clock, no_sleep
from tests.slurpers.helpers import make_config


def test_a_run_pushes_its_samples_into_the_real_archive(tmp_path: Path, rexmon_server: Any) -> None:
    config = make_config(tmp_path, rexmon_server.url, rexmon_server.token)
    summary = run_instance(config, config.instances["demo"], sleep=no_sleep)
    assert summary.exit_code == EXIT_OK, summary.line()
    assert summary.collected == summary.sent == 4
    rrd = metric_path(rexmon_server.archive_root, "demo.node01_example_org.temperature.sine")
    assert rrd.exists()


def test_batches_wait_in_the_spool_while_the_server_is_down_and_go_first_when_it_is_back(
    tmp_path: Path, rexmon_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import time

    config = make_config(tmp_path, rexmon_server.url, rexmon_server.token)
    instance = config.instances["demo"]
    clock = Clock(time.time() - 180)
    rexmon_server.stop()
    first = run_instance(config, instance, clock=clock, sleep=no_sleep)
    clock.now += 60
    second = run_instance(config, instance, clock=clock, sleep=no_sleep)
    assert first.exit_code == second.exit_code == EXIT_SPOOLED
    assert first.spooled == second.spooled == 4
    spool = Spool(config.spool.dir, "demo", 10**9, 10**9, clock)
    assert [b.count for b in spool.pending()] == [4, 4]

    rexmon_server.start()
    clock.now += 60
    third = run_instance(config, instance, clock=clock, sleep=no_sleep)
    assert third.exit_code == EXIT_OK, third.line()
    assert third.backlog == 8
    assert third.sent == 12
    assert third.rejected == 0
    assert spool.pending() == []


def test_a_refused_token_keeps_the_batch_and_says_so_without_logging_the_token(
    tmp_path: Path, rexmon_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(tmp_path, rexmon_server.url, "not-the-token-" + "x" * 20)
    caplog.set_level(logging.DEBUG)
    summary = run_instance(config, config.instances["demo"], sleep=no_sleep)
    assert summary.exit_code == EXIT_TOKEN
    assert summary.spooled == 4
    assert "token" in caplog.text
    assert "not-the-token" not in caplog.text

    good = make_config(tmp_path, rexmon_server.url, rexmon_server.token)
    again = run_instance(good, good.instances["demo"], sleep=no_sleep)
    assert again.exit_code == EXIT_OK, again.line()
    assert again.backlog == 4


def test_a_batch_too_large_for_the_server_is_split_until_it_fits(
    tmp_path: Path, make_rexmon_server: Any
) -> None:
    server = make_rexmon_server(max_body="1KB")
    text = f"""
server: {{url: "{server.url}", token: "{server.token}", retries: 0}}
spool: {{dir: "{tmp_path / "spool"}"}}
hostname: node02
instances:
  demo: {{source: demo, series: [{", ".join(f"s{i}" for i in range(40))}]}}
"""
    config = config_from_text(text, standard_registry(), tmp_path)
    summary = run_instance(config, config.instances["demo"], sleep=no_sleep)
    assert summary.exit_code == EXIT_OK, summary.line()
    assert summary.sent == 80


def test_every_host_metric_is_accepted_by_the_real_archive_counters_included(
    tmp_path: Path, rexmon_server: Any
) -> None:
    text = f"""
server: {{url: "{rexmon_server.url}", token: "{rexmon_server.token}", retries: 0}}
spool: {{dir: "{tmp_path / "spool"}"}}
hostname: node03
instances:
  host: {{source: host}}
"""
    config = config_from_text(text, standard_registry(), tmp_path)
    summary = run_instance(config, config.instances["host"], sleep=no_sleep)
    assert summary.rejected == 0, summary.line()
    assert summary.exit_code == EXIT_OK, summary.line()
    assert metric_path(rexmon_server.archive_root, "host.node03.cpu.user_seconds").exists()
