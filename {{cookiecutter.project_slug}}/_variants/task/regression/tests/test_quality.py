"""Error over time: feedback with known outcomes gives the exact MAE and RMSE per version."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.service.services import services
from {{ cookiecutter.package_name }}.store.registration import train_example
from {{ cookiecutter.package_name }}.store.registry import ModelStore


def give_feedback(client: FlaskClient, records: list[dict[str, Any]], errors: list[float]) -> None:
    """Predict ``records``; report each true value as the prediction plus its error."""
    predictions = client.post("/v1/predict", json={"instances": records}).get_json()["predictions"]
    items = [
        {"id": prediction["id"], "actual": prediction["value"] - error}
        for prediction, error in zip(predictions, errors, strict=True)
    ]
    body = client.post("/v1/feedback", json={"feedback": items}).get_json()
    assert body["stored"] == len(records), body


def test_mae_and_rmse_per_version_are_exact(
    make_app: Callable[..., Flask],
    store: ModelStore,
    database_url: str,
    records: list[dict[str, Any]],
    without_since: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    app = make_app(DATABASE_URL=database_url)
    client = app.test_client()
    first = [1.0, -2.0, 3.0, -4.0, 0.0, 0.5, -0.5, 2.0, -1.0, 1.0]
    give_feedback(client, records, first)
    store.promote(train_example(store))
    services(app).model_holder.refresh()
    second = [10.0, -10.0, 10.0, -10.0]
    give_feedback(client, records[:4], second)

    report = services(app).monitor.update()
    versions = report["quality"]["versions"]
    for version, errors in (("1", first), ("2", second)):
        mae = sum(map(abs, errors)) / len(errors)
        rmse = math.sqrt(sum(error * error for error in errors) / len(errors))
        assert versions[version]["feedback"] == len(errors)
        assert versions[version]["mae"] == pytest.approx(mae, rel=1e-9)
        assert versions[version]["rmse"] == pytest.approx(rmse, rel=1e-9)
        gauge = {"model_version": version}
        assert REGISTRY.get_sample_value("model_mae", gauge) == versions[version]["mae"]
        assert REGISTRY.get_sample_value("model_rmse", gauge) == versions[version]["rmse"]
    live = client.get("/v1/monitoring").get_json()["quality"]
    assert without_since(live) == without_since(report["quality"])


def test_predicted_values_are_counted(client: FlaskClient, records: list[dict[str, Any]]) -> None:
    labels = {"model_version": "1"}
    before = REGISTRY.get_sample_value("predicted_value_count", labels) or 0.0
    assert client.post("/v1/predict", json={"instances": records}).status_code == 200
    assert REGISTRY.get_sample_value("predicted_value_count", labels) == before + len(records)
