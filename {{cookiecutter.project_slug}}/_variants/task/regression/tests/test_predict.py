"""POST /v1/predict answers one value per record, in one batch."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.features import FEATURES
from {{ cookiecutter.package_name }}.registry import ModelStore


def test_one_value_per_record(
    client: FlaskClient, store: ModelStore, records: list[dict[str, float]]
) -> None:
    response = client.post("/v1/predict", json={"instances": records})
    assert response.status_code == 200, response.get_data(as_text=True)
    predictions = response.get_json()["predictions"]
    assert len(predictions) == len(records)
    assert all(math.isfinite(prediction["value"]) for prediction in predictions)
    loaded = store.load(1)
    features = [[record[name] for name in FEATURES] for record in records]
    expected = loaded.model.predict(features).tolist()
    assert [prediction["value"] for prediction in predictions] == pytest.approx(expected)


def test_batch_answers_match_single_answers(
    client: FlaskClient,
    records: list[dict[str, float]],
    predict_each: Callable[[list[dict[str, float]]], list[dict[str, Any]]],
) -> None:
    batch = client.post("/v1/predict", json={"instances": records}).get_json()["predictions"]
    for single, answer in zip(predict_each(records), batch, strict=True):
        assert single["value"] == pytest.approx(answer["value"])
