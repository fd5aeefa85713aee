"""``rexmon-web serve`` logs as the other daemons do: JSON lines for a log shipper, and
journald's priority prefixes under systemd, for the app, gunicorn and its access log."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.e2e.test_faults import Served


def run_and_log(directory: Path, **options: object) -> list[str]:
    web = Served(directory, workers=1, **options)  # type: ignore[arg-type]
    web.start()
    try:
        assert requests.get(web.url + "/healthz", timeout=10).ok
        refused = requests.post(web.url + "/api/v1/samples", json={"samples": []}, timeout=10)
        assert refused.status_code == 401
    finally:
        web.stop()
    return [line for line in web.log().splitlines() if line.strip()]


def test_json_logs_are_one_object_per_line_for_gunicorn_its_access_log_and_the_app(
    tmp_path: Path,
) -> None:
    lines = run_and_log(tmp_path, options=("--log-format", "json"))
    records = [json.loads(line) for line in lines if line.startswith("{")]
    unparsed = [line for line in lines if not line.startswith("{")]
    assert unparsed == [line for line in unparsed if line.startswith("using ")]
    loggers = {record["logger"] for record in records}
    assert {"gunicorn.error", "gunicorn.access"} <= loggers
    access = [r["message"] for r in records if r["logger"] == "gunicorn.access"]
    assert any("/healthz" in message for message in access)
    assert any('"POST /api/v1/samples' in message and " 401 " in message for message in access)
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)


def test_under_systemd_each_line_carries_its_journald_priority(tmp_path: Path) -> None:
    lines = run_and_log(tmp_path, env={"JOURNAL_STREAM": "8:12345"})
    served = [line for line in lines if not line.startswith("using ")]
    assert served and all(line[:3] in {"<6>", "<4>", "<3>", "<7>", "<2>"} for line in served)
    assert any(line.startswith("<6>") and "gunicorn.access" in line for line in served)
