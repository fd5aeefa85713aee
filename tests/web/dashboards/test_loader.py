from __future__ import annotations

from pathlib import Path

import pytest

from rexmon.errors import ConfigError
from tests.plain_rrdtool import run_rrdtool
from web.dashboards.loader import concrete_glob, load_dashboards, variable_values

HEAD = "dashboards:\n  a:\n    title: A\n    rows:\n"
ETC = Path(__file__).parents[3] / "etc" / "dashboards.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dashboards.yaml"
    path.write_text(text)
    return path


def test_the_shipped_file_loads_with_every_mode() -> None:
    loaded = load_dashboards(ETC)
    assert set(loaded.dashboards) == {"host", "batch", "batch-group"}
    assert loaded.dashboards["host"].variables == ("host",)
    assert loaded.dashboards["batch-group"].variables == ("cluster", "group")
    assert loaded.groups["cms"] == "CMS"
    modes = {p.mode for d in loaded.dashboards.values() for p in d.panels}
    assert modes == {"lines", "stacked", "sum", "top"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "dashboards:\n  a:\n    title: A\n    colour: red\n    rows: []\n",
            r":4: dashboards.a.colour: unknown key",
        ),
        (
            HEAD + "      - - metrics: x.y\n          mode: pie\n",
            r":6: dashboards.a.rows\[0\]\[0\].mode: expected one of lines, stacked",
        ),
        (
            "dashboards:\n  a:\n    title: 'A {host}'\n    rows: []\n",
            r":3: dashboards.a.title: undefined variable \{host\}",
        ),
        (
            "dashboards:\n  a:\n    title: A\n    rows:\n      - - metrics: 'x.[z-a]'\n",
            r":5: dashboards.a.rows\[0\]\[0\].metrics: metric glob 'x.\[z-a\]': range z-a",
        ),
        (
            "dashboards:\n  a:\n    title: A\n    rows:\n      - - metrics: 'x.a{h}.y'\n",
            r":5: .*a variable must be a whole component",
        ),
        (
            "dashboards:\n  a:\n    title: A\n    rows:\n      - - {metrics: x.y, title: '{h}'}\n",
            r":5: dashboards.a.rows\[0\]\[0\].title: undefined variable \{h\}",
        ),
    ],
)
def test_errors_name_the_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as info:
        load_dashboards(path)
    assert str(info.value).startswith(str(path))


def test_variable_values_are_the_captures_present_in_the_archive(tmp_path: Path) -> None:
    root = tmp_path / "rrd"
    for metric in ("host.n01.cpu.user_seconds", "host.n02.cpu.user_seconds", "host.n03.load.1m"):
        path = root.joinpath(*metric.split(".")[:-1], metric.split(".")[-1] + ".rrd")
        path.parent.mkdir(parents=True, exist_ok=True)
        run_rrdtool(
            "create", str(path), "--step", "60", "DS:value:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:10"
        )
    host = load_dashboards(ETC).dashboards["host"]
    assert variable_values(host, root) == {"host": ["n01", "n02", "n03"]}
    assert concrete_glob("host.{host}.cpu.*", {"host": "n01"}) == "host.n01.cpu.*"


def test_check_config_lists_the_dashboards_and_names_a_bad_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from web.cli import main

    (tmp_path / "alarms.yaml").write_text("rules: []\n")
    (tmp_path / "archive.yaml").write_text((ETC.parent / "archive.yaml").read_text())
    config = tmp_path / "rexmon.yaml"
    config.write_text(f"archive:\n  root: {tmp_path / 'rrd'}\nalarmd:\n  rules: alarms.yaml\n")
    (tmp_path / "dashboards.yaml").write_text(ETC.read_text())
    runner = CliRunner()
    checked = runner.invoke(main, ["--config", str(config), "check-config"])
    assert checked.exit_code == 0, checked.output
    assert "dashboards: 3 from" in checked.output
    assert "batch-group [Batch] variables: cluster, group" in checked.output
    (tmp_path / "dashboards.yaml").write_text("dashboards:\n  a:\n    title: A\n    rowz: []\n")
    broken = runner.invoke(main, ["--config", str(config), "check-config"])
    assert broken.exit_code == 1
    assert "dashboards.yaml:4: dashboards.a.rowz: unknown key" in broken.output
