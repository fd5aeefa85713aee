"""A running server whose site is in a zone far from UTC, with the alarm rules of the
other graph tests (thresholds drawn on graphs), and readers of rrdtool's SVG text."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from tests.fixtures_server import RexmonServer
from tests.web.monitored import RULES

ZONE = "Asia/Kolkata"  # UTC+05:30: no label lands on a UTC hour by chance


def zoned_server(make: Callable[..., RexmonServer], zone: str = ZONE) -> RexmonServer:
    def edit(config: dict[str, Any], directory: Path) -> None:
        (directory / "alarms.yaml").write_text(RULES)
        config["alarmd"] = {"rules": "alarms.yaml"}
        config["site"] = {"name": "zoned site", "timezone": zone}

    return make(edit=edit)


def svg_texts(svg: bytes) -> list[str]:
    """The words of digits, ``:``, ``%``, ``-`` and ``.`` an rrdtool SVG draws in its axis
    font, left to right per line.

    Cairo draws text as glyph outlines (``<symbol>`` paths placed with ``<use>``), not as
    ``<text>``: each outline is compared with those of a reference graph that writes
    ``REFERENCE`` in the same font and size, as a person reading the picture would."""
    by_outline: dict[str, str] = {}
    for size in LEGEND_SIZES:
        reference = _reference_svg(size)
        known = _legend_line(reference, _symbols(reference))
        by_outline.update(zip(known, REFERENCE, strict=True))
    rows: dict[float, list[tuple[float, str]]] = {}
    outlines = _symbols(svg)
    for href, x, y in _uses(svg):
        outline = outlines.get(href, "")
        rows.setdefault(y, []).append((x, by_outline.get(outline, "?") if outline else " "))
    words: list[str] = []
    for y in sorted(rows):
        word, previous = "", None
        for x, char in sorted(rows[y]):
            if previous is not None and x - previous > GLYPH_ADVANCE + 1:
                words.append(word)
                word = ""
            word, previous = word + char, x
        words.append(word)
    return [part for word in words for part in word.split()]


REFERENCE = "0123456789:%-.()/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
GLYPH_ADVANCE = 7  # DejaVu Sans Mono at rrdtool's axis and legend sizes
LEGEND_SIZES = (7, 8)  # rrdtool's axis font size, and its legend font size
_XLINK = "{http://www.w3.org/1999/xlink}href"


def _reference_svg(size: int) -> bytes:
    import tempfile

    import rrdtool

    with tempfile.TemporaryDirectory() as directory:
        rrd = f"{directory}/ref.rrd"
        rrdtool.create(rrd, "--start", "1000000000", "DS:value:GAUGE:120:U:U",
                       "RRA:AVERAGE:0.5:1:10")  # fmt: skip
        out = f"{directory}/ref.svg"
        rrdtool.graph(out, "--imgformat", "SVG", "--font", f"LEGEND:{size}",
                      "--start", "1000000000", "--end", "1000000600", "--",
                      f"DEF:a={rrd}:value:AVERAGE", "LINE1:a#000000",
                      f"COMMENT:{REFERENCE.replace(':', chr(92) + ':')}")  # fmt: skip
        return Path(out).read_bytes()


def _symbols(svg: bytes) -> dict[str, str]:
    """``#glyph-id`` -> the outline's path data."""
    found = {}
    for node in ElementTree.fromstring(svg).iter("{http://www.w3.org/2000/svg}symbol"):
        path = node.find("{http://www.w3.org/2000/svg}path")
        found["#" + node.get("id", "")] = "" if path is None else path.get("d", "")
    return found


def _uses(svg: bytes) -> list[tuple[str, float, float]]:
    return [
        (node.get(_XLINK, ""), float(node.get("x", "0")), float(node.get("y", "0")))
        for node in ElementTree.fromstring(svg).iter("{http://www.w3.org/2000/svg}use")
    ]


def _legend_line(svg: bytes, outlines: dict[str, str]) -> list[str]:
    """The outlines of the reference graph's lowest line (its comment), left to right."""
    uses = _uses(svg)
    lowest = max(y for _, _, y in uses)
    return [outlines[href] for href, x, y in sorted(uses, key=lambda u: u[1]) if y == lowest]


def clock_labels(texts: list[str]) -> list[str]:
    return [text for text in texts if re.fullmatch(r"\d\d:\d\d", text)]


def numbers(texts: list[str]) -> list[float]:
    return [float(text) for text in texts if re.fullmatch(r"-?\d+(\.\d+)?", text)]
