"""Byte sizes written by people in config files: ``512``, ``64KB``, ``10MB``, ``1GiB``."""

from __future__ import annotations

import re

_SIZE = re.compile(r"(\d+)\s*([kmgt]?i?b?)\Z", re.ASCII | re.IGNORECASE)
_FACTORS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int:
    """Bytes in ``text``; K/M/G/T are binary multiples (1 MB = 1,048,576 bytes)."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"expected a size like '512', '64KB' or '10MB', got {text!r}")
    unit = match.group(2).lower().rstrip("b").rstrip("i")
    return int(match.group(1)) * _FACTORS[unit]
