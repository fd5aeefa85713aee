"""The worked examples of the check-result docs, run as they are written: the rules of
docs/alarmd.md load, and the passive sender's curl command of docs/web.md is answered as
shown."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from alarmd.alarmstate import Severity
from alarmd.rules import parse_config
from tests.fixtures_server import REPO, RexmonServer


def block_after(doc: Path, heading: str, fence: str) -> str:
    text = doc.read_text()
    found = re.search(rf"{re.escape(heading)}\n.*?```{fence}\n(.*?)```", text, re.DOTALL)
    assert found, f"{doc.name}: no {fence} block after {heading!r}"
    return found.group(1)


def test_the_documented_check_rules_load_as_check_and_from_plugin_rules() -> None:
    rules = block_after(REPO / "docs" / "alarmd.md", "### Rules on check results", "yaml")
    config = parse_config("receivers:\n  oncall: json://127.0.0.1:9/\n" + rules, {}, "doc")
    by_name = {rule.name: rule for rule in config.rules}
    assert by_name["nagios-disk"].check and by_name["nagios-disk"].warning is None
    assert by_name["nagios-disk"].hold == 300
    assert set(by_name["queue-waiting"].from_plugin) == {Severity.WARNING, Severity.CRITICAL}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl (Debian package curl)")
def test_the_documented_passive_result_is_taken_as_shown(
    rexmon_server: RexmonServer, tmp_path: Path
) -> None:
    block = block_after(REPO / "docs" / "web.md", "### Check results: `POST /api/v1/checks`", "")
    command, _, answer = block.rpartition("\n{")
    token_file = tmp_path / "slurp.token"
    token_file.write_text(rexmon_server.token)
    command = command.replace("/etc/rexmon/slurp.token", str(token_file))
    command = command.replace("http://rexmon.example.org:8080", rexmon_server.url)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads("{" + answer)
    shown = requests.get(f"{rexmon_server.url}/api/v1/checks/backup.tape01.nightly", timeout=30)
    assert shown.json()["state"] == "CRITICAL"
