from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from rexmon.sample import Sample
from rrdarchive.archive import Archive
from rrdarchive.cli import load_archive_config, main
from rrdarchive.filesize import format_bytes
from rrdarchive.verdict import STORED

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    etc.mkdir()
    shutil.copy(REPO / "etc" / "archive.yaml", etc / "archive.yaml")
    path = etc / "rexmon.yaml"
    path.write_text("archive:\n  root: ../var/rrd\n  schemas: archive.yaml\n")
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(config_path: Path, samples: list[Sample]) -> None:
    with Archive(load_archive_config(config_path)) as archive:
        assert archive.write(samples) == [STORED] * len(samples)


def test_check_config_reports_the_archive(runner: CliRunner, config_path: Path) -> None:
    result = runner.invoke(main, ["--config", str(config_path), "check-config"])
    assert result.exit_code == 0, result.output
    assert f"archive root: {(config_path.parent.parent / 'var' / 'rrd').resolve()}" in result.output
    assert "config OK" in result.output and "direct writes" in result.output


def test_check_config_says_the_disk_a_schema_takes_as_the_file_on_disk_shows(
    runner: CliRunner, config_path: Path
) -> None:
    now = int(time.time()) // 60 * 60
    write(config_path, [Sample("host.n1.load", now, 1.0)])
    on_disk = (config_path.parent.parent / "var" / "rrd" / "host" / "n1" / "load.rrd").stat()
    result = runner.invoke(main, ["--config", str(config_path), "check-config", "--metrics", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    catch_all = lines.index(next(line for line in lines if line.startswith("  *: step 1m")))
    per_metric = lines[catch_all + 1].strip()
    assert per_metric.startswith(f"{format_bytes(on_disk.st_size)} per metric")
    assert 1_000_000 < on_disk.st_size < 2_000_000  # four tiers, three functions: ~1.4 MB
    many = runner.invoke(main, ["--config", str(config_path), "check-config"])
    assert f"{format_bytes(on_disk.st_size * 10_000)} for 10,000 metrics" in many.output
    bad = runner.invoke(main, ["--config", str(config_path), "check-config", "--metrics", "0"])
    assert bad.exit_code == 2 and "--metrics" in bad.output


def test_sizes_read_as_disks_are_sold() -> None:
    assert [format_bytes(n) for n in (999, 1000, 1_370_000, 13_700_000_000)] == [
        "999 B",
        "1 kB",
        "1.37 MB",
        "13.7 GB",
    ]


def test_a_bad_config_is_a_clean_error(runner: CliRunner, config_path: Path) -> None:
    config_path.write_text("archive:\n  max_future: soon\n")
    result = runner.invoke(main, ["--config", str(config_path), "check-config"])
    assert result.exit_code == 1
    assert "rexmon.yaml:2: archive.max_future: expected a duration" in result.output
    assert "Traceback" not in result.output


def test_list_info_and_fetch(runner: CliRunner, config_path: Path) -> None:
    now = int(time.time()) // 60 * 60
    write(
        config_path, [Sample("host.n1.load", now - 120, 1.5), Sample("host.n1.load", now - 60, 2.5)]
    )
    write(config_path, [Sample("host.n2.load", now - 60, 1.0)])
    base = ["--config", str(config_path)]
    listed = runner.invoke(main, [*base, "list", "host.n1.*"])
    assert listed.exit_code == 0 and listed.output == "host.n1.load\n"
    assert runner.invoke(main, [*base, "list"]).output.split() == ["host.n1.load", "host.n2.load"]
    info = runner.invoke(main, [*base, "info", "host.n1.load"])
    assert info.exit_code == 0, info.output
    assert "step: 60" in info.output and "type: GAUGE" in info.output
    assert "rra: AVERAGE every 1m kept 1w" in info.output
    fetched = runner.invoke(main, [*base, "fetch", "host.n1.load", "--start", "-5m"])
    assert fetched.exit_code == 0, fetched.output
    assert " 2.5" in fetched.output and " 1.5" in fetched.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["info", "host.none.load"], "no such metric"),
        (["info", "../etc"], "metric name '../etc'"),
        (["fetch", "host.n1.load", "--start", "yesterday-ish"], "cannot read time"),
        (["list", "a/b"], "may only contain"),
    ],
)
def test_user_errors_are_messages_not_tracebacks(
    runner: CliRunner, config_path: Path, arguments: list[str], message: str
) -> None:
    write(config_path, [Sample("host.n1.load", int(time.time()) - 60, 1.0)])
    result = runner.invoke(main, ["--config", str(config_path), *arguments])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_check_config_refuses_a_schema_that_can_never_match_and_warns_of_one_matching_nothing(
    runner: CliRunner, config_path: Path
) -> None:
    schemas = config_path.parent / "archive.yaml"
    catch_all = "  - {match: '*', step: 1m, retention: '1m:1d'}\n"
    schemas.write_text(
        "schemas:\n  - {match: 'batch.-x.*', step: 1m, retention: '1m:1d'}\n" + catch_all
    )
    refused = runner.invoke(main, ["--config", str(config_path), "check-config"])
    assert refused.exit_code == 1
    assert "archive.yaml:2: schemas[0].match: metric glob 'batch.-x.*' can never match" in (
        refused.output
    )
    schemas.write_text(
        "schemas:\n  - {match: 'batch.*', step: 1m, retention: '1m:1d'}\n" + catch_all
    )
    warned = runner.invoke(main, ["--config", str(config_path), "check-config"])
    assert warned.exit_code == 0, warned.output
    assert "warning: schema 'batch.*' matches no metric in" in warned.stderr
