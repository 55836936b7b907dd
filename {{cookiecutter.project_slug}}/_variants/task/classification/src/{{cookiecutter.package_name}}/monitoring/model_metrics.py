"""Prometheus metrics of the model's answers: predictions by class, accuracy from feedback."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client import Counter, Gauge

PREDICTIONS = Counter(
    "predictions",
    "Predictions answered, by model version and predicted class.",
    ["model_version", "label"],
)
#: Keyed as ``evaluation.metrics`` names its scores.
QUALITY = {
    "accuracy": Gauge(
        "model_accuracy",
        "Share of correct predictions among those given feedback over ACCURACY_WINDOW, by "
        "model version (NaN once a version has no feedback in the window).",
        ["model_version"],
        multiprocess_mode="livemostrecent",
    ),
}
#: The same scores measured at registration (metadata.json), to compare the live ones with.
HOLDOUT = {
    "accuracy": Gauge(
        "model_holdout_accuracy",
        "Accuracy measured when the version was registered, on held-out data, by model version.",
        ["model_version"],
        multiprocess_mode="livemostrecent",
    ),
}


def observe_predictions(version: str, predictions: Sequence[Mapping[str, Any]]) -> None:
    """Count a batch's predictions by class."""
    for label, count in Tally(str(prediction["label"]) for prediction in predictions).items():
        PREDICTIONS.labels(version, label).inc(count)
