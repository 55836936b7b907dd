"""Every 4xx and 5xx has the same body: {"error": {"code", "message"}, "request_id"}."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.model.features import FEATURES
from {{ cookiecutter.package_name }}.service import inference


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error", "request_id"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "X-Model-Version" not in response.headers  # no model answered
    return body["error"]


def test_unknown_route(client: FlaskClient) -> None:
    error = assert_error(client.get("/v2/predict"), 404, "not_found")
    assert "/v2/predict" in error["message"]


def test_wrong_method_lists_the_allowed_ones(client: FlaskClient) -> None:
    response = client.get("/v1/predict")
    error = assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    assert "allowed: OPTIONS, POST" in error["message"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_body_not_declared_json(
    client: FlaskClient, instance: dict[str, Any], content_type: str | None
) -> None:
    response = client.post(
        "/v1/predict", data=json.dumps({"instances": [instance]}), content_type=content_type
    )
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "data",
    [
        b'{"instances": [',
        b"{'instances': []}",
        b"",
        b"\xff\xfe\xfa not utf-8",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["truncated", "single-quotes", "empty", "not-utf8", "deeply-nested"],
)
def test_malformed_json(client: FlaskClient, data: bytes) -> None:
    response = client.post("/v1/predict", data=data, content_type="application/json")
    error = assert_error(response, 400, "malformed_json")
    assert error["message"].startswith("The body is not valid JSON")


def test_chunked_body_over_the_limit(
    make_app: Callable[..., Flask], instance: dict[str, Any]
) -> None:
    client = make_app(MAX_CONTENT_LENGTH="2048").test_client()
    # A valid request padded past the limit, with no Content-Length, as a chunked upload is.
    body = json.dumps({"instances": [instance]}).encode() + b" " * 4096
    response = client.post(
        "/v1/predict",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_error(response, 413, "payload_too_large")


def test_body_over_the_limit(make_app: Callable[..., Flask], instance: dict[str, Any]) -> None:
    client = make_app(MAX_CONTENT_LENGTH="2048").test_client()
    body = json.dumps({"instances": [instance] * 100})
    assert len(body) > 2048
    error = assert_error(
        client.post("/v1/predict", data=body, content_type="application/json"),
        413,
        "payload_too_large",
    )
    assert "2048" in error["message"]


def test_unexpected_error_is_a_generic_500_and_a_logged_traceback(
    make_app: Callable[..., Flask],
    instance: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = make_app().test_client()  # built here, so its logs go to capsys

    def broken_predict(*_args: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(inference, "score", broken_predict)
    response = client.post("/v1/predict", json={"instances": [instance]})
    error = assert_error(response, 500, "internal_error")
    assert "secret detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [logged] = [line for line in lines if line["message"] == "unhandled error"]
    assert "secret detail" in logged["exc_info"]
    assert logged["request_id"] == response.headers["X-Request-ID"]
    assert "request id" in error["message"]


def test_a_prediction_that_is_not_finite_is_refused_by_record(
    client: FlaskClient,
    instance: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def overflowing_predict(_model: Any, records: list) -> list[dict[str, Any]]:
        return [{"value": float("inf") if index == 1 else 1.0} for index in range(len(records))]

    monkeypatch.setattr(inference, "predict", overflowing_predict)
    response = client.post("/v1/predict", json={"instances": [instance] * 3})
    error = assert_error(response, 422, "unscorable_input")
    assert list(error["fields"]) == ["instances.1"]


def test_a_huge_error_report_is_capped(client: FlaskClient) -> None:
    record = {f"unknown_{index}": 1 for index in range(40)}
    response = client.post("/v1/predict", json={"instances": [record] * 100})
    error = assert_error(response, 422, "validation_error")
    assert len(error["fields"]) == 50
    # Checking stopped after the second record: the unknown keys, and every feature missing.
    problems = 2 * (40 + len(FEATURES))
    assert error["message"] == (
        f"Invalid input: instances: Checked items 0 to 1 of 100, then stopped: they hold "
        f"{problems} problems already. ({problems} more; 'fields' lists the first 50)"
    )


def test_not_ready_is_a_503_with_the_reason(
    empty_store_app: Flask, instance: dict[str, Any]
) -> None:
    client = empty_store_app.test_client()
    error = assert_error(
        client.post("/v1/predict", json={"instances": [instance]}), 503, "model_not_ready"
    )
    assert "promoted" in error["message"]
