"""How good a classifier's predictions are, given the true labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def parse_target(text: str) -> str:
    """A label as read from a CSV cell: class names stay text."""
    return text


def outcome_problem(actual: Any) -> str | None:
    """Why ``actual`` (a feedback item's outcome) cannot be a class label; None if it can."""
    if isinstance(actual, bool) or not isinstance(actual, str | int):
        return "Must be a class label: a string or an integer."
    return None


def metrics(predictions: Sequence[dict[str, Any]], actuals: Sequence[Any]) -> dict[str, float]:
    """Accuracy of ``predictions`` (the service's own answers) against ``actuals``.

    Labels are compared as text, so a model trained on 0/1 matches a CSV's "0"/"1".
    """
    if len(predictions) != len(actuals) or not actuals:
        raise ValueError("metrics need as many actual labels as predictions, and at least one")
    correct = sum(
        str(prediction["label"]) == str(actual)
        for prediction, actual in zip(predictions, actuals, strict=True)
    )
    return {"accuracy": correct / len(actuals)}
