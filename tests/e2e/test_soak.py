"""``make soak`` at a tiny scale: the script starts the whole system (rrdcached, gunicorn,
rexmon-alarmd, a local notification receiver), drives it and checks the archive itself;
this test runs it as ``make soak`` does and reads what it printed and wrote."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROGRESS = re.compile(
    r"^\s+\d+s: +[\d.]+ pushes/s, .* RSS MB gunicorn \d+, rrdcached \d+, alarmd \d+"
)


def test_a_short_soak_stores_every_acknowledged_sample_and_alarmd_notifies(
    tmp_path: Path,
) -> None:
    command = [sys.executable, "bench/soak.py", "--slurpers", "40", "--interval", "5"]
    command += ["--minutes", "0.34", "--report", "5", "--results", str(tmp_path)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert len([line for line in done.stdout.splitlines() if PROGRESS.match(line)]) >= 3
    figures = json.loads((tmp_path / "soak.json").read_text())
    assert figures["missing_in_archive"] == 0 and figures["wrong_in_archive"] == 0
    assert figures["pushes_acknowledged"] > 0 and figures["samples_per_s"] > 0
    assert figures["samples_acknowledged"] == 12 * figures["pushes_acknowledged"]
    assert figures["push_latency_s"]["p99"] > 0
    assert figures["viewer_answers"].get("graph 200", 0) > 0, figures["viewer_answers"]
    assert figures["notifications"] >= 1
    assert any("FIRING" in kind for kind in figures["alarm_events"]), figures["alarm_events"]
    assert len(figures["memory"]) >= 3 and figures["memory"][-1]["gunicorn_mb"] > 0
