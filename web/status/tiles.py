"""The overview's host tiles as HTML, written in Python rather than a Jinja macro.

A 1,000-host site has a few thousand tiles; the macro (with ``url_for`` per tile) took
most of a page's time at 100k metrics, this takes a few milliseconds. The text is the
same the template would write: name, a short state text in an ``<abbr>`` (the state is
never colour only), the count of problems, and a title with every count and the rating.
"""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup, escape

from web.display import rating_filter
from web.status.tree import Group


def tiles_html(hosts: Iterable[Group], host_url: str) -> Markup:
    """``<li>`` tiles; ``host_url`` is a host page's address with ``{host}`` in it."""
    parts = []
    for host in hosts:
        status = host.status
        problems = host.problems
        count = f' <span class="tile-count">{problems}</span>' if problems else ""
        title = f"{host.path}: {status.label} — {host.summary}; rating {rating_filter(host.rating)}"
        parts.append(
            f'<li class="tile {status.value}" data-host="{escape(host.path)}">'
            f'<a href="{escape(host_url.format(host=host.name))}" title="{escape(title)}">'
            f'<span class="tile-name">{escape(host.name)}</span> '
            f'<abbr class="tile-state" title="{status.label}">{status.short}</abbr>{count}</a></li>'
        )
    return Markup("".join(parts))
