"""A real collectd with write_http in JSON (etc/collectd/write_http.conf) posting to the
real app over HTTP; the values and their types read back with the plain rrdtool command."""

from __future__ import annotations

import time
from pathlib import Path

from rexmon.metric import metric_path
from tests.collectd_agent import HOST, example, run_collectd, wait_until
from tests.fixtures_server import RexmonServer
from tests.plain_rrdtool import info_field, last_update

LOAD = f"collectd.{HOST}.load.load.shortterm"
MEMORY = f"collectd.{HOST}.memory.memory-used"
LO_BYTES = f"collectd.{HOST}.interface-lo.if_octets.rx"


def test_collectd_write_http_json_arrives_typed_in_the_archive(
    rexmon_server: RexmonServer, tmp_path: Path
) -> None:
    snippet = example(
        "write_http.conf",
        {
            "https://rexmon.example.org": rexmon_server.url,
            "PUT-THE-NODE-TOKEN-HERE": rexmon_server.token,
            "FlushInterval 10": "FlushInterval 1",
        },
    )
    root = rexmon_server.archive_root
    metrics = (LOAD, MEMORY, LO_BYTES)
    with run_collectd(tmp_path / "collectd", snippet) as log:
        wait_until(lambda: all(metric_path(root, m).exists() for m in metrics), 60, log)
        assert "error" not in log.read_text().lower(), log.read_text()
    assert info_field(metric_path(root, LO_BYTES), "ds[value].type") == "DERIVE"
    assert info_field(metric_path(root, LOAD), "ds[value].type") == "GAUGE"
    assert abs(last_update(metric_path(root, MEMORY)) - time.time()) < 30
