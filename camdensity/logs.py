"""Logging set-up: text or JSON lines on stderr, the same for the CLI and the server (uvicorn)."""

from __future__ import annotations

import logging.config
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS

from camdensity.settings import LogSettings, log_settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


def log_config(settings: LogSettings | None = None) -> dict[str, Any]:
    """A `logging.config` dict (uvicorn's `log_config` takes it as is)."""
    settings = settings or log_settings()
    if settings.log_format == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter", "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            # uvicorn adds its message again with terminal colours: noise in a JSON line.
            "reserved_attrs": [*RESERVED_ATTRS, "color_message"],
        }
    else:
        formatter = {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": settings.log_level},
        "loggers": {
            # uvicorn's own handlers would bypass the format: everything goes through root.
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            # Its access log names the client address and the query string: never on.
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
        },
    }


def configure_logging(settings: LogSettings | None = None) -> None:
    """Send this process's logs to stderr in the configured format."""
    logging.config.dictConfig(log_config(settings))
