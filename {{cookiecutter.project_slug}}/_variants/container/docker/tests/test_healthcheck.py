"""The container's HEALTHCHECK against a real socket: healthy, refused, and a non-200 answer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from {{ cookiecutter.package_name }} import healthcheck
from {{ cookiecutter.package_name }}.service.config import ServerSettings


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


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"PORT": "9000"},
        {"PORT": "8080", "AIP_HTTP_PORT": "8081"},
        {"PORT": "8080", "AIP_HTTP_PORT": "8081", "SAGEMAKER_BIND_TO_PORT": "8082"},
    ],
)
def test_checks_the_port_the_service_listens_on(environ: dict[str, str]) -> None:
    """The check reads the port as the service does, without importing it."""
    with pytest.MonkeyPatch.context() as patch:
        for variable in ("PORT", "AIP_HTTP_PORT", "SAGEMAKER_BIND_TO_PORT"):
            patch.delenv(variable, raising=False)
        for variable, value in environ.items():
            patch.setenv(variable, value)
        assert healthcheck.port() == ServerSettings.from_env(environ).port
