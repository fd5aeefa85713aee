"""The "writing a new source" example in docs/slurpers.md really works."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from slurpers.config import config_from_text
from slurpers.registry import STANDARD_SOURCES, build_registry
from slurpers.runner import collect_samples

DOC = Path(__file__).resolve().parents[2] / "docs" / "slurpers.md"


def test_the_documented_example_source_registers_and_collects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert code is not None
    module = types.ModuleType("uptime_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code.group(1), str(DOC), "exec"), module.__dict__)
    registry = build_registry([*STANDARD_SOURCES, module.SOURCE])
    text = (
        "server: {url: 'http://127.0.0.1:9', token: t}\n"
        "hostname: n1\n"
        "instances:\n  uptime: {source: uptime}\n"
    )
    config = config_from_text(text, registry, tmp_path)
    samples, run = collect_samples(config.instances["uptime"], "n1", 1_700_000_000)
    assert run.problems == []
    assert [s.metric for s in samples] == ["host.n1.uptime.seconds"]
