"""How rexmon's programs log: to stderr, without timestamps under systemd (journald adds
them) and with syslog priority prefixes (``<4>``) that journald reads, so warnings and
errors have their priority in ``journalctl -p``; or one JSON object per line
(``--log-format json``) for log shippers."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

FORMATS = ("text", "json")
LOG_FORMAT_ENV = "REXMON_LOG_FORMAT"  # how `rexmon-web serve` tells gunicorn's settings
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


def formatter(log_format: str = "text", prefix: str = "") -> logging.Formatter:
    """JSON lines, journald's priority prefixes under systemd, else ``LEVEL message``."""
    if log_format == "json":
        return JsonFormatter()
    if os.environ.get("JOURNAL_STREAM"):
        return JournalFormatter(prefix + "%(message)s")
    return logging.Formatter("%(levelname)s " + prefix + "%(message)s")


def configure_logging(
    logger: str = "", *, verbose: bool = False, log_format: str = "text", prefix: str = ""
) -> None:
    """Send the records of ``logger`` (the root logger by default) to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format, prefix))
    target = logging.getLogger(logger)
    target.handlers[:] = [handler]
    target.setLevel(logging.DEBUG if verbose else logging.INFO)


def dict_config(log_format: str = "text", prefix: str = "") -> dict[str, Any]:
    """The same logging as a ``logging.config.dictConfig`` dict, for a server that takes
    one (gunicorn's ``logconfig_dict``): the root logger and gunicorn's error and access
    logs all on stderr, each record once."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "rexmon",
        "stream": "ext://sys.stderr",
    }
    own = {"level": "INFO", "handlers": ["stderr"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"rexmon": {"()": formatter, "log_format": log_format, "prefix": prefix}},
        "handlers": {"stderr": handler},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {"gunicorn.error": own, "gunicorn.access": dict(own)},
    }
