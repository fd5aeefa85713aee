"""The error base of rexmon and the errors of the shared pieces (names, samples, config)."""

from __future__ import annotations


class RexmonError(Exception):
    """Base of every error rexmon raises on purpose; the edges catch this."""


class ConfigError(RexmonError):
    """A configuration file is wrong; the message names file, line and key."""

    def __init__(self, message: str, *, source: str = "", line: int = 0, key: str = "") -> None:
        self.source = source
        self.line = line
        self.key = key
        self.detail = message
        where = source + (f":{line}" if line else "")
        prefix = ": ".join(p for p in (where, key) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class InvalidMetricName(RexmonError, ValueError):
    """A metric id or glob that breaks the naming rules; never turned into a path."""


class InvalidSample(RexmonError, ValueError):
    """One sample that cannot be stored: bad value, time, type or name."""


class InvalidThreshold(RexmonError, ValueError):
    """A Nagios or Munin threshold range that cannot be read."""


class InvalidCheckResult(RexmonError, ValueError):
    """One check result that cannot be stored: the message names the field."""


class InvalidTime(RexmonError, ValueError):
    """A time or duration written by a person that cannot be understood."""


class SchemaError(RexmonError):
    """The database schema cannot be brought to the version this code needs."""
