"""The standard protocols' routes give /v1/predict's answers, in their own bodies.

Ids that feedback takes, each protocol's own error body, and requests counted by protocol."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.model.features import (
    FEATURE_TYPES,
    FEATURES,
)
from {{ cookiecutter.package_name }}.service.adapters.tensors import (
    HEADER_LENGTH,
    Output,
    write_answer,
)
from {{ cookiecutter.package_name }}.service.config import DEFAULT_MODEL_NAME

INFER = f"/v2/models/{DEFAULT_MODEL_NAME}/infer"
V1_PREDICT = f"/v1/models/{DEFAULT_MODEL_NAME}:predict"
DATATYPES = {"float": "FP64", "int": "INT64", "bool": "BOOL", "category": "BYTES"}


def as_text(value: Any) -> str:
    """A feature value as a CSV cell or a BYTES element holds it."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


@pytest.fixture
def rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return records[:3]


@pytest.fixture
def native(client: FlaskClient, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """/v1/predict's answers for the rows, without their ids."""
    answers = client.post("/v1/predict", json={"instances": rows}).get_json()["predictions"]
    return [{key: value for key, value in answer.items() if key != "id"} for answer in answers]


def by_feature(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as one Open Inference Protocol input per feature, as MLServer's codec sends."""
    return [
        {"name": name, "datatype": DATATYPES[kind], "shape": [len(rows), 1],
         "data": [row[name] for row in rows]}
        for name, kind in FEATURE_TYPES.items()
    ]  # fmt: skip


def as_outputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    """An inference answer's outputs as /v1/predict's answers."""
    outputs = {output["name"]: output for output in body["outputs"]}
    answers: list[dict[str, Any]] = []
    for row in range(outputs[next(iter(outputs))]["shape"][0]):
        answer: dict[str, Any] = {}
        if "value" in outputs:
            answer["value"] = outputs["value"]["data"][row]
        if "label" in outputs:
            answer["label"] = outputs["label"]["data"][row]
        if "probabilities" in outputs:
            classes = json.loads(outputs["probabilities"]["parameters"]["classes"])
            width = len(classes)
            values = outputs["probabilities"]["data"][row * width : (row + 1) * width]
            answer["probabilities"] = dict(zip(classes, values, strict=True))
        answers.append(answer)
    return answers


def same(answers: list[dict[str, Any]], native: list[dict[str, Any]]) -> None:
    """The answers are /v1/predict's (a label as the text BYTES carry)."""
    expected = [
        {**answer, "label": str(answer["label"])} if "label" in answer else answer
        for answer in native
    ]
    assert answers == expected


def test_oip_health_and_metadata(client: FlaskClient) -> None:
    assert client.get("/v2/health/live").get_json() == {"live": True}
    assert client.get("/v2/health/ready").get_json() == {"ready": True}
    for path in ("/v2", "/v2/"):  # no redirect: tritonclient does not follow them
        server = client.get(path)
        assert server.status_code == 200
        assert "binary_tensor_data" in server.get_json()["extensions"]
    metadata = client.get(f"/v2/models/{DEFAULT_MODEL_NAME}").get_json()
    assert [entry["name"] for entry in metadata["inputs"]] == list(FEATURES)
    assert metadata["versions"] == ["1"]
    assert client.get(f"/v2/models/{DEFAULT_MODEL_NAME}/versions/1/ready").get_json() == {
        "name": DEFAULT_MODEL_NAME,
        "ready": True,
    }


def test_oip_infer_by_feature_answers_as_v1_predict(
    client: FlaskClient, rows: list[dict[str, Any]], native: list[dict[str, Any]]
) -> None:
    response = client.post(INFER, data=json.dumps({"id": "q-1", "inputs": by_feature(rows)}))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["id"] == "q-1"
    assert body["model_version"] == response.headers["X-Model-Version"] == "1"
    same(as_outputs(body), native)
    assert len(body["parameters"]["prediction_ids"].split(",")) == len(rows)


def test_oip_infer_one_tensor_of_rows(
    client: FlaskClient, rows: list[dict[str, Any]], native: list[dict[str, Any]]
) -> None:
    """One [N, F] input: numbers as FP64 where every feature is one, else text in BYTES."""
    numeric = all(kind == "float" for kind in FEATURE_TYPES.values())
    tensor = {
        "name": "input-0",
        "datatype": "FP64" if numeric else "BYTES",
        "shape": [len(rows), len(FEATURES)],
        "data": [
            [row[name] if numeric else as_text(row[name]) for name in FEATURES] for row in rows
        ],
    }
    response = client.post(INFER, data=json.dumps({"inputs": [tensor]}))
    assert response.status_code == 200, response.get_data(as_text=True)
    same(as_outputs(response.get_json()), native)


def test_oip_binary_inputs_and_outputs(
    client: FlaskClient, rows: list[dict[str, Any]], native: list[dict[str, Any]]
) -> None:
    """The binary tensor data extension, both ways, as tritonclient sends it by default."""
    inputs = [
        Output(entry["name"], entry["datatype"], entry["shape"],
               [as_text(v) for v in entry["data"]] if entry["datatype"] == "BYTES" else entry["data"])
        for entry in by_feature(rows)
    ]  # fmt: skip
    header = {"parameters": {"binary_data_output": True}}
    body, json_length = write_answer(header, inputs, {tensor.name for tensor in inputs})
    # write_answer names the tensors "outputs"; a request's are "inputs".
    request_header = json.loads(body[:json_length])
    request_header["inputs"] = request_header.pop("outputs")
    text = json.dumps(request_header).encode()
    response = client.post(
        INFER, data=text + body[json_length:], headers={HEADER_LENGTH: str(len(text))}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/octet-stream"
    length = int(response.headers[HEADER_LENGTH])
    answer = json.loads(response.data[:length])
    assert all("data" not in output for output in answer["outputs"])
    assert (
        sum(output["parameters"]["binary_data_size"] for output in answer["outputs"])
        == len(response.data) - length
    )


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ([{"name": "x", "datatype": "FP64", "shape": [1, len(FEATURES) + 1],
           "data": [0.0] * (len(FEATURES) + 1)}], "shape"),
        ([{"name": "x", "datatype": "FP64", "shape": [2, len(FEATURES)], "data": [0.0]}], "elements"),
        ([{"name": FEATURES[0], "datatype": "FP64", "shape": [1], "data": [1.0]}]
         if len(FEATURES) > 1 else [], "feature" if len(FEATURES) > 1 else "inputs"),
        ([{"name": "x", "datatype": "BF16", "shape": [1, 1], "data": [1.0]}], "datatype"),
    ],
)  # fmt: skip
def test_oip_bad_requests_are_400_with_a_text_error(
    client: FlaskClient, inputs: list[dict[str, Any]], problem: str
) -> None:
    response = client.post(INFER, data=json.dumps({"inputs": inputs}))
    assert response.status_code == 400
    body = response.get_json()
    assert set(body) == {"error"}
    assert isinstance(body["error"], str)
    assert problem in body["error"]


def test_oip_a_bad_value_names_its_feature(client: FlaskClient, rows: list[dict[str, Any]]) -> None:
    inputs = by_feature(rows[:1])
    inputs[0] = {**inputs[0], "datatype": "BOOL", "data": [True]}
    if FEATURE_TYPES[FEATURES[0]] == "bool":
        inputs[0] = {**inputs[0], "datatype": "FP64", "data": [0.5]}
    response = client.post(INFER, data=json.dumps({"inputs": inputs}))
    assert response.status_code == 400
    assert f"row 0, {FEATURES[0]}" in response.get_json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v2/models/no-such-model", 404),
        ("GET", f"/v2/models/{DEFAULT_MODEL_NAME}/versions/99", 404),
        ("POST", "/v2/models/no-such-model/infer", 404),
        ("GET", f"/v2/models/{DEFAULT_MODEL_NAME}/no/such/route", 404),
        ("POST", "/v2/repository/index", 404),
        ("DELETE", "/v2/health/live", 405),
        ("GET", V1_PREDICT, 405),
        ("GET", "/v1/models/no-such-model", 404),
    ],
)
def test_protocol_errors_are_text_even_where_no_route_matched(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method, data="{}")
    assert response.status_code == status
    body = response.get_json()
    assert set(body) == {"error"}
    assert isinstance(body["error"], str)


def test_not_ready_is_503_on_every_protocol(empty_store_app: Flask) -> None:
    client = empty_store_app.test_client()
    for path in ("/v2/health/ready", f"/v2/models/{DEFAULT_MODEL_NAME}/ready", "/ping",
                 f"/v1/models/{DEFAULT_MODEL_NAME}"):  # fmt: skip
        assert client.get(path).status_code == 503, path
    assert client.get("/v2/health/live").status_code == 200
    assert "error" in client.get("/v2/health/ready").get_json()


def test_kserve_v1_answers_as_v1_predict(
    client: FlaskClient, rows: list[dict[str, Any]], native: list[dict[str, Any]]
) -> None:
    assert client.get("/").get_json() == {"status": "alive"}
    assert client.get(f"/v1/models/{DEFAULT_MODEL_NAME}").get_json()["ready"] is True
    as_rows = [[row[name] for name in FEATURES] for row in rows]
    for instances in (rows, as_rows):
        response = client.post(V1_PREDICT, json={"instances": instances})
        assert response.status_code == 200, response.get_data(as_text=True)
        answers = response.get_json()["predictions"]
        assert [{k: v for k, v in a.items() if k != "id"} for a in answers] == native


def test_invocations_mlflow_bodies_and_csv(
    client: FlaskClient, rows: list[dict[str, Any]], native: list[dict[str, Any]]
) -> None:
    expected = [answer.get("label", answer.get("value")) for answer in native]
    columns = list(FEATURES)
    bodies = [
        {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in rows]}},
        {"dataframe_records": rows},
        {"instances": rows},
        {"inputs": {name: [row[name] for row in rows] for name in columns}},
    ]
    for body in bodies:
        response = client.post("/invocations", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json() == {"predictions": expected}
    lines = [",".join(as_text(row[name]) for name in columns) for row in rows]
    for text in ("\n".join([",".join(columns), *lines]), "\n".join(lines)):  # header, or none
        response = client.post("/invocations", data=text, content_type="text/csv")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json() == {"predictions": expected}
    assert client.get("/ping").status_code == 200


def test_invocations_errors_are_mlflow_s(client: FlaskClient, rows: list[dict[str, Any]]) -> None:
    two_keys = client.post("/invocations", json={"instances": rows, "dataframe_records": rows})
    assert two_keys.status_code == 400
    assert two_keys.get_json()["error_code"] == "BAD_REQUEST"
    unsupported = client.post("/invocations", data="x", content_type="text/plain")
    assert unsupported.status_code == 415
    assert set(unsupported.get_json()) == {"error_code", "message"}


def test_ids_from_every_protocol_take_feedback(
    client: FlaskClient, rows: list[dict[str, Any]], native: list[dict[str, Any]]
) -> None:
    ids = [client.post(V1_PREDICT, json={"instances": rows[:1]}).get_json()["predictions"][0]["id"]]
    answer = client.post(INFER, data=json.dumps({"inputs": by_feature(rows[:1])})).get_json()
    ids.append(answer["parameters"]["prediction_ids"])
    response = client.post("/invocations", json={"instances": rows[:1]})
    ids.append(f"{response.headers['X-Prediction-Id-Prefix']}-0")
    actual = native[0].get("label", native[0].get("value"))
    feedback = [{"id": prediction_id, "actual": actual} for prediction_id in ids]
    stored = client.post("/v1/feedback", json={"feedback": feedback}).get_json()
    assert stored["stored"] == len(ids), stored


def test_vertex_routes_come_from_the_environment(
    make_app: Callable[..., Flask], rows: list[dict[str, Any]], native: list[dict[str, Any]]
) -> None:
    predict_route = "/v1/endpoints/123/deployedModels/456:predict"
    client = make_app(AIP_PREDICT_ROUTE=predict_route, AIP_HEALTH_ROUTE="/health").test_client()
    assert client.get("/health").status_code == 200
    response = client.post(predict_route, json={"instances": rows, "parameters": {}})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"predictions"}  # Vertex AI takes nothing else at the top
    assert [{k: v for k, v in a.items() if k != "id"} for a in body["predictions"]] == native
    bad = client.post(predict_route, json={"instances": [{}]})
    assert bad.status_code == 400
    assert isinstance(bad.get_json()["error"], str)


def test_requests_are_counted_by_protocol(client: FlaskClient) -> None:
    client.get("/v2/health/live")
    client.get("/ping")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'endpoint="/v2/health/live"' in metrics
    assert 'protocol="oip"' in metrics
    assert 'protocol="sagemaker"' in metrics


def test_a_protocol_s_error_counts_every_problem(client: FlaskClient) -> None:
    """The text names the first few problems and counts all of them, not only those the
    native envelope lists in ``fields``."""
    body = {"instances": [{}] * 60}  # more problems than the envelope lists
    native = client.post("/v1/predict", json=body).get_json()["error"]
    assert len(native["fields"]) == 50
    problems = 1 + int(re.search(r"\((\d+) more", native["message"])[1])
    response = client.post(V1_PREDICT, json=body)
    assert response.status_code == 400
    assert response.get_json()["error"].endswith(f"; and {problems - 5} more.")


def test_csv_with_a_byte_order_mark_and_quoted_cells(
    client: FlaskClient, rows: list[dict[str, Any]], native: list[dict[str, Any]]
) -> None:
    header = ",".join(f'"{name}"' for name in FEATURES)
    lines = [",".join(f'"{as_text(row[name])}"' for name in FEATURES) for row in rows]
    text = "\ufeff" + "\r\n".join([header, *lines]) + "\r\n"
    response = client.post("/invocations", data=text.encode(), content_type="text/csv")
    assert response.status_code == 200, response.get_data(as_text=True)
    expected = [answer.get("label", answer.get("value")) for answer in native]
    assert response.get_json() == {"predictions": expected}


def test_rows_of_one_value_are_a_one_feature_table(
    client: FlaskClient, rows: list[dict[str, Any]], native: list[dict[str, Any]]
) -> None:
    """A one-feature model takes TF Serving's rows of values; others say what a row holds."""
    values = [row[FEATURES[0]] for row in rows]
    response = client.post(V1_PREDICT, json={"instances": values})
    if len(FEATURES) == 1:
        assert response.status_code == 200, response.get_data(as_text=True)
        answers = response.get_json()["predictions"]
        assert [{k: v for k, v in a.items() if k != "id"} for a in answers] == native
    else:
        assert response.status_code == 400
        assert "row 0" in response.get_json()["error"]
