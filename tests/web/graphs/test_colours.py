from __future__ import annotations

import re
from pathlib import Path

import pytest

from web.graphs.overlays import COLOURS

CSS = Path(__file__).parents[3] / "web" / "static" / "rexmon.css"
CHARTS_JS = Path(__file__).parents[3] / "web" / "static" / "charts.js"  # metric.js, dashboard.js
BADGES = ("ok", "warning", "critical", "stale", "planned", "unplanned", "firing", "resolved")


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    bright, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (bright + 0.05) / (dark + 0.05)


def cascade(css: str, badge: str) -> dict[str, str]:
    """The colour and background a ``.badge.<badge>`` gets, later rules winning, with the
    custom properties of ``:root`` (last definition wins) resolved."""
    text = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    variables: dict[str, str] = {}
    found = {"color": "#ffffff"}  # .badge's own colour is white
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", text):
        names = [s.strip() for s in selectors.split(",")]
        for prop, value in re.findall(r"([-\w]+)\s*:\s*([^;]+)", body):
            value = value.strip()
            if ":root" in names and prop.startswith("--"):
                variables[prop] = value
            if f".badge.{badge}" in names and prop in ("color", "background"):
                found[prop] = value
    return {
        prop: variables.get(m.group(1), value) if (m := re.match(r"var\((--[\w-]+)\)", value))
        else value
        for prop, value in found.items()
    }  # fmt: skip


def full(colour: str) -> str:
    return "#" + "".join(c * 2 for c in colour[1:]) if len(colour) == 4 else colour[:7]


@pytest.mark.parametrize("badge", BADGES)
def test_every_state_badge_text_meets_the_4_5_to_1_contrast(badge: str) -> None:
    colours = cascade(CSS.read_text(), badge)
    assert "background" in colours, (badge, colours)
    ratio = contrast(full(colours["color"]), full(colours["background"]))
    assert ratio >= 4.5, (badge, colours, round(ratio, 2))


def test_the_unplanned_band_warning_line_and_alarm_marks_have_distinct_okabe_ito_colours() -> None:
    okabe_ito = {"#000000", "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00",
                 "#cc79a7"}  # fmt: skip
    names = ("unplanned", "warning", "fired", "cleared", "planned", "critical")
    drawn = {name: COLOURS[name][:7].lower() for name in names}
    assert set(drawn.values()) <= okabe_ito, drawn
    assert len(set(drawn.values())) == len(drawn), drawn
    css = CSS.read_text().lower()
    assert COLOURS["unplanned"][:7] in css and COLOURS["warning"][:7] in css


def test_the_interactive_chart_uses_the_colours_of_the_pictures() -> None:
    script = CHARTS_JS.read_text().lower()
    for name in ("warning", "critical", "fired", "cleared"):
        assert COLOURS[name] in script, name
