"""How good a regressor's predictions are, given the true values."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def target_from_text(text: str) -> float:
    """A true value as read from a CSV cell: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError("is not a number") from None
    return target_from_python(value)


def target_from_python(value: Any) -> float:
    """A true value from a DataFrame's column: a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("is not a finite number")
    return float(value)


def outcome_problem(actual: Any) -> str | None:
    """Why ``actual`` (a feedback item's outcome) cannot be a true value; None if it can."""
    # Written so that NaN, infinities and integers too large for a float all fail.
    if isinstance(actual, bool) or not isinstance(actual, int | float) or not abs(actual) <= 1e100:
        return "Must be a JSON number between -1e100 and 1e100."
    return None


def metrics(predictions: Sequence[Mapping[str, Any]], actuals: Sequence[Any]) -> dict[str, Any]:
    """Mean absolute and root-mean-square error of ``predictions`` against ``actuals``."""
    if len(predictions) != len(actuals) or not actuals:
        raise ValueError("metrics need as many actual values as predictions, and at least one")
    errors = np.array([p["value"] for p in predictions]) - np.asarray(actuals, dtype=float)
    return {
        "mae": float(np.mean(np.abs(errors))),
        "rmse": float(np.sqrt(np.mean(errors**2))),
    }
