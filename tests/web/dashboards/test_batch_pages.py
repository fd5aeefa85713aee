"""The shipped batch dashboards end to end: recorded squeue/sinfo and condor_q/
condor_status output through the real ``batch`` source (fake tools on PATH), pushed by
the slurper runner into a real server, then the page's table of groups."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import requests

from slurpers.config import config_from_text
from slurpers.registry import standard_registry
from slurpers.runner import EXIT_OK, run_instance
from tests.clock import no_sleep
from tests.fixtures_server import REPO, RexmonServer
from tests.slurpers.helpers import fake_executable, path_with

DATA = REPO / "tests" / "data" / "slurpers"
TOOLS = {
    "slurm": {"squeue": "squeue.txt", "sinfo": "sinfo.txt"},
    "htcondor": {"condor_q": "condor_q.txt", "condor_status": "condor_status.txt"},
}


def slurp(tmp_path: Path, server: RexmonServer, scheduler: str, cluster: str) -> None:
    """One run of the batch source against recorded output, pushed to ``server``."""
    bin_dir = tmp_path / f"bin-{scheduler}"
    for tool, recorded in TOOLS[scheduler].items():
        fake_executable(bin_dir, tool, f"cat {DATA / recorded}\n")
    token_file = tmp_path / "token"
    token_file.write_text(server.token + "\n")
    text = f"""
server: {{url: {server.url}, token_file: {token_file}, retries: 1, timeout: 5s}}
spool: {{dir: {tmp_path / "spool"}}}
hostname: head.example.org
instances:
  {cluster}: {{source: batch, scheduler: {scheduler}}}
"""
    config = config_from_text(text, standard_registry(), tmp_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", path_with(bin_dir))
        summary = run_instance(config, config.instances[cluster], sleep=no_sleep)
    assert summary.exit_code == EXIT_OK, summary.line()


def table(server: RexmonServer, name: str, **params: str) -> dict[str, list[str]]:
    """The groups table of a dashboard page: group -> its cells."""
    answer = requests.get(f"{server.url}/d/{name}", params=params, timeout=60)
    assert answer.status_code == 200, answer.text
    for src in re.findall(r'<img src="([^"]+)"', answer.text):
        png = requests.get(f"{server.url}{src.replace('&amp;', '&')}", timeout=60)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG"), src
    body = answer.text.split('<table class="batch-groups">')[1].split("</table>")[0]
    header = re.findall(r"<th>([^<]*)</th>", body)
    rows = {}
    for row in re.findall(r"<tr><td>(.*?)</tr>", body, re.S):
        cells = [cell.strip() for cell in re.findall(r"([^<>]*)</td>", "<td>" + row)]
        rows[cells[0]] = cells
    rows["_header"] = header
    return rows


@pytest.fixture
def site(rexmon_server: RexmonServer) -> RexmonServer:
    shutil.copy(REPO / "etc" / "dashboards.yaml", rexmon_server.config_path.parent)
    return rexmon_server


def test_slurm_groups_show_their_counts_experiment_and_share_of_running(
    tmp_path: Path, site: RexmonServer
) -> None:
    slurp(tmp_path, site, "slurm", "farm")
    rows = table(site, "batch", cluster="farm")
    header = rows.pop("_header")
    assert header[:3] == ["Group", "Experiment", "running"] and header[-1] == "Share of running"
    states = header[2:-1]
    # squeue.txt: 5 running (atlas 2, cms 2, lhcb 1), pending atlas 2, cms 1
    by_state = {group: dict(zip(states, cells[2:-1], strict=True)) for group, cells in rows.items()}
    assert list(rows) == ["atlas", "cms", "lhcb"]
    assert rows["atlas"][1] == "ATLAS" and rows["cms"][1] == "CMS" and rows["lhcb"][1] == ""
    assert by_state["atlas"]["running"] == "2" and by_state["atlas"]["pending"] == "2"
    assert by_state["cms"]["running"] == "2" and by_state["cms"]["pending"] == "1"
    assert by_state["lhcb"]["running"] == "1" and by_state["lhcb"]["pending"] == "0"
    assert [cells[-1] for cells in rows.values()] == ["40.0 %", "40.0 %", "20.0 %"]
    group_page = table(site, "batch-group", cluster="farm", group="cms")
    assert group_page["cms"][-1] == "40.0 %"


def test_htcondor_groups_on_the_same_page_of_another_cluster(
    tmp_path: Path, site: RexmonServer
) -> None:
    slurp(tmp_path, site, "htcondor", "pool")
    rows = table(site, "batch", cluster="pool")
    header = rows.pop("_header")
    states = header[2:-1]
    # condor_q.txt: 4 running, 1 of them group_atlas's, which has 2 idle too, and 2 of
    # group_cms.prod (a dot is no metric component: the source writes group_cms_prod),
    # which has 1 held; the "undefined" group is no group
    atlas = dict(zip(states, rows["group_atlas"][2:-1], strict=True))
    assert atlas["running"] == "1" and atlas["idle"] == "2"
    assert rows["group_atlas"][-1] == "25.0 %"
    cms = dict(zip(states, rows["group_cms_prod"][2:-1], strict=True))
    assert cms["running"] == "2" and cms["held"] == "1"
    assert rows["group_cms_prod"][-1] == "50.0 %"
    assert "undefined" not in rows
