"""API keys: every route but the probes refuses a request without a valid key, with a 401 in
the error shape; either header works; keys rotate; no key, no start."""

from __future__ import annotations

import importlib
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.service import auth
from {{ cookiecutter.package_name }}.service.api import docs
from {{ cookiecutter.package_name }}.service.app import create_app
from {{ cookiecutter.package_name }}.service.config import ConfigError

KEY = "test-key-0123456789abcdef"
OTHER_KEY = "other-key-0123456789abcdef"
#: Every route that needs the key, with a request each would answer without error.
PROTECTED = [
    ("POST", "/v1/predict"),
    ("POST", "/v1/feedback"),
    ("GET", "/v1/model"),
    ("GET", "/v1/monitoring"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    ("GET", "/no/such/route"),
]


@pytest.fixture
def keyed_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(API_KEYS=f"{KEY},{OTHER_KEY}")


@pytest.fixture
def keyed(keyed_app: Flask) -> FlaskClient:
    """A client that sends only the headers each test gives (not the suite's key)."""
    client = keyed_app.test_client()
    del client.environ_base["HTTP_X_API_KEY"]
    return client


def body_for(path: str, instance: dict[str, Any]) -> dict[str, Any] | None:
    if path == "/v1/predict":
        return {"instances": [instance]}
    if path == "/v1/feedback":
        return {"feedback": [{"id": "x-0", "actual": 1}]}
    return None


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-key-0123456789"},
        {"X-API-Key": "short"},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": "Bearer "},
    ],
    ids=["no key", "wrong bearer", "wrong header key", "another scheme", "empty bearer"],
)
def test_a_protected_route_refuses_without_a_valid_key(
    keyed: FlaskClient, method: str, path: str, headers: dict[str, str], instance: dict[str, Any]
) -> None:
    response = keyed.open(path, method=method, json=body_for(path, instance), headers=headers)
    assert response.status_code == 401
    body = response.get_json()
    assert body["error"]["code"] == "unauthorized"
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {KEY}"},
        {"X-API-Key": KEY},
        {"Authorization": f"bearer {OTHER_KEY}"},
    ],
    ids=["bearer", "x-api-key", "the other key"],
)
def test_a_valid_key_in_either_header_passes(
    keyed: FlaskClient, method: str, path: str, headers: dict[str, str], instance: dict[str, Any]
) -> None:
    response = keyed.open(path, method=method, json=body_for(path, instance), headers=headers)
    assert response.status_code != 401


@pytest.mark.parametrize(
    "path", ["/livez", "/readyz", "/docs", *(f"/docs/{name}" for name in sorted(docs.ASSETS))]
)
def test_probes_and_the_docs_page_need_no_key(keyed: FlaskClient, path: str) -> None:
    assert keyed.get(path).status_code == 200


def test_the_docs_page_is_open_but_not_the_document_it_shows(keyed: FlaskClient) -> None:
    assert keyed.get("/docs").status_code == 200
    assert keyed.get("/docs/swagger-ui-bundle.js").status_code == 200
    assert keyed.get("/openapi.json").status_code == 401
    unknown = keyed.get("/docs/swagger-ui.js")  # open, but not one of the page's files
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "not_found"


def test_the_docs_page_asks_for_the_key_and_authorizes_the_documented_scheme(
    keyed: FlaskClient,
) -> None:
    page = keyed.get("/docs").get_data(as_text=True)
    assert "window.prompt" not in page
    assert 'id="api-key"' in page
    assert 'request.headers["X-API-Key"] = key' in page
    (scheme,) = re.findall(r'preauthorizeApiKey\("(\w+)"', page)
    document = keyed.get("/openapi.json", headers={"X-API-Key": KEY}).get_json()
    assert document["components"]["securitySchemes"][scheme] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }


def test_metrics_may_be_left_open(make_app: Callable[..., Flask]) -> None:
    client = make_app(API_KEYS=KEY, METRICS_NEED_KEY="false").test_client()
    del client.environ_base["HTTP_X_API_KEY"]
    assert client.get("/metrics").status_code == 200
    assert client.get("/v1/model").status_code == 401


def test_keys_come_from_a_file_too_and_rotate_without_a_restart(
    make_app: Callable[..., Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "RELOAD_SECONDS", 0.0)
    keys = tmp_path / "keys"
    keys.write_text(f"{KEY}\n")
    client = make_app(API_KEYS="", API_KEYS_FILE=str(keys)).test_client()
    assert client.get("/v1/model", headers={"X-API-Key": KEY}).status_code == 200
    keys.write_text(f"{KEY}\n{OTHER_KEY}\n")  # the new key added beside the old
    time.sleep(0.01)
    assert client.get("/v1/model", headers={"X-API-Key": OTHER_KEY}).status_code == 200
    keys.write_text(f"{OTHER_KEY}\n")  # the old one retired
    time.sleep(0.01)
    assert client.get("/v1/model", headers={"X-API-Key": KEY}).status_code == 401
    keys.write_text("")  # emptied by mistake: the keys that worked keep working
    time.sleep(0.01)
    assert client.get("/v1/model", headers={"X-API-Key": OTHER_KEY}).status_code == 200


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({}, "no key is set"),
        ({"API_KEYS": " , "}, "no key is set"),
        ({"API_KEYS": "too-short"}, "at least 16 characters"),
        ({"API_KEYS_FILE": "/no/such/file"}, "API_KEYS_FILE='/no/such/file'"),
    ],
)
def test_no_usable_key_no_start(store_root: Path, environ: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        create_app({"MODEL_STORE": str(store_root), **environ})


def test_gunicorn_refuses_to_start_without_a_key(
    monkeypatch: pytest.MonkeyPatch, store_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODEL_STORE", str(store_root))
    monkeypatch.delenv("API_KEYS", raising=False)
    monkeypatch.delitem(sys.modules, "{{ cookiecutter.package_name }}.gunicorn_conf", raising=False)
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module("{{ cookiecutter.package_name }}.gunicorn_conf")
    assert exit_.value.code == 1
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "no key is set" in line["message"]


def test_the_key_is_never_logged(
    keyed: FlaskClient, instance: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    keyed.post("/v1/predict", json={"instances": [instance]}, headers={"X-API-Key": KEY})
    keyed.post("/v1/predict", json={"instances": [instance]}, headers={"X-API-Key": KEY[:-1]})
    output = capsys.readouterr()
    assert KEY[:-1] not in output.out + output.err


def test_the_openapi_document_declares_the_key(keyed: FlaskClient) -> None:
    document = keyed.get("/openapi.json", headers={"X-API-Key": KEY}).get_json()
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert document["security"] == [{"bearer": []}, {"apiKey": []}]
    assert document["paths"]["/livez"]["get"]["security"] == []
    assert "401" in document["paths"]["/v1/predict"]["post"]["responses"]
    assert "security" not in document["paths"]["/v1/predict"]["post"]
