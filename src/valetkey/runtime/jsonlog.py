"""JSON log lines (``log_format = "json"``): one object a line, for log collectors.

Each line has ``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``, ``message`` and
``request_id`` (the id of the request the line is about, or being answered when the line was
written, else null), and
``exception`` when there is one. uvicorn's own lines (start-up, access log) take the same form.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from valetkey.core.events import REQUEST_ID


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        seconds = time.gmtime(record.created)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", seconds) + f".{int(record.msecs):03d}Z"
        line: dict[str, Any] = {
            "time": stamp,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's ``log_config``: its loggers and valetkey's (through the root) as JSON lines."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    shown = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"json": handler},
        "root": {"handlers": ["json"], "level": shown},
        "loggers": {
            "uvicorn": {"handlers": [], "level": shown, "propagate": True},
            "uvicorn.error": {"level": shown},
            "uvicorn.access": {"handlers": [], "level": shown, "propagate": True},
        },
    }
