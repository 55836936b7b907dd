"""Slow layer: one bake per framework, installed as a package, served by real gunicorn, driven
as a client would drive it. Traffic goes to 127.0.0.1 only; every process started here is stopped
by its pid.
"""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate as validate_openapi

from bakery import TEMPLATE
from combos import SERVED, Combo
from http_client import Answer, request, wait_for
from served import SETOSA, Installed, Server, logged_ids

pytestmark = pytest.mark.slow

VIRGINICA = {"sepal_length": 6.9, "sepal_width": 3.1, "petal_length": 5.7, "petal_width": 2.2}


@pytest.fixture(scope="module", params=SERVED, ids=[combo.id for combo in SERVED])
def installed(request: pytest.FixtureRequest, install: Callable[[Combo], Installed]) -> Installed:
    """One bake per framework, installed; every test here runs against each."""
    return install(request.param)


@pytest.fixture(scope="module")
def store(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the example model trained and promoted by the installed CLI."""
    root = tmp_path_factory.mktemp("store") / "models"
    output = installed.cli(root, "train-example")
    assert "production -> 1" in output
    return root


@pytest.fixture(scope="module")
def server(start_server: Callable[..., Server], store: Path) -> Server:
    """The service on the trained store, ready."""
    server = start_server(store)
    wait_for(server.port, "/readyz", 200)
    return server


def predict(server: Server, instances: list, **headers: str) -> Answer:
    return request(server.port, "POST", "/v1/predict", {"instances": instances}, headers)


def test_predictions(server: Server, installed: Installed) -> None:
    answer = predict(server, [SETOSA, VIRGINICA], **{"X-Request-ID": "e2e-1"})
    assert answer.status == 200, answer.body
    body = answer.json()
    assert [p["label"] for p in body["predictions"]] == ["setosa", "virginica"]
    assert body["model"] == {"name": installed.model_name, "version": "1"}
    assert body["request_id"] == "e2e-1"
    assert answer.headers["x-request-id"] == "e2e-1"
    assert answer.headers["x-model-version"] == "1"


def test_the_whole_iris_data_in_one_batch(server: Server, installed: Installed) -> None:
    csv = next(installed.site.glob("*/model/data/iris.csv")).read_text().splitlines()
    header = csv[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in csv[1:]]
    instances = [{name: float(row[name]) for name in header[:4]} for row in rows]
    answer = predict(server, instances)
    assert answer.status == 200
    labels = [p["label"] for p in answer.json()["predictions"]]
    accuracy = sum(label == row["species"] for label, row in zip(labels, rows, strict=True)) / len(
        rows
    )
    assert accuracy > 0.9


JSON = {"Content-Type": "application/json"}
BAD_REQUESTS = [
    pytest.param("POST", "/v1/predict", {"instances": [{"sepal_length": "5"}]}, {}, 422, id="422"),
    pytest.param("POST", "/v1/predict", '{"instances": [', JSON, 400, id="400"),
    pytest.param("POST", "/v1/predict", "{}", {"Content-Type": "text/plain"}, 415, id="415"),
    pytest.param("GET", "/v1/nothing", None, {}, 404, id="404"),
    pytest.param("DELETE", "/v1/model", None, {}, 405, id="405"),
]
CODES = {422: "validation_error", 400: "malformed_json", 415: "unsupported_media_type"}
CODES |= {404: "not_found", 405: "method_not_allowed"}


@pytest.mark.parametrize(("method", "path", "body", "headers", "status"), BAD_REQUESTS)
def test_errors_in_one_shape(
    server: Server, method: str, path: str, body: object, headers: dict, status: int
) -> None:
    answer = request(server.port, method, path, body, headers)
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/json"
    assert "x-model-version" not in answer.headers
    payload = answer.json()
    assert payload["error"]["code"] == CODES[status]
    assert payload["request_id"] == answer.headers["x-request-id"]
    assert b"Traceback" not in answer.body


def test_oversized_body_is_a_413_the_client_can_read(server: Server) -> None:
    # http.client sends the whole body before it reads the answer: unless the service reads
    # the body first, such a client often finds the connection reset instead of a 413.
    oversized = b"x" * (2 * 1024 * 1024)
    for _ in range(20):
        answer = request(server.port, "POST", "/v1/predict", oversized, JSON)
        assert answer.status == 413
        assert answer.json()["error"]["code"] == "payload_too_large"


def test_chunked_body_over_the_limit_is_a_413(server: Server) -> None:
    valid = json.dumps({"instances": [SETOSA]}).encode()
    chunks = iter([valid, *[b" " * 65536] * 20])  # 1.3 MiB of padding, no Content-Length
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("POST", "/v1/predict", body=chunks, headers=JSON, encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"]["code"] == "payload_too_large"
    finally:
        connection.close()


def test_validation_error_names_the_field(server: Server) -> None:
    answer = predict(server, [SETOSA, {**SETOSA, "petal_width": None}])
    assert answer.json()["error"]["fields"] == {
        "instances.1.petal_width": ["Field may not be null."]
    }


def test_an_unsafe_request_id_is_replaced(server: Server) -> None:
    answer = request(server.port, "GET", "/livez", headers={"X-Request-ID": "a" * 200})
    assert len(answer.headers["x-request-id"]) == 32


def test_model_info_and_openapi(server: Server, store: Path, installed: Installed) -> None:
    info = request(server.port, "GET", "/v1/model").json()
    metadata = json.loads((store / installed.model_name / "1" / "metadata.json").read_text())
    assert (info["version"], info["sha256"], info["serializer"]) == (
        "1",
        metadata["sha256"],
        installed.serializer,
    )
    document = request(server.port, "GET", "/openapi.json").json()
    validate_openapi(document)
    assert request(server.port, "GET", "/docs").status == 200


#: The default bake's served /openapi.json, from which scripts/generate_docs.py writes
#: docs/http-api-reference.md.
OPENAPI_SNAPSHOT = TEMPLATE / "docs" / "reference" / "openapi.json"
DEFAULT_SLUG = "iris-classifier"


def operation_summaries(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (method.upper(), path): operation.get("summary", "")
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def test_openapi_document_is_the_docs_snapshot(server: Server, installed: Installed) -> None:
    """The default bake serves the document the docs' HTTP API reference is made from.

    After a change to the API: UPDATE_OPENAPI_SNAPSHOT=1 rewrites the snapshot, then
    scripts/generate_docs.py rewrites the reference page."""
    served = request(server.port, "GET", "/openapi.json").json()
    snapshot = json.loads(OPENAPI_SNAPSHOT.read_text(encoding="utf-8"))
    if installed.project.name != DEFAULT_SLUG or installed.serializer != "joblib":
        # Another framework's bake: its records' fields differ, but every operation the
        # reference shows is there, with the same summary.
        assert operation_summaries(served) == operation_summaries(snapshot)
        return
    if os.environ.get("UPDATE_OPENAPI_SNAPSHOT") == "1":
        OPENAPI_SNAPSHOT.write_text(json.dumps(served, indent=2) + "\n", encoding="utf-8")
    assert served == snapshot, (
        "the served /openapi.json differs from docs/reference/openapi.json: if the change is "
        "meant, rerun this test with UPDATE_OPENAPI_SNAPSHOT=1, then scripts/generate_docs.py"
    )


def test_concurrent_clients_are_served_by_both_workers(server: Server) -> None:
    statuses: list[int] = []
    # The 8 clients ask at once, round after round: more at a time than one worker answers.
    # (Asked one after another, each new connection may go to whichever worker is idle,
    # the same one every time, which says nothing of the other.)
    together = threading.Barrier(8)

    def client() -> None:
        for _ in range(25):
            together.wait()
            statuses.append(predict(server, [SETOSA]).status)

    # A worker that loads its model after the fork (PyTorch, TensorFlow) may still be loading
    # when the other first answers /readyz: the rounds go on until both have answered.
    deadline = time.monotonic() + 60
    while True:
        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        lines = server.lines()
        pids = {line["pid"] for line in lines if line.get("path") == "/v1/predict"}
        if len(pids) == 2 or time.monotonic() > deadline:
            break
    assert set(statuses) == {200}
    assert len(pids) == 2, [line["message"] for line in lines if "path" not in line][-20:]


def test_every_log_line_is_json_with_request_and_model(
    server: Server, installed: Installed
) -> None:
    lines = server.lines()  # parsing fails on a line that is not JSON
    loggers = {line["logger"] for line in lines}
    package = installed.package
    assert {"gunicorn.error", f"{package}.access", f"{package}.service.serving"} <= loggers
    requests = [line for line in lines if line["message"] == "request"]
    assert requests
    for line in requests:
        assert line["request_id"]
        assert line["latency_ms"] >= 0
        assert {"method", "path", "status", "pid", "time"} <= set(line)
    assert all(line["model_version"] == "1" for line in requests if line["path"] == "/v1/predict")


def test_gunicorn_writes_its_own_access_lines_only_when_asked(
    server: Server, start_server: Callable[..., Server], store: Path
) -> None:
    assert not [line for line in server.lines() if line["logger"] == "gunicorn.access"]
    asked = start_server(store, GUNICORN_ACCESS_LOG="true")
    try:
        wait_for(asked.port, "/readyz", 200)
        answer = predict(asked, [SETOSA])
    finally:
        asked.stop()
    access = [line["message"] for line in asked.lines() if line["logger"] == "gunicorn.access"]
    assert any(
        '"POST /v1/predict HTTP/1.1" 200' in message
        and f"request_id={answer.headers['x-request-id']}" in message
        for message in access
    ), access


def test_empty_store_is_live_not_ready_then_ready_once_a_model_is_promoted(
    start_server: Callable[..., Server], installed: Installed, tmp_path: Path
) -> None:
    store = tmp_path / "models"
    server = start_server(store)
    wait_for(server.port, "/livez", 200)
    not_ready = request(server.port, "GET", "/readyz")
    assert not_ready.status == 503
    assert "promoted to 'production'" in not_ready.json()["error"]["message"]
    assert predict(server, [SETOSA]).status == 503

    installed.cli(store, "train-example")
    # Each worker finds the new version on its own, within a poll (MODEL_POLL_SECONDS, 1 s).
    deadline = time.monotonic() + 10
    while any(predict(server, [SETOSA]).status != 200 for _ in range(20)):
        assert time.monotonic() < deadline, "the workers did not become ready within 10 s"
        time.sleep(0.2)
    assert request(server.port, "GET", "/readyz").status == 200


def test_tampered_model_is_refused_at_start(
    start_server: Callable[..., Server], installed: Installed, tmp_path: Path
) -> None:
    store = tmp_path / "models"
    installed.cli(store, "train-example")
    version = store / installed.model_name / "1"
    name = min(json.loads((version / "metadata.json").read_text())["files"])
    artifact = version / name
    data = artifact.read_bytes()
    artifact.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit of the last byte
    server = start_server(store)
    wait_for(server.port, "/livez", 200)
    answer = request(server.port, "GET", "/readyz")
    assert answer.status == 503
    assert f"{name}: sha256 is" in answer.json()["error"]["message"]


def test_a_bad_setting_stops_start_up_in_one_line(installed: Installed, tmp_path: Path) -> None:
    env = installed.env(tmp_path, WEB_CONCURRENCY="many")
    completed = subprocess.run(
        [str(installed.command), "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 1
    assert completed.stderr.strip() == "Error: WEB_CONCURRENCY='many': Not a valid integer."


def test_sigterm_stops_gracefully(start_server: Callable[..., Server], store: Path) -> None:
    server = start_server(store)
    wait_for(server.port, "/readyz", 200)
    assert server.stop() == 0
    assert any(line["message"] == "Shutting down: Master" for line in server.lines())


def test_each_instance_has_its_own_control_socket(server: Server) -> None:
    [message] = [line["message"] for line in server.lines() if "Control socket" in line["message"]]
    assert message.endswith(f"-{server.port}/gunicorn.ctl")


def test_every_prediction_reaches_the_log_through_a_sigterm(
    start_server: Callable[..., Server], store: Path, tmp_path: Path
) -> None:
    """Predictions queued in both workers are written before they exit, and feedback on them
    is accepted at once."""
    database = tmp_path / "log.sqlite3"
    server = start_server(store, DATABASE_URL=f"sqlite:///{database}")
    wait_for(server.port, "/readyz", 200)

    def one(index: int) -> str:
        answer = predict(server, [SETOSA if index % 2 else VIRGINICA])
        assert answer.status == 200, answer.body
        return answer.json()["predictions"][0]["id"]

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(one, range(200)))
    feedback = [{"id": ids[0], "actual": "setosa"}, {"id": "unknown", "actual": "setosa"}]
    answer = request(server.port, "POST", "/v1/feedback", {"feedback": feedback}).json()
    assert (answer["stored"], [item["index"] for item in answer["rejected"]]) == (1, [1])
    assert server.stop() == 0
    with sqlite3.connect(database) as connection:
        logged = logged_ids(connection)
    assert logged == set(ids)
