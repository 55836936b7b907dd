"""POST /v1/predict answers a label and class probabilities per record, in one batch."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.store.registry import ModelStore


def test_one_prediction_per_record(
    client: FlaskClient, store: ModelStore, records: list[dict[str, Any]]
) -> None:
    response = client.post("/v1/predict", json={"instances": records})
    assert response.status_code == 200, response.get_data(as_text=True)
    predictions = response.get_json()["predictions"]
    classes = store.metadata(1)["classes"]
    assert len(predictions) == len(records)
    for prediction in predictions:
        assert prediction["label"] in classes
        assert list(prediction["probabilities"]) == [str(name) for name in classes]
        assert math.isclose(sum(prediction["probabilities"].values()), 1.0, rel_tol=1e-6)
        best = max(prediction["probabilities"], key=prediction["probabilities"].get)
        assert best == str(prediction["label"])


def test_batch_answers_match_single_answers(
    client: FlaskClient,
    records: list[dict[str, Any]],
    predict_each: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> None:
    batch = client.post("/v1/predict", json={"instances": records}).get_json()["predictions"]
    for single, answer in zip(predict_each(records), batch, strict=True):
        assert single["label"] == answer["label"]
        # Equal up to rounding: a batch may sum in another order (float32 in a network).
        assert single["probabilities"] == pytest.approx(answer["probabilities"], rel=1e-4, abs=1e-7)
