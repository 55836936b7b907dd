"""gunicorn's threaded worker, reading each request whole before the app sees it.

A thread of the stock ``gthread`` worker reads a request itself, so a client that sends
nothing, or its headers or body a byte at a time, holds one of the worker's few threads for as
long as it likes: a few dozen such connections stop the service. This worker reads requests in
its event loop instead, without blocking, the way a buffering proxy (nginx) does, and lets the
app answer a request only once all of it has arrived. A slow client then costs a socket and its
buffered bytes, never a thread. Every request must arrive in full within REQUEST_READ_TIMEOUT
(408 otherwise); a body over MAX_CONTENT_LENGTH is refused (413) before it is read.

With THREADS=1 (the default) the event loop's own thread runs the app, as gunicorn's sync
worker does. Handing each request to a thread and back costs two switches of the GIL, which
under load cost more than the request (benchmarks/compare.py: about twice the CPU per request
for a small model). With THREADS above 1 a pool of that many threads runs the app instead: a
model whose prediction releases the GIL (a large PyTorch network) can then run several at once
per worker. Either way the answer is kept whole and the event loop sends it without blocking:
a client that does not read it gets REQUEST_READ_TIMEOUT to do so, and holds only its buffered
bytes meanwhile, never a thread.

The answers this worker or gunicorn's parser give without the app (400, 408, 413, 414, 431)
have the API's JSON error shape too (on a standard protocol's path, the worker's own answers
have that protocol's), and are counted in ``http_requests_refused_total``.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import json
import re
import selectors
import socket
import time
import uuid
from functools import partial
from typing import Any

from flask import Flask
from gunicorn import util
from gunicorn.workers import gthread

from ..monitoring.http_metrics import REQUESTS_REFUSED
from ..service.config import ServerSettings, Settings
from ..service.dialects import EXTENSION, NATIVE, Dialect
from ..service.errors import echoed, too_large_message
from .balance import LOOK_EVERY_SECONDS, Share

#: Bytes read from a socket at a time.
RECEIVE_SIZE = 64 * 1024
#: How long a refused connection is drained before it is closed (so the client reads the
#: answer instead of a reset), and how much of it.
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 * 1024
#: Longest chunk-size line of a chunked body (size, extensions and CRLF).
MAX_CHUNK_LINE = 1024
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class Framing(enum.Enum):
    """What the bytes received so far are."""

    INCOMPLETE = "incomplete"
    #: A whole request (and perhaps the start of the next): ready for a thread.
    COMPLETE = "complete"
    #: Not framed as HTTP/1.1 allows: gunicorn's parser says why (400, 414, 431).
    MALFORMED = "malformed"
    #: The body is over MAX_CONTENT_LENGTH.
    TOO_LARGE = "too_large"


class RequestReader:
    """Decides, from the bytes of one request received so far, whether all of it is here.

    Only framing is read (where the headers end, Content-Length, chunk sizes); all else is
    gunicorn's parser's. Each byte is looked at a bounded number of times however the request
    is split, so the cost is linear in its size.
    """

    def __init__(self, *, max_header_bytes: int, max_body_bytes: int) -> None:
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.data = bytearray()
        self.expects_continue = False
        self._body_start: int | None = None
        self._length: int | None = None  # Content-Length, when the body is not chunked
        self._chunked = False
        self._position = 0  # where scanning resumes: headers, then the next chunk
        self._body_bytes = 0
        self._in_trailers = False

    def feed(self, data: bytes) -> Framing:
        """Add received bytes; what the request is now."""
        self.data += data
        if self._body_start is None:
            framing = self._read_headers()
            if framing is not Framing.INCOMPLETE or self._body_start is None:
                return framing
        if self._chunked:
            return self._read_chunks()
        assert self._length is not None
        received = len(self.data) - self._body_start
        return Framing.COMPLETE if received >= self._length else Framing.INCOMPLETE

    def _read_headers(self) -> Framing:
        start = max(0, self._position - 3)
        end = self.data.find(b"\r\n\r\n", start)
        if end < 0:
            if self.data.find(b"\n\n", start) >= 0:
                return Framing.MALFORMED  # bare line feeds: the parser refuses them
            self._position = len(self.data)
            too_long = len(self.data) > self.max_header_bytes
            return Framing.MALFORMED if too_long else Framing.INCOMPLETE
        self._body_start = self._position = end + 4
        lines = bytes(self.data[:end]).split(b"\r\n")
        request_line, header_lines = lines[0], lines[1:]
        lengths: list[bytes] = []
        codings: list[bytes] = []
        for line in header_lines:
            name, colon, value = line.partition(b":")
            if not colon:
                return Framing.MALFORMED
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                lengths.append(value)
            elif name == b"transfer-encoding":
                codings.extend(coding.strip() for coding in value.split(b","))
            elif name == b"expect" and value == b"100-continue":
                self.expects_continue = request_line.endswith(b"HTTP/1.1")
        if codings:
            if codings[-1] != b"chunked":
                return Framing.MALFORMED
            self._chunked = True
            return Framing.INCOMPLETE
        if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
            return Framing.MALFORMED
        self._length = int(lengths[0]) if lengths else 0
        if self._length > self.max_body_bytes:
            return Framing.TOO_LARGE
        return Framing.INCOMPLETE

    def _read_chunks(self) -> Framing:
        while True:
            if self._in_trailers:
                return self._read_trailers()
            line_end = self.data.find(b"\r\n", self._position, self._position + MAX_CHUNK_LINE)
            if line_end < 0:
                waiting = len(self.data) - self._position < MAX_CHUNK_LINE
                return Framing.INCOMPLETE if waiting else Framing.MALFORMED
            size_text = bytes(self.data[self._position : line_end]).partition(b";")[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_text):
                return Framing.MALFORMED  # "zz", "-1", "0x5": int() takes some, HTTP none
            size = int(size_text, 16)
            data_start = line_end + 2
            if size == 0:
                self._position = data_start
                self._in_trailers = True
                continue
            if self._body_bytes + size > self.max_body_bytes:
                return Framing.TOO_LARGE
            data_end = data_start + size
            if len(self.data) < data_end + 2:
                return Framing.INCOMPLETE
            if self.data[data_end : data_end + 2] != b"\r\n":
                return Framing.MALFORMED  # the chunk is longer or shorter than its size
            self._body_bytes += size
            self._position = data_end + 2

    def _read_trailers(self) -> Framing:
        if self.data[self._position : self._position + 2] == b"\r\n":
            return Framing.COMPLETE
        if len(self.data) - self._position < 2:
            return Framing.INCOMPLETE
        if self.data.find(b"\r\n\r\n", self._position) >= 0:
            return Framing.COMPLETE
        too_long = len(self.data) - self._position > self.max_header_bytes
        return Framing.MALFORMED if too_long else Framing.INCOMPLETE


def refusal(status: int, reason: str, code: str, message: str, dialect: Dialect = NATIVE) -> bytes:
    """A whole HTTP response in the API's error shape (or the request's protocol's), closing
    the connection."""
    request_id = uuid.uuid4().hex
    if dialect.error_body is None:
        error = {"error": {"code": code, "message": message}, "request_id": request_id}
    else:
        error = dialect.error_body(status, code, message, None)
    body = json.dumps(error).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"X-Request-ID: {request_id}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class _Connection(gthread.TConn):
    """gunicorn's connection, with what this worker keeps about the request being read."""

    def __init__(self, worker: BufferingWorker, *args: Any) -> None:
        super().__init__(*args)
        self.worker = worker
        self.reader: RequestReader | None = None
        self.deadline = 0.0
        self.read_whole = False  # its request has arrived: the app may take it
        self.continued = False  # this worker answered "Expect: 100-continue" itself
        self.unsent = memoryview(b"")  # the part of its answer the client has not taken yet
        self.keep_alive = False  # whether the connection stays open once the answer is sent

    def close(self, graceful: bool = False) -> None:
        if graceful:
            # gunicorn lingers here, blocking the event loop for up to 2 s per client that
            # does not close: the event loop lingers without blocking instead.
            self.worker.linger(self)
        else:
            super().close()


class BufferingWorker(gthread.ThreadWorker):
    """The ``gthread`` worker, but a thread only ever takes a request that has fully arrived."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        server, app = ServerSettings.from_env(), Settings.from_env()
        self.read_timeout = server.request_read_timeout
        self.max_body_bytes = app.max_content_length
        cfg = self.cfg
        self.max_header_bytes = (
            cfg.limit_request_line
            + 2
            + cfg.limit_request_fields * (cfg.limit_request_field_size + 2)
        )
        #: Bytes held for requests being read, and the most this worker holds at once.
        self.buffered = 0
        self.buffer_budget = max(64 * 1024 * 1024, 16 * self.max_body_bytes)
        # Connections being read, answered or lingered on, oldest deadline first (dicts keep
        # order).
        self.reading: dict[_Connection, None] = {}
        self.answering: dict[_Connection, None] = {}
        self.lingering: dict[_Connection, None] = {}
        #: The event loop's thread runs the app itself (THREADS=1); else gthread's pool does.
        self.in_loop = cfg.threads == 1
        self._stopped_at = 0.0  # when the event loop first saw the worker stopping
        #: This worker's place among its siblings' connection counts (see balance.py).
        self.share = Share(self.age)

    def init_process(self) -> None:
        # gunicorn's own error pages (400, 414, 431) are HTML: answer them in the API's shape.
        util.write_error = _write_json_error
        self.share.publish(0)
        super().init_process()

    def set_accept_enabled(self, enabled: bool) -> None:
        """Accept only while no live sibling holds fewer connections (see balance.py)."""
        may = enabled and (not self.alive or self.share.may_accept(self.nr_conns))
        super().set_accept_enabled(may)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """While not accepting, look at the board again within LOOK_EVERY_SECONDS.

        A sibling may have stopped accepting too, on a view of the board a moment older, and
        a new connection does not wake a worker that is not listening: without this both
        wait for an unrelated event (up to a second each time), and a client arriving among
        a crowd of others (50 slow ones at once in tests/test_hostile_clients.py) waited
        seconds in the listen queue.
        """
        if self.alive and not self._accepting:
            timeout = min(timeout, LOOK_EVERY_SECONDS)
        super().wait_for_and_dispatch_events(timeout)

    def accept(self, listener: socket.socket) -> None:
        try:
            client, address = listener.accept()
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        self.nr_conns += 1
        self.share.publish(self.nr_conns)
        self.enqueue_req(_Connection(self, self.cfg, client, address, listener.getsockname()))

    def enqueue_req(self, conn: _Connection) -> None:
        """Every road to the app passes here: new connections, kept-alive ones that became
        readable, and pipelined bytes left over from the last request."""
        if conn.read_whole:
            conn.read_whole = False
            if self.in_loop:
                self._answer_in_loop(conn)
            else:
                super().enqueue_req(conn)
        elif self.in_loop and conn.parser is not None and conn.parser.unreader.buf.getvalue():
            # Pipelined requests: the next one is read on the loop's next turn, not from
            # inside the answer to the last (a long pipeline would recurse without end).
            self.method_queue.defer(self._start_reading, conn)
        else:
            self._start_reading(conn)

    def _start_reading(self, conn: _Connection) -> None:
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        conn.sock.setblocking(False)
        conn.reader = RequestReader(
            max_header_bytes=self.max_header_bytes, max_body_bytes=self.max_body_bytes
        )
        conn.deadline = time.monotonic() + self.read_timeout
        conn.continued = False
        self.reading[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
        if leftover:
            self._received(conn, leftover)

    def _on_readable(self, conn: _Connection, _sock: socket.socket) -> None:
        try:
            data = conn.sock.recv(RECEIVE_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._stop_reading(conn)
            self._drop(conn)
            return
        if not data:  # the client closed: let the parser say what the bytes were, if any
            assert conn.reader is not None
            self._stop_reading(conn)
            if conn.reader.data:
                self._hand_over(conn)
            else:
                self._drop(conn)
            return
        self._received(conn, data)

    def _received(self, conn: _Connection, data: bytes) -> None:
        assert conn.reader is not None
        framing = conn.reader.feed(data)
        self.buffered += len(data)
        if self.buffered > self.buffer_budget:
            self._refuse(conn, 503, "Service Unavailable", "busy", _BUSY)
        elif framing is Framing.TOO_LARGE:
            message = too_large_message(self.max_body_bytes)
            self._refuse(conn, 413, "Content Too Large", "payload_too_large", message)
        elif framing is not Framing.INCOMPLETE:
            self._stop_reading(conn)
            self._hand_over(conn)
        elif conn.reader.expects_continue and not conn.continued:
            # The client waits for this before sending its body; gunicorn would send it
            # only once a thread took the request, which is after the body arrived.
            conn.continued = True
            _send_quietly(conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")

    def _stop_reading(self, conn: _Connection) -> None:
        self.reading.pop(conn, None)
        if conn.reader is not None:
            self.buffered -= len(conn.reader.data)
        self._unregister(conn)

    def _hand_over(self, conn: _Connection) -> None:
        assert conn.reader is not None
        data, conn.reader = bytes(conn.reader.data), None
        conn.sock.setblocking(True)
        try:
            conn.init()
        except OSError:
            self._drop(conn)
            return
        conn.sock.setblocking(False)  # the app's answer is sent by the loop, which never waits
        conn.parser.unreader.unread(data)
        conn.data_ready = conn.read_whole = True
        self.enqueue_req(conn)

    def _answer_in_loop(self, conn: _Connection) -> None:
        self.finish_request(conn, _Done(bool(self.handle(conn))))

    def handle(self, conn: _Connection) -> bool:
        """Run the app for a request read whole (in the loop's thread, or a pool thread) and
        keep its answer, for the loop to send: a client that does not read it never blocks
        a thread."""
        client = conn.sock
        answer = _AnswerBuffer(client)
        conn.sock = answer
        try:
            return super().handle(conn)
        finally:
            conn.sock = client
            conn.unsent = memoryview(answer.data)

    def finish_request(self, conn: _Connection, fs: Any) -> None:
        """In the loop's thread, once the app has answered: send the answer, then keep the
        connection or close it as gthread does."""
        if fs.cancelled() or fs.exception() is not None or not conn.unsent:
            super().finish_request(conn, fs)
            return
        conn.keep_alive = bool(fs.result())
        if self._send_some(conn):
            super().finish_request(conn, _Done(conn.keep_alive))
            return
        # The client is not taking its answer as fast as it comes: send the rest as it does,
        # within REQUEST_READ_TIMEOUT, without reading its next request meanwhile.
        conn.deadline = time.monotonic() + self.read_timeout
        self.buffered += len(conn.unsent)
        self.answering[conn] = None
        try:
            self.poller.register(conn.sock, selectors.EVENT_WRITE, partial(self._on_writable, conn))
        except (OSError, ValueError):
            self._stop_answering(conn)
            self._drop(conn)

    def _send_some(self, conn: _Connection) -> bool:
        """Send what the socket takes now; whether all of the answer is sent (or the client is
        gone, when there is no one to send it to)."""
        try:
            while conn.unsent:
                sent = conn.sock.send(conn.unsent)
                conn.unsent = conn.unsent[sent:]
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            conn.unsent, conn.keep_alive = memoryview(b""), False
        return True

    def _on_writable(self, conn: _Connection, _sock: socket.socket) -> None:
        before = len(conn.unsent)
        done = self._send_some(conn)
        self.buffered -= before - len(conn.unsent)
        if done:
            self._stop_answering(conn)
            super().finish_request(conn, _Done(conn.keep_alive))

    def _stop_answering(self, conn: _Connection) -> None:
        self.answering.pop(conn, None)
        self.buffered -= len(conn.unsent)
        conn.unsent = memoryview(b"")
        self._unregister(conn)

    def _refuse(self, conn: _Connection, status: int, reason: str, code: str, text: str) -> None:
        self._stop_reading(conn)
        REQUESTS_REFUSED.labels(str(status)).inc()
        self.log.info("refused a request before the app: %s %s", status, text)
        _send_quietly(conn.sock, refusal(status, reason, code, text, self._dialect(conn)))
        self.nr_conns -= 1
        self.linger(conn)

    def _dialect(self, conn: _Connection) -> Dialect:
        """The dialect of the request being refused, by the path in its request line: a
        tritonclient sent a 413 must read an error it can print."""
        app = getattr(self, "wsgi", None)
        registered = app.extensions.get(EXTENSION) if isinstance(app, Flask) else None
        if registered is None or conn.reader is None:
            return NATIVE
        line = bytes(conn.reader.data[: self.cfg.limit_request_line + 2]).split(b"\r\n", 1)[0]
        parts = line.split(b" ")
        if len(parts) < 2:
            return NATIVE
        path = parts[1].split(b"?", 1)[0].decode("latin-1")
        found: Dialect = registered.of_request(None, path)
        return found

    def _drop(self, conn: _Connection) -> None:
        self.nr_conns -= 1
        gthread.TConn.close(conn)

    def linger(self, conn: _Connection) -> None:
        """Close a connection after the client has read its answer: send FIN, then read and
        drop what the client still sends, for a while, before closing."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._drain, conn))
        except (OSError, KeyError, ValueError):
            gthread.TConn.close(conn)
            return
        conn.deadline = time.monotonic() + LINGER_SECONDS
        conn.reader = None
        self.lingering[conn] = None

    def _drain(self, conn: _Connection, _sock: socket.socket) -> None:
        try:
            data = conn.sock.recv(LINGER_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close_lingering(conn)

    def _close_lingering(self, conn: _Connection) -> None:
        self.lingering.pop(conn, None)
        self._unregister(conn)
        gthread.TConn.close(conn)

    def _unregister(self, conn: _Connection) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):  # closed, or never registered
            self.poller.unregister(conn.sock)

    def murder_pending(self) -> None:
        """Also called once a second by the event loop: refuse requests past their deadline,
        and close connections lingered on for long enough."""
        super().murder_pending()
        now = time.monotonic()
        if self.alive:
            self.share.publish(self.nr_conns)
            if self._accepting and not self.share.may_accept(self.nr_conns):
                super().set_accept_enabled(False)  # the loop enables it again when it may
        else:
            self.share.leave()
            # Stopping (a signal, or max_requests): a connection that has sent nothing yet gets
            # a moment (its client may be sending), as gunicorn gives kept-alive ones, not the
            # whole REQUEST_READ_TIMEOUT.
            self._stopped_at = self._stopped_at or now
            for conn in [c for c in self.reading if c.reader is not None and not c.reader.data]:
                conn.deadline = min(conn.deadline, self._stopped_at + gthread.STOP_KEEPALIVE_LINGER)
                if conn.deadline <= now:
                    self._stop_reading(conn)
                    self._drop(conn)
        while self.reading:
            conn = next(iter(self.reading))
            if conn.deadline > now:
                break
            assert conn.reader is not None
            if conn.reader.data:
                message = (
                    f"The request did not arrive in full within {self.read_timeout:g} s "
                    "(REQUEST_READ_TIMEOUT)."
                )
                self._refuse(conn, 408, "Request Timeout", "request_timeout", message)
            else:  # an idle connection, never used: nothing to answer
                self._stop_reading(conn)
                self._drop(conn)
        while self.answering:
            conn = next(iter(self.answering))
            if conn.deadline > now:
                break
            self.log.info(
                "closed a connection whose client did not read its answer within %g s",
                self.read_timeout,
            )
            self._stop_answering(conn)
            self._drop(conn)
        while self.lingering:
            conn = next(iter(self.lingering))
            if conn.deadline > now:
                break
            self._close_lingering(conn)

    def handle_request(self, req: Any, conn: _Connection) -> bool:
        if conn.continued:
            req._expected_100_continue = False  # sent already, by this worker
        if self.share.should_end_one(self.nr_conns):
            # The answer says "Connection: close": the client reconnects, to a sibling that
            # holds fewer connections, and nothing it sends is lost.
            req.must_close = True
        return super().handle_request(req, conn)


class _AnswerBuffer:
    """Stands in for a client's socket while the app runs: the answer is kept, for the event
    loop to send without blocking once it is whole. The service's answers are small
    (bounded by the request's size), so keeping one whole costs little."""

    def __init__(self, client: socket.socket) -> None:
        self.client = client
        self.data = bytearray()

    def sendall(self, data: bytes) -> None:
        self.data += data

    def send(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        file.seek(offset)
        data = file.read(count) if count else file.read()
        self.data += data
        return len(data)

    def setblocking(self, flag: bool) -> None:
        """The client's socket stays non-blocking: gunicorn's calls to block are ignored."""

    def gettimeout(self) -> float:
        return 0.0

    def __getattr__(self, name: str) -> Any:
        # Everything else (shutdown and close on an error, the peer's address) is the socket's.
        return getattr(self.client, name)


class _Done:
    """A finished request, as gthread's ``finish_request`` reads the future of one."""

    def __init__(self, keep_alive: bool) -> None:
        self.keep_alive = keep_alive

    def cancelled(self) -> bool:
        return False

    def exception(self) -> BaseException | None:
        return None

    def result(self) -> bool:
        return self.keep_alive


_BUSY = "The service holds as many unread request bytes as it may; retry shortly."

#: The answers gunicorn gives without the app, in the API's error shape.
_SERVER_ANSWERS = {
    400: ("malformed_request", "The request is not valid HTTP/1.1"),
    403: ("forbidden", "The request is refused"),
    414: ("request_line_too_long", "The request line (method, path and query) is too long"),
    417: ("expectation_failed", "The request's Expect header is not one the service meets"),
    431: ("headers_too_large", "The request's headers are too many or too large"),
    501: ("not_implemented", "The request's transfer coding is not supported"),
}
_INTERNAL = ("internal_error", "Internal error; the service logged it")


def _write_json_error(sock: socket.socket, status: int, reason: str, message: str) -> None:
    """gunicorn's ``util.write_error``, answering in the API's error shape."""
    code, text = _SERVER_ANSWERS.get(status, _INTERNAL)
    REQUESTS_REFUSED.labels(str(status)).inc()
    detail = f": {echoed(message)}" if message and status == 400 else ""
    util.write_nonblock(sock, refusal(status, reason, code, f"{text}{detail}."))


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send a short answer without blocking; a client that cannot take it loses it."""
    with contextlib.suppress(OSError):
        sock.send(data)
