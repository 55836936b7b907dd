"""POST /v1/predict: ids, model and request named in every answer, as documented."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.model.features import NUMERIC
from {{ cookiecutter.package_name }}.service.schemas import PredictResponseSchema


def test_ids_are_unique_and_the_answer_names_model_and_request(
    client: FlaskClient, records: list[dict[str, Any]]
) -> None:
    response = client.post(
        "/v1/predict", json={"instances": records}, headers={"X-Request-ID": "req-42"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert len(body["predictions"]) == len(records)
    assert len({prediction["id"] for prediction in body["predictions"]}) == len(records)
    assert body["model"]["version"] == "1"
    assert body["request_id"] == "req-42"
    assert response.headers["X-Model-Version"] == "1"
    assert response.headers["X-Request-ID"] == "req-42"
    assert PredictResponseSchema().validate(body) == {}


def test_ids_differ_between_requests(client: FlaskClient, records: list[dict[str, Any]]) -> None:
    first = client.post("/v1/predict", json={"instances": records[:1]}).get_json()
    second = client.post("/v1/predict", json={"instances": records[:1]}).get_json()
    assert first["predictions"][0]["id"] != second["predictions"][0]["id"]


def test_integer_feature_values_are_numbers_too(
    client: FlaskClient, records: list[dict[str, Any]]
) -> None:
    record = {name: round(v) if name in NUMERIC else v for name, v in records[0].items()}
    assert client.post("/v1/predict", json={"instances": [record]}).status_code == 200
