"""JSON log lines with request ids and model versions; request ids accepted with care."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def logged_client(make_app: Callable[..., Flask], capsys: pytest.CaptureFixture[str]) -> Any:
    """A client of an app built in the test's body: its JSON logs go to capsys.

    (An app built in a fixture would log to the capture stream of the setup phase.)
    """
    client = make_app().test_client()
    capsys.readouterr()  # drop the start-up lines
    return client


def test_one_access_line_per_request(
    make_app: Callable[..., Flask], capsys: pytest.CaptureFixture[str], instance: dict[str, Any]
) -> None:
    response = logged_client(make_app, capsys).post("/v1/predict", json={"instances": [instance]})
    [line] = [line for line in log_lines(capsys) if line["message"] == "request"]
    assert line["method"] == "POST"
    assert line["path"] == "/v1/predict"
    assert line["status"] == 200
    assert line["latency_ms"] > 0
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["model_version"] == "1"
    assert line["level"] == "INFO"
    assert line["pid"] == os.getpid()
    assert line["time"]


def test_startup_lines_carry_the_model_version(
    make_app: Callable[..., Flask], capsys: pytest.CaptureFixture[str]
) -> None:
    make_app()
    [ready] = [line for line in log_lines(capsys) if line["message"] == "model ready"]
    assert ready["model_version"] == "1"
    assert ready["request_id"] is None


def test_client_request_id_is_echoed(
    make_app: Callable[..., Flask], capsys: pytest.CaptureFixture[str]
) -> None:
    response = logged_client(make_app, capsys).get(
        "/livez", headers={"X-Request-ID": "abc-123.retry:2"}
    )
    assert response.headers["X-Request-ID"] == "abc-123.retry:2"
    assert log_lines(capsys)[-1]["request_id"] == "abc-123.retry:2"


@pytest.mark.parametrize(
    "header",
    ["x" * 129, "two words", 'quote"d', "semi;colon", "tab\tinside", "caf\u00e9"],
    ids=["too-long", "space", "quote", "semicolon", "tab", "non-ascii"],
)
def test_unsafe_request_id_is_replaced(client: FlaskClient, header: str) -> None:
    response = client.get("/livez", headers={"X-Request-ID": header})
    replacement = response.headers["X-Request-ID"]
    assert replacement != header
    assert len(replacement) == 32


def test_request_id_is_made_when_missing(client: FlaskClient) -> None:
    first = client.get("/livez").headers["X-Request-ID"]
    second = client.get("/livez").headers["X-Request-ID"]
    assert len(first) == 32
    assert first != second
