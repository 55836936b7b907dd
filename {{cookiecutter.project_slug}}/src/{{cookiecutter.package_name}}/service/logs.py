"""JSON logs on stdout: one object per line, each with the request id and the model version.

The same configuration serves the application and gunicorn's own error and access logs, so a
log pipeline parses one shape. Configure it before the app exists (Flask's logging advice).
"""

from __future__ import annotations

import logging
import logging.config
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
# A client's request id is echoed and logged only if it is short and plain: anything else could
# forge log lines or bloat them, so it is replaced by a fresh id.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
# The version that answered the current request; outside requests, the version this process
# serves (set by serving.py when it loads one).
model_version_var: ContextVar[str | None] = ContextVar("model_version", default=None)
_process_model_version: list[str | None] = [None]

access_logger = logging.getLogger("{{ cookiecutter.package_name }}.access")


class ContextFilter(logging.Filter):
    """Stamps every record with the current request id and model version (None outside)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.model_version = model_version_var.get() or _process_model_version[0]
        return True


def set_process_model_version(version: str | None) -> None:
    """Record the version this process serves, for log lines outside a request."""
    _process_model_version[0] = version


def logging_config(level: str = "INFO", access_log: bool = False) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the app and for gunicorn's ``logconfig_dict``.

    ``access_log`` turns gunicorn's own access lines on; the app writes one per request anyway.
    """
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
        "formatter": "json",
        "filters": ["context"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(process)d %(message)s",
                "rename_fields": {"levelname": "level", "name": "logger", "process": "pid"},
                "timestamp": "time",
            }
        },
        "handlers": {"stdout": handler},
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            # gunicorn adds handlers of its own to these two; replace them with ours.
            "gunicorn.error": {"level": level, "handlers": ["stdout"], "propagate": False},
            "gunicorn.access": {
                "level": "INFO" if access_log else "WARNING",
                "handlers": ["stdout"],
                "propagate": False,
            },
        },
    }


def configure_logging(level: str = "INFO", access_log: bool = False) -> None:
    """Send every log record to stdout as one JSON object per line."""
    logging.config.dictConfig(logging_config(level, access_log))


def request_id_from(header: str | None) -> str:
    """The client's request id when it is acceptable, otherwise a new one."""
    if header and _CLIENT_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def _start_request() -> None:
    g.started = time.perf_counter()
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.context_tokens = (request_id_var.set(g.request_id), model_version_var.set(None))


def _finish_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.request_id
    access_logger.info(
        "request",
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "latency_ms": round((time.perf_counter() - g.started) * 1000, 3),
        },
    )
    return response


def _reset_context(_error: BaseException | None) -> None:
    tokens = g.pop("context_tokens", None)
    if tokens:
        request_id_var.reset(tokens[0])
        model_version_var.reset(tokens[1])


def init_app(app: Flask) -> None:
    """Give every request an id, echo it, and write one access line per request."""
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_reset_context)
