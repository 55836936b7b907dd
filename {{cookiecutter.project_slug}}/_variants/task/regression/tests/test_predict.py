"""POST /v1/predict answers one value per record, in one batch."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.model.example_data import load_example_data


def test_one_value_per_record(client: FlaskClient, records: list[dict[str, Any]]) -> None:
    response = client.post("/v1/predict", json={"instances": records})
    assert response.status_code == 200, response.get_data(as_text=True)
    predictions = response.get_json()["predictions"]
    assert len(predictions) == len(records)
    assert all(math.isfinite(prediction["value"]) for prediction in predictions)
    # The example model learned its data: closer to the truth than half a standard deviation.
    _, targets = load_example_data()
    errors = [abs(p["value"] - t) for p, t in zip(predictions, targets[:10], strict=True)]
    assert sum(errors) / len(errors) < 0.5 * float(np.std(targets))


def test_batch_answers_match_single_answers(
    client: FlaskClient,
    records: list[dict[str, Any]],
    predict_each: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> None:
    batch = client.post("/v1/predict", json={"instances": records}).get_json()["predictions"]
    for single, answer in zip(predict_each(records), batch, strict=True):
        # Equal up to rounding: a batch may sum in another order (float32 in a network).
        assert single["value"] == pytest.approx(answer["value"], rel=1e-5, abs=1e-6)
