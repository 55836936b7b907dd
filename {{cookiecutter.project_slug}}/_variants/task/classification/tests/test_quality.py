"""Accuracy over time: feedback with known outcomes gives the exact accuracy per version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.service.services import services
from {{ cookiecutter.package_name }}.store.registration import train_example
from {{ cookiecutter.package_name }}.store.registry import ModelStore


def give_feedback(
    client: FlaskClient, records: list[dict[str, Any]], right: int, classes: list[Any]
) -> None:
    """Predict ``records``; report the first ``right`` answers as correct, the rest as wrong."""
    predictions = client.post("/v1/predict", json={"instances": records}).get_json()["predictions"]
    items = []
    for index, prediction in enumerate(predictions):
        wrong = next(label for label in classes if str(label) != str(prediction["label"]))
        actual = prediction["label"] if index < right else wrong
        items.append({"id": prediction["id"], "actual": actual})
    body = client.post("/v1/feedback", json={"feedback": items}).get_json()
    assert body["stored"] == len(records), body


def test_accuracy_per_version_is_exact(
    make_app: Callable[..., Flask],
    store: ModelStore,
    database_url: str,
    records: list[dict[str, Any]],
    without_since: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    app = make_app(DATABASE_URL=database_url)
    client = app.test_client()
    classes = store.metadata(1)["classes"]
    give_feedback(client, records, right=7, classes=classes)
    store.promote(train_example(store))
    services(app).model_holder.refresh()
    give_feedback(client, records[:4], right=1, classes=classes)

    report = services(app).monitor.update()
    assert report["quality"]["versions"] == {
        "1": {"feedback": 10, "accuracy": 0.7},
        "2": {"feedback": 4, "accuracy": 0.25},
    }
    for version, accuracy in (("1", 0.7), ("2", 0.25)):
        assert REGISTRY.get_sample_value("model_accuracy", {"model_version": version}) == accuracy
    live = client.get("/v1/monitoring").get_json()["quality"]
    assert without_since(live) == without_since(report["quality"])


def test_predictions_are_counted_by_class(
    client: FlaskClient, records: list[dict[str, Any]]
) -> None:
    def total() -> float:
        return sum(
            sample.value
            for metric in REGISTRY.collect()
            if metric.name == "predictions"
            for sample in metric.samples
            if sample.name == "predictions_total" and sample.labels["model_version"] == "1"
        )

    before = total()
    assert client.post("/v1/predict", json={"instances": records}).status_code == 200
    assert total() == pytest.approx(before + len(records))
