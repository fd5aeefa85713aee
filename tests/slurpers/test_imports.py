"""Slurper nodes install without the server extra: nothing here may pull it in."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = ("rrdtool", "flask", "apprise", "sqlalchemy", "werkzeug", "gunicorn", "psycopg")
ALLOWED_RRDARCHIVE = {"metric", "sample", "yamlconf", "timespec", "errors", "sizes"}


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


def test_slurpers_use_only_the_pure_parts_of_rrdarchive() -> None:
    used = set()
    for path in (REPO / "slurpers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rrdarchive"):
                used.add((node.module or "").split(".")[1] if "." in (node.module or "") else "")
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0].lower() not in FORBIDDEN, path
    assert used <= ALLOWED_RRDARCHIVE
