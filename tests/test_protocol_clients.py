"""Slow: the standard protocols' own clients, unchanged, against a bake served by gunicorn.

tritonclient (the Open Inference Protocol, binary and JSON), the kserve SDK (V1 and V2) and
MLflow's scoring client drive a classification bake on the iris features and a regression bake
with every type of feature; Vertex AI's routes come from AIP_* and take Vertex's body. Every
answer must equal what /v1/predict answers for the same rows, every prediction must reach the
log, and feedback must take the ids each protocol gave. Traffic goes to 127.0.0.1 only; the
servers are stopped by their pid.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bakery import TEMPLATE
from combos import COMBOS, DEFAULT, IRIS, Combo
from http_client import request, wait_for
from local_extensions import feature_types
from served import Installed, Server, logged_ids

pytestmark = pytest.mark.slow

CLIENT_SCRIPT = TEMPLATE / "tests" / "protocol_client.py"
REGRESSION = next(combo for combo in COMBOS if combo.id == "sklearn-auto-regression-custom")
VERTEX_PREDICT = "/v1/endpoints/1234/deployedModels/5678:predict"
VERTEX_HEALTH = "/v1/endpoints/1234/deployedModels/5678"
JSON_BODY = {"Content-Type": "application/json"}


def example_rows(types: dict[str, str], categories: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Three rows, each value one the model takes (categories from the served version)."""
    if list(types) == IRIS.split(","):
        return [
            {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
            {"sepal_length": 6.9, "sepal_width": 3.1, "petal_length": 5.7, "petal_width": 2.2},
            {"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 4.2, "petal_width": 1.5},
        ]
    values = {
        "float": [1.5, 42.25, 310.0],
        "int": [1, 3, 12],
        "bool": [True, False, True],
    }
    return [
        {
            name: categories[name][row % len(categories[name])]
            if kind == "category"
            else values[kind][row]
            for name, kind in types.items()
        }
        for row in range(3)
    ]


@dataclass
class Served:
    installed: Installed
    server: Server
    store: Path
    types: dict[str, str]
    rows: list[dict[str, Any]]
    #: /v1/predict's answers for the rows, without their ids.
    native: list[dict[str, Any]]


@pytest.fixture(scope="module", params=[DEFAULT, REGRESSION], ids=["classification", "regression"])
def combo(request: pytest.FixtureRequest) -> Combo:
    return request.param


@pytest.fixture(scope="module")
def installed(install: Callable[[Combo], Installed], combo: Combo) -> Installed:
    return install(combo)


@pytest.fixture(scope="module")
def served(
    installed: Installed,
    combo: Combo,
    start_server: Callable[..., Server],
    tmp_path_factory: pytest.TempPathFactory,
) -> Served:
    """The bake on a trained store, with Vertex AI's routes named as Vertex AI names them."""
    store = tmp_path_factory.mktemp("protocols") / "models"
    installed.cli(store, "train-example")
    server = start_server(store, AIP_PREDICT_ROUTE=VERTEX_PREDICT, AIP_HEALTH_ROUTE=VERTEX_HEALTH)
    wait_for(server.port, "/readyz", 200)
    types = feature_types(combo.context.get("features", IRIS))
    categories = request(server.port, "GET", "/v1/model").json()["categories"]
    rows = example_rows(types, categories)
    answer = request(server.port, "POST", "/v1/predict", {"instances": rows})
    assert answer.status == 200, answer.body
    native = [
        {key: value for key, value in prediction.items() if key != "id"}
        for prediction in answer.json()["predictions"]
    ]
    return Served(installed, server, store, types, rows, native)


@pytest.fixture(scope="module")
def report(served: Served, clients_python: Path) -> dict[str, Any]:
    """What each client got (tests/protocol_client.py)."""
    completed = subprocess.run(
        [
            str(clients_python), str(CLIENT_SCRIPT), str(served.server.port),
            served.installed.model_name, json.dumps(served.types), json.dumps(served.rows),
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-5000:]
    found: dict[str, Any] = json.loads(completed.stdout)
    return found


def as_outputs(native: list[dict[str, Any]]) -> dict[str, Any]:
    """/v1/predict's answers as an inference answer's outputs: label (as text), probabilities
    (a row per record, in the class order the outputs state), value."""
    outputs: dict[str, Any] = {}
    if "label" in native[0]:
        outputs["label"] = [str(answer["label"]) for answer in native]
    if "probabilities" in native[0]:
        classes = list(native[0]["probabilities"])
        outputs["probabilities"] = [[a["probabilities"][c] for c in classes] for a in native]
    if "value" in native[0]:
        outputs["value"] = [answer["value"] for answer in native]
    return outputs


def plain(native: list[dict[str, Any]]) -> list[Any]:
    """/v1/predict's answers as MLflow answers them: a label, or a value, per row."""
    return [answer.get("label", answer.get("value")) for answer in native]


def test_tritonclient(served: Served, report: dict[str, Any]) -> None:
    triton = report["triton"]
    health = ("live", "ready", "model_ready", "version_ready")
    assert [triton[name] for name in health] == [True] * len(health)
    assert "binary_tensor_data" in triton["server"]["extensions"]
    metadata = triton["metadata"]
    assert [entry["name"] for entry in metadata["inputs"]] == list(served.types)
    expected = as_outputs(served.native)
    # The class order the model metadata states is the answer's.
    for output in metadata["outputs"]:
        if output["name"] == "probabilities":
            assert json.loads(output["parameters"]["classes"]) == list(
                served.native[0]["probabilities"]
            )
    for section in ("binary", "json", "matrix"):  # defaults; JSON both ways; one [N, F] input
        assert triton[section]["outputs"] == expected, section
    binary = triton["binary"]["response"]
    assert binary["id"] == "triton-1"
    assert all("data" not in output for output in binary["outputs"])  # they came binary
    assert all("data" in output for output in triton["json"]["response"]["outputs"])
    assert triton["bad_shape"]["status"] == "400"
    assert "shape" in triton["bad_shape"]["error"]
    assert triton["unknown_model"]["status"] == "404"


def test_kserve_sdk(served: Served, report: dict[str, Any]) -> None:
    kserve = report["kserve"]
    health = ("v1_live", "v1_model_ready", "v2_live", "v2_ready", "v2_model_ready")
    assert [kserve[name] for name in health] == [True] * len(health)
    v1 = kserve["v1_predict"]["predictions"]
    assert [{k: v for k, v in p.items() if k != "id"} for p in v1] == served.native
    assert kserve["v2_infer"]["id"] == "kserve-1"
    assert kserve["v2_infer"]["outputs"] == as_outputs(served.native)


def test_mlflow_bodies_and_csv(served: Served, report: dict[str, Any]) -> None:
    expected = {"predictions": plain(served.native)}
    mlflow = report["mlflow"]
    assert mlflow["dataframe"] == expected
    assert mlflow["records"] == expected
    for section in ("columns", "instances", "csv", "csv_no_header"):
        assert mlflow[section]["body"] == expected, section


def test_vertex_routes_from_the_environment(served: Served) -> None:
    port = served.server.port
    assert request(port, "GET", VERTEX_HEALTH).status == 200
    answer = request(port, "POST", VERTEX_PREDICT, {"instances": served.rows, "parameters": {}})
    assert answer.status == 200, answer.body
    body = answer.json()
    assert set(body) == {"predictions"}
    assert [{k: v for k, v in p.items() if k != "id"} for p in body["predictions"]] == served.native
    bad = request(port, "POST", VERTEX_PREDICT, {"instances": [{}]})
    assert bad.status == 400
    assert isinstance(bad.json()["error"], str)


def test_a_body_the_worker_refuses_is_in_the_protocol_s_error_shape(served: Served) -> None:
    """Over MAX_CONTENT_LENGTH, refused by the worker before the app: still an error that
    tritonclient can print (its "error" is a string), and the native envelope elsewhere."""
    oversize = b'{"inputs": [' + b" " * (1024 * 1024) + b"]}"
    path = f"/v2/models/{served.installed.model_name}/infer"
    answer = request(served.server.port, "POST", path, oversize)
    assert answer.status == 413
    assert isinstance(answer.json()["error"], str)
    native = request(served.server.port, "POST", "/v1/predict", oversize, JSON_BODY)
    assert native.status == 413
    assert native.json()["error"]["code"] == "payload_too_large"


def protocol_ids(report: dict[str, Any]) -> dict[str, list[str]]:
    """The prediction ids each protocol's client was given."""
    triton, kserve, mlflow = report["triton"], report["kserve"], report["mlflow"]
    prefixed = {
        name: [
            f"{mlflow[name]['prefix']}-{row}"
            for row in range(len(mlflow[name]["body"]["predictions"]))
        ]
        for name in ("csv", "instances")
    }
    return {
        "triton": triton["binary"]["response"]["parameters"]["prediction_ids"].split(","),
        "kserve_v1": [p["id"] for p in kserve["v1_predict"]["predictions"]],
        "kserve_v2": kserve["v2_infer"]["parameters"]["prediction_ids"].split(","),
        "mlflow_csv": prefixed["csv"],
        "mlflow_json": prefixed["instances"],
    }


def test_every_protocol_s_predictions_are_logged_and_take_feedback(
    served: Served, report: dict[str, Any]
) -> None:
    ids = protocol_ids(report)
    vertex = request(served.server.port, "POST", VERTEX_PREDICT, {"instances": served.rows})
    ids["vertex"] = [prediction["id"] for prediction in vertex.json()["predictions"]]
    everything = [prediction_id for found in ids.values() for prediction_id in found]
    assert len(set(everything)) == len(everything) == len(ids) * len(served.rows)
    database = served.store / "prediction-log.sqlite3"
    deadline = time.monotonic() + 30
    while True:  # the log is written beside the requests, within a second or so
        with sqlite3.connect(database) as connection:
            missing = set(everything) - logged_ids(connection)
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not missing, f"not in the prediction log: {sorted(missing)[:5]}"
    actual = plain(served.native)
    feedback = [
        {"id": prediction_id, "actual": actual[index]}
        for found in ids.values()
        for index, prediction_id in enumerate(found)
    ]
    answer = request(served.server.port, "POST", "/v1/feedback", {"feedback": feedback})
    assert answer.status == 200, answer.body
    assert answer.json()["stored"] == len(feedback), answer.json()["rejected"][:3]
