"""One error shape for every 4xx and 5xx the service answers.

    {"error": {"code": "<machine_code>", "message": "<human text>", "fields": {...}},
     "request_id": "..."}

``fields`` appears only when input was wrong; it maps a dotted path such as
``instances.3.sepal_length`` to the problems found there.

The standard protocols' routes answer in their own error bodies instead (``dialects.py``):
the same status, code and message, worded as their clients expect.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from . import dialects

logger = logging.getLogger(__name__)

# Machine codes of the HTTP errors raised by Flask and Werkzeug themselves.
HTTP_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


#: At most this many input paths are listed in ``fields``; the message gives the full count.
MAX_REPORTED_FIELDS = 50
#: Bodies up to this size are read in full even when refused with 413 (see _drain_body).
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024
#: Longest piece of a client's input (a key, a name) an answer repeats; the rest is cut.
MAX_ECHOED_CHARS = 100


def echoed(text: str) -> str:
    """``text`` as an answer may repeat it: cut to MAX_ECHOED_CHARS, so that a huge key in
    the body cannot make a huge error body."""
    return text if len(text) <= MAX_ECHOED_CHARS else text[:MAX_ECHOED_CHARS] + "..."


class ApiError(Exception):
    """An error the client should see as it is: status, machine code and a clear message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers


def too_large_message(limit: int | None) -> str:
    """What a body over MAX_CONTENT_LENGTH is told, by the app or by the worker."""
    return f"The request body is larger than the limit of {limit} bytes (MAX_CONTENT_LENGTH)."


def error_body(code: str, message: str, fields: Mapping[str, list[str]] | None = None) -> dict:
    """The contract's error body for the current request."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = dict(fields)
    return {"error": error, "request_id": g.get("request_id")}


def flatten_messages(messages: Any, path: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict as ``{"instances.3.sepal_length": [...]}``.

    Errors about a whole object (marshmallow's ``_schema`` key) belong to the object's own
    path, and to ``body`` at the top.
    """
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = echoed(str(key))
            child = path if key == "_schema" else f"{path}.{name}" if path else name
            for name, problems in flatten_messages(value, child).items():
                flat.setdefault(name, []).extend(problems)
        return flat
    problems = messages if isinstance(messages, list) else [messages]
    return {path or "body": [str(problem) for problem in problems]}


def _summary(fields: Mapping[str, list[str]]) -> str:
    """The first problem in words, and how many more ``fields`` holds."""
    first, problems = next(iter(fields.items()))
    more = len(fields) - 1
    if not more:
        return f"Invalid input: {first}: {problems[0]}"
    if len(fields) <= MAX_REPORTED_FIELDS:
        return f"Invalid input: {first}: {problems[0]} ({more} more in 'fields')"
    return (
        f"Invalid input: {first}: {problems[0]} ({more} more; "
        f"'fields' lists the first {MAX_REPORTED_FIELDS})"
    )


def _capped(fields: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The first MAX_REPORTED_FIELDS entries: a small bad body must not get a huge answer."""
    return dict(list(fields.items())[:MAX_REPORTED_FIELDS])


def _respond(
    status: int,
    code: str,
    message: str,
    fields: Mapping[str, list[str]] | None = None,
    headers: Any = None,
) -> Response:
    """The error as the request's dialect words it: the envelope (its ``fields`` capped), or a
    protocol's body."""
    dialect = dialects.current()
    if dialect.error_body is None:
        body = error_body(code, message, _capped(fields) if fields else None)
    else:
        if status == 422:
            status = dialect.invalid_input_status
        body = dialect.error_body(status, code, message, fields)
    response = jsonify(body)
    response.status_code = status
    if headers:
        response.headers.extend(headers)
    return response


def _handle_api_error(error: ApiError) -> Response:
    headers = list((error.headers or {}).items())
    return _respond(error.status, error.code, error.message, error.fields, headers)


def _handle_validation_error(error: ValidationError) -> Response:
    fields = flatten_messages(error.messages)
    return _respond(422, "validation_error", _summary(fields), fields)


def _http_message(error: HTTPException) -> str:
    if error.code == 404:
        return f"No endpoint at {echoed(request.path)}; see /openapi.json for the API."
    if error.code == 405:
        allowed = ", ".join(sorted(getattr(error, "valid_methods", None) or ()))
        return f"{echoed(request.method)} is not allowed on {echoed(request.path)}; allowed: {allowed}."
    if error.code == 413:
        return too_large_message(request.max_content_length)
    return error.description or error.name


def _drain_body() -> None:
    """Read and drop an oversized body (up to a bound) before answering 413.

    A client that sends its whole body before reading the answer would otherwise find the
    connection closed under it and never see the 413.
    """
    remaining = request.content_length
    if not remaining or remaining > DRAIN_LIMIT_BYTES:
        return
    stream = request.environ["wsgi.input"]
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 16))
        if not chunk:
            break
        remaining -= len(chunk)


def _handle_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if status == 413:
        _drain_body()
    code = HTTP_ERROR_CODES.get(status, error.name.lower().replace(" ", "_"))
    # Keep headers such as Allow (405); the body becomes ours.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return _respond(status, code, _http_message(error), headers=headers)


def _handle_unexpected(error: Exception) -> Response:
    # The traceback goes to the log only; the client gets the request id to quote.
    logger.exception("unhandled error", extra={"path": request.path})
    message = "Internal error; the service logged it under this request id."
    return _respond(500, "internal_error", message)


def init_app(app: Flask) -> None:
    """Answer every error, expected or not, in the contract's shape."""
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(ValidationError, _handle_validation_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_unexpected)
