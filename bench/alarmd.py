"""alarmd cycle time and memory for 1k, 10k and 100k (rule, metric) pairs.

    .venv/bin/python bench/alarmd.py [--sizes 1000,10000,100000] [--cycles 3]
                                     [--work /tmp/rexmon-bench-alarmd] [--budget 270]
                                     [--schemas shipped|small] [--profile]
                                     [--rules mixed|last]

Two rules match every metric (``--rules mixed``, the default: a last-value test and an
``avg(5m)`` window, so every file is fetched; ``last``: two last-value tests, read by
their last updates), so N pairs are N/2 RRD files (``--schemas``: the shipped
``etc/archive.yaml`` by default, about 1.4 MB each; ``small`` is
``bench/archive-bench.yaml``, 1m step, about 13 KB each), created
once under ``--work`` and reused by later runs. Each cycle writes one new sample per
metric (not timed) and then times :meth:`Daemon.tick` against the real archive and a
real SQLite database: listing, reading, evaluation, transitions, storing the changed
records. The first cycle (every record inserted) is reported apart; the
steady cycles are the figure, split into phases (list/match, read, evaluate, store
write, dispatch: seconds, and the process's RSS after each; read and evaluate are both
inside the pass, so they share its RSS) by timing the daemon's own methods from outside.
Memory: tracemalloc's peak during one extra steady cycle (traced apart, as tracing slows
the cycle down) and the process's maximum RSS (set-up and first cycle included).
``--profile`` adds tracemalloc's largest allocations and a cProfile of one more cycle.
Sizes whose set-up would not fit in ``--budget`` seconds are skipped and said so.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alarmd.config import AlarmdConfig, DaemonConfig  # noqa: E402
from alarmd.daemon import Daemon  # noqa: E402
from alarmd.leader import AlwaysLeader  # noqa: E402
from alarmd.notify import Notifier  # noqa: E402
from alarmd.rules import parse_config  # noqa: E402
from bench.harness import add_schemas_option, remove, save, schemas_for  # noqa: E402
from downtime.store import DowntimeStore  # noqa: E402
from rexmon.database import open_database  # noqa: E402
from rexmon.sample import Sample  # noqa: E402
from rrdarchive.archive import Archive  # noqa: E402
from rrdarchive.config import ArchiveConfig  # noqa: E402
from rrdarchive.schemas import load_schemas  # noqa: E402

STEP = 60
HISTORY = 10  # samples written before the first cycle
READS = ("fetch", "last_updates", "info")  # the archive's reads the cycle makes
RULES = {
    # a last-value test and a window: every file is fetched
    "mixed": """
rules:
  - {name: cpu-high, match: "bench.*.*", critical: "> 990", warning: "> 950"}
  - {name: cpu-avg, match: "bench.*.*", warning: "avg(5m) > 900", for: 5m}
""",
    # last-value tests only (one with a ``for``): read by their last updates
    "last": """
rules:
  - {name: cpu-high, match: "bench.*.*", critical: "> 990", warning: "> 950"}
  - {name: cpu-held, match: "bench.*.*", warning: "> 900", for: 5m}
""",
}


PHASES = ("match", "read", "evaluate", "store", "dispatch")


class Phases:
    """Seconds spent in (and RSS after) each phase of a tick, timed by wrapping the
    daemon's methods on the instances (the code under test is unchanged)."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self.rss = dict.fromkeys(PHASES, 0.0)

    def reset(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)

    def wrap(self, owner: Any, method: str, phase: str, rss: bool = True) -> None:
        """Time ``owner.method`` into ``phase``; ``rss``: read the RSS after each call
        (not for the per-metric reads: reading /proc 50k times would be the cost)."""
        original = getattr(owner, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            begun = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - begun
                if rss:
                    self.rss[phase] = rss_mb()

        setattr(owner, method, timed)

    def split(self) -> dict[str, float]:
        """The phases, evaluate being the pass minus its listing and reading."""
        found = dict(self.seconds)
        found["evaluate"] -= found["match"] + found["read"]
        return found


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def metric_name(index: int) -> str:
    return f"bench.m{index // 1000:03d}.s{index % 1000:03d}"


def value_of(index: int, cycle: int) -> float:
    return float((index * 7 + cycle * 13) % 1000)


def prepare(root: Path, metrics: int, clock: Clock, schemas: Path) -> tuple[Archive, float]:
    """The archive of ``metrics`` files with some history; returns it and set-up seconds."""
    started = time.perf_counter()
    marker = root / "last-write"
    archive = Archive(ArchiveConfig(root.resolve(), load_schemas(schemas)), clock)
    if marker.exists():
        clock.now = float(marker.read_text()) + STEP
        return archive, time.perf_counter() - started
    root.mkdir(parents=True, exist_ok=True)
    clock.now = float(int(time.time()) // STEP * STEP - HISTORY * STEP)
    for cycle in range(HISTORY):
        write(archive, metrics, cycle, clock, root)
        clock.now += STEP
    return archive, time.perf_counter() - started


def write(archive: Archive, metrics: int, cycle: int, clock: Clock, root: Path) -> None:
    now = int(clock.now)
    samples = [Sample(metric_name(i), now, value_of(i, cycle)) for i in range(metrics)]
    refused = [v for v in archive.write(samples) if not v.stored]
    if refused:
        raise RuntimeError(f"{len(refused)} samples refused, e.g. {refused[0]}")
    (root / "last-write").write_text(str(now))


def measure(
    work: Path, pairs: int, cycles: int, schemas: Path, rule_set: str, profile: bool = False
) -> dict[str, Any]:
    metrics = pairs // 2
    root = work / f"rrd-{schemas.stem}-{pairs}"
    clock = Clock(0.0)
    archive, setup = prepare(root, metrics, clock, schemas)
    database = work / f"alarmd-{pairs}.db"
    remove(database.parent / (database.name + "-wal"))
    database.unlink(missing_ok=True)
    engine = open_database(f"sqlite:///{database}")
    downtimes = DowntimeStore(engine, clock=clock)
    downtimes.migrate()
    rules = parse_config(RULES[rule_set], {}, "bench-rules.yaml")
    config = DaemonConfig(rules, AlarmdConfig(rules=Path("bench-rules.yaml")))
    daemon = Daemon(
        config,
        archive,
        downtimes,
        Notifier(rules.receivers),
        clock,
        lambda seconds: None,
        leadership=AlwaysLeader(),
    )
    daemon.store.migrate()
    timings: list[float] = []
    parts: list[dict[str, float]] = []
    phases = Phases()
    phases.wrap(daemon.cycle, "_pairs", "match")
    for method in READS:
        if hasattr(archive, method):
            phases.wrap(archive, method, "read", rss=False)
    phases.wrap(daemon.cycle, "run", "evaluate")
    phases.wrap(daemon.store, "save", "store")
    phases.wrap(daemon.dispatcher, "dispatch", "dispatch")
    first = None
    for cycle in range(cycles + 1):
        write(archive, metrics, HISTORY + cycle, clock, root)
        phases.reset()
        report = daemon.tick()
        if report.pairs != pairs:
            raise RuntimeError(f"evaluated {report.pairs} pairs, expected {pairs}")
        part = {"cycle": report.seconds, "changed": report.changed, **phases.split()}
        part.update({f"rss_{phase}": phases.rss[phase] for phase in PHASES})
        if first is None:
            first = part
        else:
            timings.append(report.seconds)
            parts.append(part)
        clock.now += STEP
    write(archive, metrics, HISTORY + cycles + 1, clock, root)
    tracemalloc.start()
    daemon.tick()
    _, peak = tracemalloc.get_traced_memory()
    top = tracemalloc.take_snapshot().statistics("lineno")[:8]
    tracemalloc.stop()
    if profile:
        print("    tracemalloc, largest allocations still held after the traced cycle:")
        for stat in top:
            print(f"      {stat.size / 2**20:7.1f} MB {stat.count:>8} blocks  {stat.traceback}")
        clock.now += STEP
        write(archive, metrics, HISTORY + cycles + 2, clock, root)
        profiler = cProfile.Profile()
        profiler.runcall(daemon.tick)
        stats = pstats.Stats(profiler)
        print("    cProfile of one more steady cycle (top 15 by own time):")
        stats.sort_stats("tottime").print_stats(15)
    daemon.close(timeout=1.0)
    archive.close()
    engine.dispose()
    assert first is not None
    steady = statistics.median(timings)
    split = {phase: round(statistics.median(p[phase] for p in parts), 3) for phase in PHASES}
    rss = {phase: round(max(p[f"rss_{phase}"] for p in parts), 1) for phase in PHASES}
    rss["read"] = rss["evaluate"]  # read inside the pass: its RSS is the pass's
    return {
        "pairs": pairs,
        "metrics": metrics,
        "schemas": schemas.name,
        "rules": rule_set,
        "setup_seconds": round(setup, 1),
        "first_cycle_seconds": round(first["cycle"], 3),
        "cycle_seconds_median": round(steady, 3),
        "cycle_seconds_max": round(max(timings), 3),
        "phase_seconds_median": split,
        "rss_mb_after_phase": rss,
        "changed_records_per_cycle": int(statistics.median(p["changed"] for p in parts)),
        "per_pair_microseconds": round(steady / pairs * 1e6, 1),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/rexmon-bench-alarmd"))
    parser.add_argument("--budget", type=float, default=270.0, help="seconds for all sizes")
    parser.add_argument("--rules", choices=sorted(RULES), default="mixed")
    parser.add_argument("--profile", action="store_true", help="cProfile/tracemalloc top")
    add_schemas_option(parser)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    schemas = schemas_for(args.schemas, max(sizes) // 2)
    args.work.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget
    results: list[dict[str, Any]] = []
    skipped: list[str] = []
    for pairs in sizes:
        if results:  # extrapolate this size's cost from the last one, linearly
            last = results[-1]
            per_pair = (last["setup_seconds"] + 6 * last["cycle_seconds_max"]) / last["pairs"]
            fresh = not (args.work / f"rrd-{schemas.stem}-{pairs}" / "last-write").exists()
            estimate = pairs * (
                per_pair if fresh else 6 * last["cycle_seconds_max"] / last["pairs"]
            )
            if time.monotonic() + estimate > deadline:
                skipped.append(f"{pairs} pairs: about {estimate:.0f}s more, over the budget")
                print(f"skipping {pairs} pairs: about {estimate:.0f}s, over the budget")
                continue
        print(f"{pairs} pairs ...", flush=True)
        figures = measure(args.work, pairs, args.cycles, schemas, args.rules, args.profile)
        results.append(figures)
        print(
            f"  {figures['pairs']:>7} pairs ({figures['metrics']} files): cycle"
            f" {figures['cycle_seconds_median']:.3f}s median, first"
            f" {figures['first_cycle_seconds']:.3f}s, {figures['per_pair_microseconds']:.0f}"
            f" us/pair, {figures['changed_records_per_cycle']} records written per cycle,"
            f" tracemalloc peak {figures['tracemalloc_peak_mb']} MB, max RSS"
            f" {figures['max_rss_mb']} MB",
            flush=True,
        )
        for phase in PHASES:
            print(
                f"      {phase:<9} {figures['phase_seconds_median'][phase]:7.3f}s"
                f"  RSS after {figures['rss_mb_after_phase'][phase]:7.1f} MB"
            )
    for smaller, larger in zip(results, results[1:], strict=False):
        factor = larger["cycle_seconds_median"] / smaller["cycle_seconds_median"]
        print(
            f"  {smaller['pairs']} -> {larger['pairs']} pairs: cycle x{factor:.1f}"
            f" for x{larger['pairs'] / smaller['pairs']:.0f} pairs"
        )
    save(
        "alarmd", {"target": "10k pairs under 2 s per cycle", "sizes": results, "skipped": skipped}
    )


if __name__ == "__main__":
    main()
