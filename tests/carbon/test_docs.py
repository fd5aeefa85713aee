"""The worked examples of docs/carbon.md and docs/collectd.md are the files the tests
run, word for word, so the docs cannot drift from what is tested."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_docs_show_the_collectd_configs_that_the_agent_tests_run() -> None:
    graphite = (REPO / "etc" / "collectd" / "write_graphite.conf").read_text().rstrip()
    http = (REPO / "etc" / "collectd" / "write_http.conf").read_text().rstrip()
    assert graphite in (REPO / "docs" / "carbon.md").read_text()
    assert http in (REPO / "docs" / "collectd.md").read_text()


def test_docs_show_the_carbon_section_of_the_shipped_config() -> None:
    section = "carbon:" + (REPO / "etc" / "rexmon.yaml").read_text().split("\ncarbon:", 1)[1]
    assert section.rstrip() in (REPO / "docs" / "carbon.md").read_text()
