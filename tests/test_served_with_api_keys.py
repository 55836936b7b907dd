"""Slow layer: a bake with auth=api_key, served by real gunicorn on 127.0.0.1: with a key it keeps
the contract, without one (or with a wrong one) every route but the probes answers 401 in the
error shape; no start without a key. The server is stopped by its pid."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from combos import COMBOS, Combo
from http_client import request, wait_for
from served import Installed, Server

pytestmark = pytest.mark.slow

KEY = "served-key-0123456789abcdefgh"
ROTATED = "rotated-key-0123456789abcdefgh"
KEYED = next(combo for combo in COMBOS if combo.api_key and combo.framework == "sklearn")


@pytest.fixture(scope="module")
def installed(install: Callable[[Combo], Installed]) -> Installed:
    return install(KEYED)


@pytest.fixture(scope="module")
def server(
    installed: Installed,
    start_server: Callable[..., Server],
    tmp_path_factory: pytest.TempPathFactory,
) -> Server:
    store = tmp_path_factory.mktemp("store") / "models"
    installed.cli(store, "train-example")  # the CLI needs no key: it serves nothing
    server = start_server(store, API_KEYS=f"{KEY},{ROTATED}")
    wait_for(server.port, "/readyz", 200)
    return server


def calls(server: Server) -> list[tuple[str, str, object]]:
    """One call of each protected route, as a client makes it."""
    document = request(server.port, "GET", "/openapi.json", headers={"X-API-Key": KEY}).json()
    example = example_instance(document)
    return [
        ("POST", "/v1/predict", {"instances": [example]}),
        ("POST", "/v1/feedback", {"feedback": [{"id": "no-such-id", "actual": 1.0}]}),
        ("GET", "/v1/model", None),
        ("GET", "/v1/monitoring", None),
        ("GET", "/metrics", None),
        ("GET", "/openapi.json", None),
    ]


def example_instance(document: dict) -> dict:
    """A valid record from the OpenAPI document's Instance schema."""
    schema = document["components"]["schemas"]["Instance"]["properties"]
    values = {"number": 1.5, "integer": 2, "boolean": True}
    return {
        name: field["enum"][0] if "enum" in field else values[field["type"]]
        for name, field in schema.items()
    }


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
@pytest.mark.parametrize("key", [KEY, ROTATED])
def test_with_a_key_every_route_keeps_the_contract(server: Server, header: str, key: str) -> None:
    value = f"Bearer {key}" if header == "Authorization" else key
    for method, path, body in calls(server):
        answer = request(server.port, method, path, body, {header: value})
        assert answer.status == 200, (path, answer.body[:300])
        if path == "/v1/predict":
            assert answer.headers["x-model-version"] == "1"


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "wrong-key-0123456789abcdef"}, {"Authorization": f"Basic {KEY}"}],
    ids=["no key", "a wrong key", "another scheme"],
)
def test_without_a_valid_key_every_route_but_the_probes_is_a_401(
    server: Server, headers: dict[str, str]
) -> None:
    for method, path, body in [*calls(server), ("GET", "/no/such/route", None)]:
        answer = request(server.port, method, path, body, headers)
        assert answer.status == 401, path
        payload = answer.json()
        assert payload["error"]["code"] == "unauthorized"
        assert payload["request_id"] == answer.headers["x-request-id"]
        assert answer.headers["www-authenticate"].startswith("Bearer")
    for path in ("/livez", "/readyz", "/docs"):
        assert request(server.port, "GET", path, headers=headers).status == 200
    log = server.log.read_text()
    assert KEY not in log
    assert "wrong-key-0123456789abcdef" not in log


def test_no_key_no_start(installed: Installed, tmp_path: Path) -> None:
    env = {**installed.env(tmp_path), "PORT": "1"}
    env.pop("API_KEYS", None)
    completed = subprocess.run(
        [str(installed.python), "-m", "gunicorn", "--config",
         f"python:{installed.package}.gunicorn_conf", f"{installed.package}.wsgi:app"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert completed.returncode == 1
    line = json.loads(completed.stdout.strip().splitlines()[-1])
    assert line["level"] == "CRITICAL"
    assert "no key is set" in line["message"]
