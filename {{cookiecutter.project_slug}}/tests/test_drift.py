"""Input drift: PSI per feature, over the threshold only for the feature that moved."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from flask import Flask
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.drift import (
    bin_counts,
    bin_labels,
    population_stability_index,
)
from {{ cookiecutter.package_name }}.example_data import load_example_data
from {{ cookiecutter.package_name }}.features import FEATURES
from {{ cookiecutter.package_name }}.monitoring import drift_summary
from {{ cookiecutter.package_name }}.registry import ModelStore

SHIFTED = FEATURES[0]


def example_records(shift: float = 0.0) -> list[dict[str, float]]:
    """Every example record, with the first feature moved by ``shift`` standard deviations."""
    features, _ = load_example_data()
    features = features.copy()
    features[:, 0] += shift * features[:, 0].std()
    return [dict(zip(FEATURES, row, strict=True)) for row in features.tolist()]


def test_psi_by_hand() -> None:
    assert population_stability_index([50, 50], [50, 50]) == 0.0
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert population_stability_index([10, 10], [1, 3]) == pytest.approx(expected)
    # An empty bin on one side gives a large, finite score.
    assert 5 < population_stability_index([10, 0], [0, 10]) < 20


def test_bins_match_the_reference_statistics() -> None:
    assert bin_counts([1.0, 2.0], [0.5, 1.0, 1.5, 2.0, 9.0]) == [1, 2, 2]
    assert bin_labels([1.0, 2.0]) == ["00 (-inf, 1)", "01 [1, 2)", "02 [2, inf)"]


def test_only_the_shifted_feature_drifts(store: ModelStore) -> None:
    reference = store.metadata(1)["reference"]
    steady = drift_summary(reference, example_records(), threshold=0.2, min_records=50)
    assert not any(item["drifting"] for item in steady["features"].values()), steady
    moved = drift_summary(reference, example_records(shift=2.0), threshold=0.2, min_records=50)
    scores = {name: item["psi"] for name, item in moved["features"].items()}
    assert scores[SHIFTED] > 0.2, scores
    assert all(score < 0.2 for name, score in scores.items() if name != SHIFTED), scores


def test_too_few_records_give_no_score(store: ModelStore) -> None:
    summary = drift_summary(
        store.metadata(1)["reference"], example_records()[:5], threshold=0.2, min_records=50
    )
    assert summary["features"] == {}
    assert "DRIFT_MIN_RECORDS=50" in summary["problem"]


def test_the_service_scores_drift_from_its_log_and_warns_once(
    make_app: Callable[..., Flask],
    capsys: pytest.CaptureFixture[str],
    without_since: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    app = make_app(DRIFT_MIN_RECORDS="50")
    client = app.test_client()
    records = example_records(shift=2.0)
    for start in range(0, len(records), 50):
        response = client.post("/v1/predict", json={"instances": records[start : start + 50]})
        assert response.status_code == 200
    app.extensions["prediction_log"].flush()
    monitor = app.extensions["monitor"]
    capsys.readouterr()
    monitor.update()
    report = monitor.update()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    drift = report["drift"]
    assert drift["records"] == len(records)
    assert drift["features"][SHIFTED]["drifting"]
    psi = REGISTRY.get_sample_value("feature_drift_psi", {"feature": SHIFTED})
    assert psi == pytest.approx(drift["features"][SHIFTED]["psi"])
    for name in FEATURES[1:]:
        assert REGISTRY.get_sample_value("feature_drift_psi", {"feature": name}) < 0.2
    warnings = [line for line in lines if line["message"].startswith("input drift:")]
    assert [(line["level"], line["feature"]) for line in warnings] == [("WARNING", SHIFTED)]
    assert without_since(client.get("/v1/monitoring").get_json()["drift"]) == without_since(drift)


def test_live_inputs_are_counted_in_the_reference_bins(
    make_app: Callable[..., Flask], store: ModelStore
) -> None:
    client = make_app().test_client()
    records = example_records()[:20]
    edges = store.metadata(1)["reference"][SHIFTED]["edges"]
    labels = bin_labels(edges)

    def counted() -> np.ndarray:
        return np.array(
            [
                REGISTRY.get_sample_value(
                    "feature_values_total",
                    {"model_version": "1", "feature": SHIFTED, "bin": label},
                )
                or 0.0
                for label in labels
            ]
        )

    before = counted()
    client.post("/v1/predict", json={"instances": records})
    assert (counted() - before).tolist() == bin_counts(edges, [r[SHIFTED] for r in records])
