from __future__ import annotations

import pytest

from rexmon.checkresult import CheckState
from slurpers.nagios import label_component, parse_lines, parse_perfdata, split_output


def test_units_become_base_units_and_name_their_unit() -> None:
    values, errors = parse_perfdata(
        "time=12ms;;;0 rta=0.5s big=2GB;;; small=3KB used=42%;80;90;0;100 n=7c x=250us"
    )
    assert errors == []
    got = {v.name: v.value for v in values}
    assert got["time_seconds"] == pytest.approx(0.012)
    assert got["rta_seconds"] == 0.5
    assert got["big_bytes"] == 2 * 1024**3
    assert got["small_bytes"] == 3 * 1024
    assert got["used_ratio"] == pytest.approx(0.42)
    assert got["x_seconds"] == pytest.approx(250e-6)
    assert [v.counter for v in values if v.name == "n"] == [True]


def test_quoted_labels_unknown_values_and_mount_points_are_read() -> None:
    values, errors = parse_perfdata("'my label'=1 'it''s'=2 /var/lib=5B;1;2 /=6B 'gone'=U")
    assert errors == []
    assert [(v.label, v.name, v.value) for v in values] == [
        ("my label", "my label", 1.0),
        ("it's", "it's", 2.0),
        ("/var/lib", "var_lib_bytes", 5.0),
        ("/", "root_bytes", 6.0),
        ("gone", "gone", None),
    ]
    assert label_component("/") == "root"


def test_a_bad_item_is_reported_and_the_others_are_kept() -> None:
    values, errors = parse_perfdata("a=1 b=3furlongs c=oops d=4")
    assert [v.name for v in values] == ["a", "d"]
    assert len(errors) == 2
    assert "unknown unit 'furlongs'" in errors[0]


def test_perfdata_in_the_long_text_is_joined_to_the_first_line() -> None:
    parts = split_output("OK - fine | a=1\nmore detail\nand more | b=2\nc=3\n")
    assert parts.text == "OK - fine"
    assert parts.long_text == "more detail\nand more"
    assert parts.perfdata == "a=1 b=2 c=3"


def test_exit_statuses_map_to_the_four_states() -> None:
    states = [CheckState.from_exit_status(code).value for code in (0, 1, 2, 3, 4, 127, -9)]
    assert states == [0, 1, 2, 3, 3, 3, 3]


def test_key_value_lines_skip_comments_and_report_bad_lines() -> None:
    values, errors = parse_lines("# header\nqueue.length 12\n\nrate 0.5\nbroken\nx notanumber\n")
    assert values == [("queue.length", 12.0), ("rate", 0.5)]
    assert len(errors) == 2
