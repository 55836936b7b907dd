"""How good a classifier's predictions are, given the true labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def target_from_text(text: str) -> str:
    """A label as read from a CSV cell: class names stay text."""
    if not text:
        raise ValueError("is empty: every record needs its label")
    return text


def target_from_python(value: Any) -> Any:
    """A label from a DataFrame's column: a string or an integer, as the model was fitted."""
    if value is None or isinstance(value, float | bool):
        raise ValueError("is not a class label (a string or an integer)")
    return value


def outcome_problem(actual: Any) -> str | None:
    """Why ``actual`` (a feedback item's outcome) cannot be a class label; None if it can."""
    if isinstance(actual, bool) or not isinstance(actual, str | int):
        return "Must be a class label: a string or an integer."
    return None


def metrics(predictions: Sequence[Mapping[str, Any]], actuals: Sequence[Any]) -> dict[str, Any]:
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
