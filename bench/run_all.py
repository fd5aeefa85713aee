"""``make bench``: run every benchmark in ``bench/`` one after the other.

Each prints its own figures and writes ``bench/results/<name>.json``. Arguments after
``--`` in BENCH_ARGS are not supported on purpose: run a script directly to tune it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = (
    "ingest.py",
    "fleet.py",
    "carbon.py",
    "slurpers.py",
    "alarmd.py",
    "graph.py",
    "graphite.py",
    "status.py",
    "dashboards.py",
)


def main() -> int:
    failed = []
    for name in ORDER:
        script = HERE / name
        if not script.exists():
            continue
        print(f"\n=== bench/{name}", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
