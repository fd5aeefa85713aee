"""Slurper nodes install without the server extra: nothing here may pull it in."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = ("rrdtool", "flask", "apprise", "sqlalchemy", "werkzeug", "gunicorn", "psycopg")


def slurper_modules() -> list[str]:
    return sorted(
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for path in (REPO / "slurpers").rglob("*.py")
    )


def test_importing_every_slurper_module_loads_no_server_library() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {slurper_modules()!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout)
    bad = [name for name in loaded if name.split(".")[0].lower() in FORBIDDEN]
    assert bad == []
    assert "slurpers.cli" in loaded


def test_slurpers_import_only_the_kernel_of_the_server_side_packages() -> None:
    used = set()
    for path in (REPO / "slurpers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                used.add((node.module or "").split(".")[0])
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0].lower() not in FORBIDDEN, path
                    used.add(alias.name.split(".")[0])
    assert not used & {"rrdarchive", "downtime", "alarmd", "web"}
    assert "rexmon" in used


def test_the_kernel_imports_nothing_else_of_rexmon() -> None:
    for path in (REPO / "rexmon").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                top = (node.module or "").split(".")[0]
                assert top not in {"rrdarchive", "downtime", "alarmd", "web", "slurpers"}, path
