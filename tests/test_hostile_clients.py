"""Slow layer: the default bake under real gunicorn, facing clients that are slow, idle, broken
or inventive. Every connection goes to 127.0.0.1 and is closed here; the server is stopped by
its pid. The figures (share answered within a second, series counts) go to CI's log.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from http_client import request, wait_for
from report import say
from served import SETOSA, Installed, Server

pytestmark = pytest.mark.slow

BODY = json.dumps({"instances": [SETOSA]}).encode()
HEAD = (
    b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n" % len(BODY)
)
JSON_TYPE = {"Content-Type": "application/json"}
SLOW_CLIENTS = 50
SLOW_SECONDS = 12


@pytest.fixture(scope="module")
def store(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("store") / "models"
    installed.cli(root, "train-example")
    return root


@pytest.fixture(scope="module", params=["1", "2"], ids=["answered-in-loop", "thread-pool"])
def server(
    start_server: Callable[..., Server], store: Path, request: pytest.FixtureRequest
) -> Server:
    """The service as it ships, 2 workers, but a short REQUEST_READ_TIMEOUT: each worker's
    event loop runs the app (THREADS=1, the default), or a pool of 2 threads does."""
    server = start_server(store, REQUEST_READ_TIMEOUT="3", THREADS=request.param)
    wait_for(server.port, "/readyz", 200)
    return server


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def exchange(server: Server, raw: bytes) -> bytes:
    """Send ``raw``, close the sending side, and read until the server closes."""
    with closing(connect(server)) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def parse(response: bytes) -> tuple[int, dict[str, str], object]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, json.loads(body)


def slow_client(server: Server, kind: str, until: float) -> None:
    """Hold a connection open until ``until``: sending nothing, or its request a byte every
    half second (headers, or the body after whole headers); reconnect when refused."""
    sent = {"idle": len(HEAD + BODY), "headers": 0, "body": len(HEAD)}[kind]
    request_bytes = HEAD + BODY
    sock = connect(server)
    with closing(sock):
        sock.sendall(request_bytes[:sent])
        while time.monotonic() < until:
            if sent < len(request_bytes) and kind != "idle":
                try:
                    sock.send(request_bytes[sent : sent + 1])
                    sent += 1
                except OSError:  # refused with 408 after REQUEST_READ_TIMEOUT: start again
                    sock.close()
                    sock = connect(server)
                    sent = 0 if kind == "headers" else len(HEAD)
                    sock.sendall(request_bytes[:sent])
            time.sleep(0.5)
        sock.close()


@pytest.fixture
def slow_clients(server: Server) -> Iterator[float]:
    """SLOW_CLIENTS connections, a third of each kind, open for SLOW_SECONDS; yields when
    they all end."""
    until = time.monotonic() + SLOW_SECONDS
    kinds = ["idle", "headers", "body"]
    threads = [
        threading.Thread(target=slow_client, args=(server, kinds[i % 3], until))
        for i in range(SLOW_CLIENTS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # all connected
    yield until
    for thread in threads:
        thread.join(timeout=SLOW_SECONDS + 30)


def test_slow_and_idle_connections_do_not_starve_predictions(
    server: Server, slow_clients: float, pytestconfig: pytest.Config
) -> None:
    latencies, failures = [], []
    while time.monotonic() < slow_clients - 0.5:
        started = time.monotonic()
        try:  # a new connection each time: the path a new client takes, accept included
            answer = request(
                server.port,
                "POST",
                "/v1/predict",
                BODY,
                {"Content-Type": "application/json"},
                timeout=5,
            )
            if answer.status != 200:
                failures.append(answer.status)
        except OSError as error:
            failures.append(repr(error))
        latencies.append(time.monotonic() - started)
        time.sleep(0.02)
    within = sum(latency <= 1 for latency in latencies)
    share = within / len(latencies)
    latencies.sort()
    say(
        pytestconfig,
        "slow clients",
        f"with {SLOW_CLIENTS} slow or idle connections open for {SLOW_SECONDS} s: "
        f"{within} of {len(latencies)} predictions answered 200 within 1 s ({share:.1%}); "
        f"p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms; "
        f"failures {failures[:5]}",
    )
    assert not failures
    assert share >= 0.99


def test_a_request_that_does_not_arrive_in_time_is_a_408(server: Server) -> None:
    with closing(connect(server)) as sock:
        sock.sendall(HEAD + BODY[:5])
        sock.settimeout(10)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    status, headers, body = parse(received)
    assert status == 408
    assert headers["content-type"] == "application/json"
    assert body["error"]["code"] == "request_timeout"
    assert body["request_id"] == headers["x-request-id"]
    assert "REQUEST_READ_TIMEOUT" in body["error"]["message"]


MALFORMED = [
    ("a request line that is not HTTP", b"GARBAGE\r\n\r\n", 400, "malformed_request"),
    (
        "a path over 4 KB",
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        414,
        "request_line_too_long",
    ),
    (
        "a header over 8 KB",
        b"GET /livez HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 9000 + b"\r\n\r\n",
        431,
        "headers_too_large",
    ),
    ("two lengths", HEAD[:-2] + b"Content-Length: 3\r\n\r\n" + BODY, 400, "malformed_request"),
    (
        "a body announced over the limit",
        HEAD.replace(b"%d" % len(BODY), b"9999999"),
        413,
        "payload_too_large",
    ),
    (
        "chunk size zz",
        HEAD.replace(b"Content-Length", b"X-Was")[:-2]
        + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        400,
        "malformed_body",
    ),
    (
        "chunk size -1",
        HEAD.replace(b"Content-Length", b"X-Was")[:-2]
        + b"Transfer-Encoding: chunked\r\n\r\n-1\r\n{}\r\n0\r\n\r\n",
        400,
        "malformed_body",
    ),
    (
        "chunks shorter than their size",
        HEAD.replace(b"Content-Length", b"X-Was")[:-2]
        + b"Transfer-Encoding: chunked\r\n\r\n40\r\n"
        + BODY
        + b"\r\n0\r\n\r\n",
        400,
        "malformed_body",
    ),
]


@pytest.mark.parametrize(
    ("raw", "status", "code"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
def test_a_malformed_request_is_a_4xx_in_the_error_shape(
    server: Server, raw: bytes, status: int, code: str
) -> None:
    answer_status, headers, body = parse(exchange(server, raw))
    assert (answer_status, body["error"]["code"]) == (status, code)
    assert headers["content-type"] == "application/json"
    assert body["request_id"] == headers["x-request-id"]


def test_a_client_that_expects_100_continue_gets_it_before_its_body(server: Server) -> None:
    head = HEAD[:-2] + b"Expect: 100-continue\r\n\r\n"
    with closing(connect(server)) as sock:
        sock.sendall(head)
        sock.settimeout(1)  # curl waits a second for it before sending the body anyway
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(BODY)
        sock.settimeout(10)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 200
        assert json.loads(response.read())["predictions"]


def test_pipelined_requests_are_all_answered_in_order(server: Server) -> None:
    count = 300  # more than a worker could answer from within the answer to the last one
    paths = [b"/livez" if index % 2 else b"/readyz" for index in range(count)]
    raw = b"".join(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path for path in paths)
    received = exchange(server, raw[:-4] + b"\r\nConnection: close\r\n\r\n")
    answers = received.split(b"HTTP/1.1 ")[1:]
    assert len(answers) == count
    assert all(answer.startswith(b"200 ") for answer in answers)
    said = [json.loads(answer.partition(b"\r\n\r\n")[2]) for answer in answers]
    expected = ["ready" if path == b"/readyz" else "alive" for path in paths]
    assert [body["status"] for body in said] == expected


def test_a_client_that_does_not_read_its_answers_holds_no_worker(
    server: Server, pytestconfig: pytest.Config
) -> None:
    """Each of 4 clients sends large predictions without ever reading: their answers fill the
    sockets. Other clients are answered meanwhile, and the 4 are closed once they have not
    taken their answers within REQUEST_READ_TIMEOUT."""
    big = json.dumps({"instances": [SETOSA] * 1000}).encode()
    raw = HEAD.replace(b"%d" % len(BODY), b"%d" % len(big)) + big
    stuck = []
    for _ in range(4):
        sock = socket.socket()
        # Before connecting, so that the window it offers stays small: the answers back up.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.settimeout(0.5)
        try:
            for _ in range(20):
                sock.sendall(raw)
        except OSError:  # its send buffer is full too: the server stopped reading it
            pass
        stuck.append(sock)
    try:
        started = time.monotonic()
        latencies = []
        for _ in range(30):
            asked = time.monotonic()
            answer = request(server.port, "POST", "/v1/predict", BODY, JSON_TYPE, timeout=5)
            assert answer.status == 200
            latencies.append(time.monotonic() - asked)
        time.sleep(max(0.0, started + 3 + 2 - time.monotonic()))  # REQUEST_READ_TIMEOUT + 2 s
        closed = 0
        for sock in stuck:
            sock.settimeout(5)
            try:
                while sock.recv(1 << 20):
                    pass
                closed += 1  # the server closed it after the answers it had sent
            except ConnectionResetError:
                closed += 1  # or reset it, with answers unread
            except TimeoutError:
                pass  # still open: the server is still holding it
    finally:
        for sock in stuck:
            sock.close()
    say(
        pytestconfig,
        "clients that do not read",
        f"with 4 clients not reading their answers: 30 of 30 predictions answered 200, max "
        f"{max(latencies) * 1000:.1f} ms; {closed} of 4 stuck connections closed",
    )
    assert max(latencies) < 2
    assert closed == 4


def series(metrics: str, name: str) -> list[str]:
    return re.findall(rf"^{name}\{{.*$", metrics, re.MULTILINE)


def made_up_method(index: int) -> bytes:
    """A distinct method for each index, of capital letters."""
    letters = b""
    while True:
        index, digit = divmod(index, 26)
        letters += bytes([65 + digit])
        if not index:
            return b"XX" + letters  # gunicorn takes methods of 3 letters or more


def test_made_up_methods_add_no_series(server: Server, pytestconfig: pytest.Config) -> None:
    before = request(server.port, "GET", "/metrics").body.decode()
    with closing(connect(server)) as sock:
        for index in range(3000):  # on one kept-alive connection, as fast as it answers
            sock.sendall(b"%s /v1/predict HTTP/1.1\r\nHost: x\r\n\r\n" % made_up_method(index))
            response = http.client.HTTPResponse(sock)
            response.begin()
            response.read()
            assert response.status == 405
    after = request(server.port, "GET", "/metrics").body.decode()
    methods = {
        re.search(r'method="([^"]*)"', line)[1] for line in series(after, "http_requests_total")
    }
    say(
        pytestconfig,
        "made-up methods",
        f"after 3,000 made-up methods: {len(series(after, 'http_requests_total'))} "
        f"http_requests_total series (before: {len(series(before, 'http_requests_total'))}); "
        f"/metrics {len(before)} -> {len(after)} bytes; methods {sorted(methods)}",
    )
    assert methods <= {"GET", "POST", "other"}
    assert re.search(r'http_requests_total\{[^}]*method="other"[^}]*status="405"', after)
