from __future__ import annotations

from pathlib import Path

import pytest

from rexmon.errors import ConfigError
from rexmon.timespec import parse_duration
from rexmon.yamlconf import load_yaml, parse_yaml

TEXT = """\
rules:
  - match: host.*
    every: 5m
  - match: web.*
    every: often
    count: 3
"""


def test_errors_name_the_file_line_and_key() -> None:
    root = parse_yaml(TEXT, "etc/x.yaml")
    rules = root["rules"].as_list()
    assert rules[0]["every"].parse(parse_duration) == 300
    with pytest.raises(ConfigError) as info:
        rules[1]["every"].parse(parse_duration)
    assert str(info.value).startswith("etc/x.yaml:5: rules[1].every: expected a duration")


def test_unknown_and_missing_keys_are_errors() -> None:
    rules = parse_yaml(TEXT, "x.yaml")["rules"].as_list()
    with pytest.raises(ConfigError, match=r"x.yaml:6: rules\[1\].count: unknown key"):
        rules[1].mapping({"match", "every"})
    with pytest.raises(ConfigError, match=r"x.yaml:2: rules\[0\]: missing required key 'x'"):
        rules[0].mapping({"match", "every", "x"}, required=("x",))


def test_scalar_getters_check_types_and_bounds() -> None:
    root = parse_yaml("a: 3\nb: yes\nc: [x, y]\nd: text\n")
    assert root["a"].as_int(low=1) == 3
    assert root["b"].as_bool() is True
    assert root["c"].as_str_list() == ["x", "y"]
    assert root["d"].as_str_list() == ["text"]
    with pytest.raises(ConfigError, match="a: must be at most 2"):
        root["a"].as_int(high=2)
    with pytest.raises(ConfigError, match="expected an integer"):
        root["d"].as_int()
    with pytest.raises(ConfigError, match="expected one of x, y"):
        root["d"].as_choice(("x", "y"))


def test_syntax_errors_and_duplicate_keys_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\nb: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml:3: invalid YAML"):
        load_yaml(bad)
    with pytest.raises(ConfigError, match=":2: duplicate key 'a'"):
        parse_yaml("a: 1\na: 2\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_yaml(tmp_path / "missing.yaml")


@pytest.mark.parametrize("condition", [">= 2", "> 90", ">90"])
def test_an_unquoted_condition_gets_told_to_quote_it(condition: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml(f"rules:\n  - name: r\n    critical: {condition}\n", "alarms.yaml")
    message = str(info.value)
    assert message.startswith("alarms.yaml:3: invalid YAML: ")
    assert message.endswith(f"""; quote the value: write '"{condition}"'""")
