"""Prometheus metrics of the model's answers: predicted values, and error from feedback."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client import Gauge, Histogram

#: Bucket edges of the predicted-value histogram: decades either side of zero, which fit any
#: target roughly. Replace them with edges that fit your target's range.
VALUE_BUCKETS = tuple(
    sorted({sign * 10.0**power for sign in (-1, 1) for power in range(-2, 6)} | {0.0})
)

PREDICTED_VALUES = Histogram(
    "predicted_value",
    "Values predicted, by model version.",
    ["model_version"],
    buckets=VALUE_BUCKETS,
)
#: Keyed as ``evaluation.metrics`` names its scores.
QUALITY = {
    name: Gauge(
        f"model_{name}",
        f"{description} of the predictions given feedback over ACCURACY_WINDOW, by model "
        "version (NaN once a version has no feedback in the window).",
        ["model_version"],
        multiprocess_mode="livemostrecent",
    )
    for name, description in (("mae", "Mean absolute error"), ("rmse", "Root-mean-square error"))
}
#: The same scores measured at registration (metadata.json), to compare the live ones with.
HOLDOUT = {
    name: Gauge(
        f"model_holdout_{name}",
        f"{name.upper()} measured when the version was registered, on held-out data, by model "
        "version.",
        ["model_version"],
        multiprocess_mode="livemostrecent",
    )
    for name in ("mae", "rmse")
}


def observe_predictions(version: str, predictions: Sequence[Mapping[str, Any]]) -> None:
    """Add a batch's predicted values to the histogram."""
    histogram = PREDICTED_VALUES.labels(version)
    for prediction in predictions:
        histogram.observe(prediction["value"])
