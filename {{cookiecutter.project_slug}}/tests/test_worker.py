"""The worker's request framing: a thread takes a request only once all of it has arrived,
however the client splits it; what HTTP does not allow is left to gunicorn's parser to refuse.

The worker itself, with slow clients really connected, is tested against real gunicorn by the
template's ``tests/test_hostile_clients.py``.
"""

from __future__ import annotations

import json

import pytest

from {{ cookiecutter.package_name }}.server.worker import Framing, RequestReader, refusal
from {{ cookiecutter.package_name }}.service.adapters.oip import DIALECT as OIP_DIALECT

BODY = b'{"instances": []}'
HEAD = b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
WITH_LENGTH = HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY
CHUNKED = (
    HEAD
    + b"Transfer-Encoding: chunked\r\n\r\n"
    + b"5\r\n"
    + BODY[:5]
    + b"\r\n%x;name=value\r\n" % (len(BODY) - 5)
    + BODY[5:]
    + b"\r\n0\r\n\r\n"
)
WITH_TRAILER = CHUNKED[: -len(b"\r\n")] + b"Checksum: 1\r\n\r\n"


def reader(max_body_bytes: int = 1024) -> RequestReader:
    return RequestReader(max_header_bytes=4096, max_body_bytes=max_body_bytes)


def feed_in_pieces(request: bytes, size: int, max_body_bytes: int = 1024) -> list[Framing]:
    read = reader(max_body_bytes)
    return [read.feed(request[i : i + size]) for i in range(0, len(request), size)]


@pytest.mark.parametrize(
    "request_bytes",
    [WITH_LENGTH, CHUNKED, WITH_TRAILER, b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"],
    ids=["content-length", "chunked", "chunked with a trailer", "no body"],
)
@pytest.mark.parametrize("size", [1, 2, 7, 10_000])
def test_a_request_is_complete_only_at_its_last_byte(request_bytes: bytes, size: int) -> None:
    framings = feed_in_pieces(request_bytes, size)
    assert framings[-1] is Framing.COMPLETE
    assert set(framings[:-1]) <= {Framing.INCOMPLETE}


def test_pipelined_bytes_after_a_request_leave_it_complete() -> None:
    assert reader().feed(WITH_LENGTH + WITH_LENGTH[:10]) is Framing.COMPLETE


@pytest.mark.parametrize(
    "request_bytes",
    [
        HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + BODY + b"\r\n0\r\n\r\n",
        HEAD + b"Transfer-Encoding: chunked\r\n\r\n-1\r\n" + BODY + b"\r\n0\r\n\r\n",
        HEAD + b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nabcde\r\n0\r\n\r\n",
        HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcde\r\n0\r\n\r\n",
        HEAD + b"Transfer-Encoding: gzip\r\n\r\n",
        HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nabcde",
        HEAD + b"Content-Length: -5\r\n\r\n",
        HEAD + b"No colon here\r\n\r\n",
        b"GET / HTTP/1.1\nHost: x\n\n",
        b"GET /" + b"a" * 5000,
    ],
    ids=[
        "chunk size zz",
        "chunk size -1",
        "chunk size 0x5",
        "chunk longer than its size",
        "a coding other than chunked",
        "two lengths",
        "a negative length",
        "a header without a colon",
        "bare line feeds",
        "headers over the limit",
    ],
)
def test_what_http_forbids_goes_to_the_parser_at_once(request_bytes: bytes) -> None:
    assert reader().feed(request_bytes) is Framing.MALFORMED


def test_a_declared_body_over_the_limit_is_too_large_before_it_is_sent() -> None:
    head = HEAD + b"Content-Length: 1025\r\n\r\n"
    assert reader().feed(head) is Framing.TOO_LARGE


def test_chunks_over_the_limit_are_too_large_as_they_arrive() -> None:
    chunk = b"200\r\n" + b"x" * 0x200 + b"\r\n"
    framings = feed_in_pieces(HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 3, 100)
    assert Framing.TOO_LARGE in framings
    assert Framing.COMPLETE not in framings


def test_a_client_that_expects_100_continue_is_known_once_its_headers_are_in() -> None:
    read = reader()
    assert read.feed(HEAD + b"Expect: 100-continue\r\nContent-Length: 4\r\n\r\n") is (
        Framing.INCOMPLETE
    )
    assert read.expects_continue
    assert read.feed(b"{}{}") is Framing.COMPLETE


def test_a_refusal_is_a_whole_response_in_the_error_shape() -> None:
    head, _, body = refusal(408, "Request Timeout", "request_timeout", "Too slow.").partition(
        b"\r\n\r\n"
    )
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"Connection: close" in head
    assert b"Content-Length: %d" % len(body) in head
    answer = json.loads(body)
    assert answer["error"] == {"code": "request_timeout", "message": "Too slow."}
    assert f"X-Request-ID: {answer['request_id']}".encode() in head


def test_a_refusal_on_a_protocol_s_path_is_in_that_protocol_s_shape() -> None:
    """A tritonclient sent a 413 by the worker, before any app, still reads a text error."""
    response = refusal(413, "Content Too Large", "payload_too_large", "Too big.", OIP_DIALECT)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 Content Too Large\r\n")
    assert json.loads(body) == {"error": "Too big."}
