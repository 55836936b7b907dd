"""The container's HEALTHCHECK against a real socket: healthy, refused, and a non-200 answer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from {{ cookiecutter.package_name }} import healthcheck


@pytest.fixture
def served(empty_store_app: Flask) -> Iterator[BaseWSGIServer]:
    """The app (alive, not ready: its store is empty) on a free loopback port."""
    server = make_server("127.0.0.1", 0, empty_store_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join()


def test_healthy_when_live(served: BaseWSGIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert healthcheck.check(served.port) is None
    monkeypatch.setenv("PORT", str(served.port))
    assert healthcheck.main() == 0


def test_unhealthy_on_another_status(served: BaseWSGIServer) -> None:
    assert healthcheck.check(served.port, "/readyz") == (
        f"http://127.0.0.1:{served.port}/readyz answered 503"
    )


def test_unhealthy_when_nothing_listens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, and is closed now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("PORT", str(port))
    assert healthcheck.main() == 1
    assert "did not answer" in capsys.readouterr().err
