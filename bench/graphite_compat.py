"""rexmon's Graphite functions against graphite-web 1.1.10 itself, on identical series.

    .venv/bin/python bench/graphite_compat.py [--venv /tmp/rexmon-graphite-web]

graphite-web 1.1.10 needs Python <= 3.8: a throwaway venv is made with the pyenv 3.8
interpreter (``--python``) and ``graphite-web``, ``whisper``, Django 3.0 installed into it
(once; the venv is kept for the next run). Each target below is parsed by rexmon's
parser; the same call tree is evaluated by graphite-web's own functions (in the venv, on
copies of the same input series) and by rexmon's evaluator, and the names, start, step
and values are compared. Differences that docs/grafana.md promises (RRD's meaning of a
stamp) are listed as expected; any other difference fails the run.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from web.graphite.evaluate import Budget, Context, evaluate_target  # noqa: E402
from web.graphite.grammar import Call, Literal, Node, parse_target  # noqa: E402
from web.graphite.grammar import Path as PathNode  # noqa: E402
from web.graphite.series import TimeSeries  # noqa: E402

T = 1_700_000_040
N = None
FIXTURES: dict[str, list[tuple[str, int, int, list[float | None]]]] = {
    "host.*.load": [
        ("host.a.load", T, 60, [1.0, N, 3.0, 4.0, 2.0, N, N, 8.0]),
        ("host.b.load", T, 60, [2.0, 5.0, N, N, 1.0, 1.0, 0.0, -3.0]),
        ("host.c.load", T, 60, [N, N, N, N, N, N, N, N]),
    ],
    "c.counter": [("c.counter", T, 60, [10.0, 70.0, 40.0, N, 100.0, 130.0, 5.0, 65.0])],
}
TARGETS = (
    "alias(host.*.load, 'load')",
    "aliasByNode(host.*.load, 1)",
    "aliasByNode(scale(host.*.load, 2), 0, 1)",
    "aliasSub(host.*.load, 'host\\.(\\w+)\\..*', 'node \\1')",
    "sumSeries(host.*.load)",
    "averageSeries(host.*.load)",
    "maxSeries(host.*.load)",
    "minSeries(host.*.load)",
    "sumSeries(host.*.load, c.counter)",
    "scale(host.*.load, 2.5)",
    "offset(host.*.load, -1)",
    "absolute(host.*.load)",
    "derivative(c.counter)",
    "nonNegativeDerivative(c.counter)",
    "nonNegativeDerivative(c.counter, 150)",
    "perSecond(c.counter)",
    "integral(host.*.load)",
    "highestMax(host.*.load, 1)",
    "highestCurrent(host.*.load, 2)",
    "lowestCurrent(host.*.load, 2)",
    "sortByMaxima(host.*.load)",
    "limit(host.*.load, 2)",
    "groupByNode(host.*.load, 2, 'sum')",
    "groupByNode(host.*.load, 0)",
    "asPercent(host.*.load)",
    "asPercent(host.*.load, 10)",
    "keepLastValue(host.*.load)",
    "keepLastValue(host.*.load, 1)",
    "transformNull(host.*.load)",
    "transformNull(host.*.load, -1)",
    "removeBelowValue(host.*.load, 2)",
    "removeAboveValue(host.*.load, 2)",
    "summarize(host.*.load, '2min')",
    "summarize(host.*.load, '2min', 'max', true)",
)
# promised differences (docs/grafana.md): buckets are stamped at their end (RRD's meaning)
EXPECTED = {
    "summarize(": "buckets keep RRD's meaning: stamped at their end, not their start",
    # graphite-web 1.1.10 on Python 3 compares None > maxValue and fails
    "nonNegativeDerivative(c.counter, 150)": "graphite-web fails on an unknown point with"
    " maxValue; rexmon keeps the point unknown",
}

CHILD = r"""
import copy, json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "graphite.settings")
import warnings; warnings.simplefilter("ignore")
import django; django.setup()
from graphite.render.datalib import TimeSeries
from graphite.render import functions
job = json.load(sys.stdin)
def series(pattern):
    out = []
    for name, start, step, values in job["fixtures"][pattern]:
        s = TimeSeries(name, start, start + step * len(values), step, list(values))
        s.pathExpression = pattern
        out.append(s)
    return out
def run(spec):
    if isinstance(spec, dict) and "path" in spec:
        return series(spec["path"])
    if isinstance(spec, dict) and "call" in spec:
        args = [run(a) for a in spec["args"]]
        kwargs = {k: run(v) for k, v in spec["kwargs"].items()}
        ctx = {"startTime": None, "endTime": None, "args": [], "localOnly": True, "data": []}
        return functions.SeriesFunction(spec["call"])(ctx, *args, **kwargs)
    return spec
answers = []
for spec in job["targets"]:
    try:
        answers.append([[s.name, s.start, s.step, list(s)] for s in run(spec)])
    except Exception as exc:
        answers.append("error: %r" % (exc,))
print(json.dumps(answers))
"""


def spec_of(node: Node) -> Any:
    if isinstance(node, PathNode):
        return {"path": node.text}
    if isinstance(node, Literal):
        return node.value
    assert isinstance(node, Call)
    return {"call": node.name, "args": [spec_of(a) for a in node.args],
            "kwargs": {k: spec_of(v) for k, v in node.kwargs}}  # fmt: skip


def ours(target: str) -> list[list[Any]]:
    def fetch(pattern: str, start: int, end: int, budget: Budget) -> list[TimeSeries]:
        return [TimeSeries(n, s, st, list(v), pattern) for n, s, st, v in FIXTURES[pattern]]

    context = Context(T - 60, T + 480, fetch, Budget(10**6, 100), target)
    return [
        [s.name, s.start, s.step, s.values] for s in evaluate_target(parse_target(target), context)
    ]


def close(x: float | None, y: float | None) -> bool:
    if x is None or y is None:
        return x is y
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)


def same(a: list[list[Any]], b: list[list[Any]]) -> bool:
    """Equal names, starts, steps and values; a trailing unknown point that only one side
    has does not count (graphite-web's consolidating iterator may add one)."""
    if len(a) != len(b):
        return False
    for (name1, start1, step1, v1), (name2, start2, step2, v2) in zip(a, b, strict=True):
        if (name1, start1, step1) != (name2, start2, step2):
            return False
        common = min(len(v1), len(v2))
        if not all(close(x, y) for x, y in zip(v1[:common], v2[:common], strict=True)):
            return False
        if any(v is not None for v in (*v1[common:], *v2[common:])):
            return False
    return True


def ensure_venv(venv: Path, python: str) -> Path:
    binary = venv / "bin" / "python"
    if not binary.exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "graphite-web==1.1.10",
                        "whisper==1.1.10", "Django<3.1", "pyparsing<3", "cairocffi", "pytz",
                        "six"], check=True)  # fmt: skip
    # graphite-web logs under its own storage directory at import
    site = next(venv.glob("lib/python3*/"))
    (site / "storage" / "log" / "webapp").mkdir(parents=True, exist_ok=True)
    return binary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path("/tmp/rexmon-graphite-web"))
    found = sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.8*/bin/python")))
    parser.add_argument("--python", default=found[-1] if found else "python3.8")
    options = parser.parse_args()
    binary = ensure_venv(options.venv, options.python)
    job = {"fixtures": FIXTURES, "targets": [spec_of(parse_target(t)) for t in TARGETS]}
    done = subprocess.run([str(binary), "-c", CHILD], input=json.dumps(job), text=True,
                          capture_output=True, check=True)  # fmt: skip
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    failures = 0
    for target, answer in zip(TARGETS, theirs, strict=True):
        mine = ours(target)
        expected = next((why for key, why in EXPECTED.items() if target.startswith(key)), None)
        if not isinstance(answer, str) and same(mine, answer):
            verdict = "same"
        elif expected is not None:
            verdict = f"differs as documented: {expected}"
        elif isinstance(answer, str):
            verdict = f"graphite-web {answer}"
            failures += 1
        else:
            verdict = f"DIFFERS\n    rexmon:       {mine}\n    graphite-web: {answer}"
            failures += 1
        print(f"{target}: {verdict}")
    print(f"{len(TARGETS) - failures} of {len(TARGETS)} targets agree (or differ as documented)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
