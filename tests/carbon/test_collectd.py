"""A real collectd with write_graphite (etc/collectd/write_graphite.conf) sending to a
real rexmon-carbon; the values read back with the plain rrdtool command."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from rexmon.metric import metric_path
from tests.carbon.test_server import last_update
from tests.collectd_agent import HOST, example, run_collectd, wait_until
from tests.fixtures_carbon import CarbonProcess

LOAD = f"collectd.{HOST}.load.load.shortterm"
MEMORY = f"collectd.{HOST}.memory.memory-used"
LO_BYTES = f"collectd.{HOST}.interface-lo.if_octets.rx"


def test_collectd_write_graphite_lines_arrive_in_the_archive(
    make_carbon: Callable[..., CarbonProcess], tmp_path: Path
) -> None:
    carbon = make_carbon()
    snippet = example("write_graphite.conf", {'Port "2003"': f'Port "{carbon.port}"'})
    metrics = (LOAD, MEMORY, LO_BYTES)
    with run_collectd(tmp_path / "collectd", snippet) as log:
        wait_until(
            lambda: (
                all(metric_path(carbon.root, m).exists() for m in metrics)
                and last_update(carbon.root, LOAD)[0] >= time.time() - 3
            ),
            timeout=60,
            log=log,
        )
    counts = carbon.stop()
    assert set(counts) <= {"accepted", "closed", "cut_at_close"}, counts
    assert counts["accepted"] > 10
    stamp, load = last_update(carbon.root, LOAD)
    assert abs(stamp - time.time()) < 30
    assert abs(load - os.getloadavg()[0]) < 2.0
    assert last_update(carbon.root, MEMORY)[1] > 1 << 20  # bytes in use
