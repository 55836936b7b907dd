"""Request bodies read once, the same way by every route that takes one.

The body is read whole (the worker has buffered it), refused with 413 over MAX_CONTENT_LENGTH
however it was framed, and parsed as JSON by the service's one parser (``records.parse_json``:
duplicate keys and NaN refused, depth bounded).
"""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import ApiError
from ..records import parse_json


def body_bytes() -> bytes:
    """The request body: 413 over MAX_CONTENT_LENGTH however it was sent, 400 if it cannot be
    read as framed (a bad chunk size, chunks shorter than they say, a body cut short)."""
    limit = request.max_content_length
    # A chunked body (no Content-Length) is cut at the limit without an error: look for more.
    chunked = request.content_length is None
    try:
        body = request.get_data(cache=False)
        too_large = (
            chunked
            and limit is not None
            and len(body) >= limit
            and bool(request.environ["wsgi.input"].read(1))
        )
    except RequestEntityTooLarge:
        raise
    except Exception:  # the server's reader refuses the framing; its error names its internals
        raise ApiError(
            400,
            "malformed_body",
            "The request body could not be read as sent: its chunked encoding is invalid, or "
            "it ended before the length it announced.",
        ) from None
    if too_large:
        raise RequestEntityTooLarge()
    return body


def json_body() -> Any:
    """The request body as JSON: 415 unless declared JSON, 400 unless it parses."""
    if not request.is_json:
        raise ApiError(
            415,
            "unsupported_media_type",
            "Send the body as JSON with the header Content-Type: application/json.",
        )
    try:
        return parse_json(body_bytes())
    except (ValueError, RecursionError) as error:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {error}.") from None
