from __future__ import annotations

import pytest

from rexmon.sizes import parse_size


def test_sizes_read_as_people_write_them() -> None:
    assert parse_size("512") == 512
    assert parse_size("64KB") == 64 * 1024
    assert parse_size("10 MiB") == 10 * 1024**2
    assert parse_size("1g") == 1024**3
    with pytest.raises(ValueError, match="expected a size"):
        parse_size("ten megs")
