"""A minimal HTTP client for driving a served bake on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | str | Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Answer:
    """One request to 127.0.0.1:port; a non-bytes, non-str body is sent as JSON."""
    headers = dict(headers or {})
    if body is not None and not isinstance(body, bytes | str):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()


def wait_for(port: int, path: str, status: int, timeout: float = 60) -> Answer:
    """Poll ``path`` until it answers ``status``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Answer | str = "no answer"
    while time.monotonic() < deadline:
        try:
            last = request(port, "GET", path, timeout=5)
            if last.status == status:
                return last
        except OSError as error:
            last = repr(error)
        time.sleep(0.2)
    raise AssertionError(f"{path} did not answer {status} within {timeout}s; last: {last}")
