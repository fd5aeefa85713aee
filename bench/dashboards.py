"""Dashboard pages: a 12-panel dashboard over 100 hosts, the page and all its PNG panels
served by the app (gunicorn, real HTTP), as a browser without JavaScript loads it.

    .venv/bin/python bench/dashboards.py [--hosts 100] [--pages 10] [--hours 3]
        [--schemas shipped|small]

Six metrics per host (600 files under the shipped schemas by default), each in two panels
of different modes (top 10 by max or last with the rest summed, sum, average, lines,
stacked), so a panel draws 100 series. A page is the HTML plus its 12 PNGs fetched one
after the other; p50/p99 per page and per panel are printed. Target: page p50 < 1 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    add_schemas_option,
    percentile,
    rexmon_server,
    save,
    schemas_for,
    scratch_directory,
)
from rexmon.sample import Sample  # noqa: E402
from rrdarchive.archive import Archive  # noqa: E402
from web.config import load_server_config  # noqa: E402

KINDS = ("cpu.user_seconds", "cpu.system_seconds", "load.one", "load.five",
         "memory.used_bytes", "net.eth0.rx_bytes")  # fmt: skip
MODES = (("top", "by: max"), ("sum", ""), ("top", "by: last"), ("average", ""),
         ("lines", ""), ("average", ""), ("stacked", ""), ("sum", ""),
         ("top", "by: max"), ("average", ""), ("top", "by: last"), ("sum", ""))  # fmt: skip


def dashboard_file() -> str:
    rows = []
    for number, (mode, extra) in enumerate(MODES):
        kind = KINDS[number // 2]
        options = f", top: 10, {extra}" if mode == "top" else ""
        rows.append(f'      - - {{title: "{kind} {mode}", metrics: "host.*.{kind}",'
                    f" mode: {mode}{options}}}")  # fmt: skip
    return "dashboards:\n  fleet:\n    title: Fleet\n    rows:\n" + "\n".join(rows) + "\n"


def fill(config_path: Path, hosts: int, hours: int, now: int) -> int:
    """``hours`` of one-minute samples for every host's metrics, through the archive."""
    config = load_server_config(config_path)
    archive_config = dataclasses.replace(config.archive, max_age=hours * 3600 + 86400)
    first = (now - hours * 3600) // 60 * 60
    count = 0
    with Archive(archive_config) as archive:
        for host in range(hosts):
            samples = [
                Sample(f"host.bench{host:03d}.{kind}", t, float((t // 60 + host * 7 + k) % 97))
                for k, kind in enumerate(KINDS)
                for t in range(first, now - 60, 60)
            ]
            verdicts = archive.write(samples)
            assert all(v.stored for v in verdicts), [str(v) for v in verdicts if not v.stored][:3]
            count += len(samples)
    return count


def load_page(http: requests.Session, url: str) -> tuple[float, list[float]]:
    began = time.perf_counter()
    page = http.get(f"{url}/d/fleet", params={"from": "-3h"}, timeout=120)
    assert page.status_code == 200, page.text[:300]
    panels = []
    for src in re.findall(r'<img src="([^"]+)"', page.text):
        started = time.perf_counter()
        png = http.get(url + src.replace("&amp;", "&"), timeout=120)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG"), png.text[:300]
        panels.append(time.perf_counter() - started)
    assert len(panels) == len(MODES), len(panels)
    return time.perf_counter() - began, panels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--hours", type=int, default=3)
    add_schemas_option(parser)
    options = parser.parse_args()
    schemas = schemas_for(options.schemas, options.hosts * len(KINDS))
    with scratch_directory("rexmon-dashboards-bench-") as base:
        with rexmon_server(base, schemas, workers=2, threads=2) as server:
            server.config_path.with_name("dashboards.yaml").write_text(dashboard_file())
            began = time.perf_counter()
            samples = fill(server.config_path, options.hosts, options.hours, int(time.time()))
            print(f"filled {samples:,} samples in {time.perf_counter() - began:.1f} s")
            http = requests.Session()
            load_page(http, server.url)  # the first page opens the archive and database
            pages, panels = [], []
            for _ in range(options.pages):
                total, each = load_page(http, server.url)
                pages.append(total)
                panels += each
    figures = {
        "hosts": options.hosts,
        "panels": len(MODES),
        "series_per_panel": options.hosts,
        "schemas": options.schemas,
        "pages": options.pages,
        "page_p50_ms": round(statistics.median(pages) * 1000, 1),
        "page_p99_ms": round(percentile(pages, 0.99) * 1000, 1),
        "panel_p50_ms": round(statistics.median(panels) * 1000, 1),
        "panel_p99_ms": round(percentile(panels, 0.99) * 1000, 1),
    }
    print(
        f"page (HTML + {len(MODES)} PNGs, one after the other): p50"
        f" {figures['page_p50_ms']} ms, p99 {figures['page_p99_ms']} ms (target p50 < 1000 ms);"
        f" panel p50 {figures['panel_p50_ms']} ms, p99 {figures['panel_p99_ms']} ms"
    )
    save("dashboards", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
