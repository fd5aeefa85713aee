"""How rexmon's programs log: to stderr, without timestamps under systemd (journald adds
them) and with syslog priority prefixes (``<4>``) that journald reads, so warnings and
errors have their priority in ``journalctl -p``; or one JSON object per line
(``--log-format json``) for log shippers."""

from __future__ import annotations

import json
import logging
import os
import sys

FORMATS = ("text", "json")
_PRIORITIES = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class JournalFormatter(logging.Formatter):
    """``<4>message``: journald reads the priority from the prefix."""

    def format(self, record: logging.LogRecord) -> str:
        return f"<{_PRIORITIES.get(record.levelno, 6)}>{super().format(record)}"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (and the exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(
    logger: str = "", *, verbose: bool = False, log_format: str = "text", prefix: str = ""
) -> None:
    """Send the records of ``logger`` (the root logger by default) to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    elif os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter(prefix + "%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s " + prefix + "%(message)s"))
    target = logging.getLogger(logger)
    target.handlers[:] = [handler]
    target.setLevel(logging.DEBUG if verbose else logging.INFO)
