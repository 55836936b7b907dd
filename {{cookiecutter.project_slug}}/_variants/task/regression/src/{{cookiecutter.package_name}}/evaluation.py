"""How good a regressor's predictions are, given the true values."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def parse_target(text: str) -> float:
    """A true value as read from a CSV cell: a finite number."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def outcome_problem(actual: Any) -> str | None:
    """Why ``actual`` (a feedback item's outcome) cannot be a true value; None if it can."""
    # Written so that NaN, infinities and integers too large for a float all fail.
    if isinstance(actual, bool) or not isinstance(actual, int | float) or not abs(actual) <= 1e100:
        return "Must be a JSON number between -1e100 and 1e100."
    return None


def metrics(predictions: Sequence[dict[str, Any]], actuals: Sequence[Any]) -> dict[str, float]:
    """Mean absolute and root-mean-square error of ``predictions`` against ``actuals``."""
    if len(predictions) != len(actuals) or not actuals:
        raise ValueError("metrics need as many actual values as predictions, and at least one")
    errors = np.array([p["value"] for p in predictions]) - np.asarray(actuals, dtype=float)
    return {
        "mae": float(np.mean(np.abs(errors))),
        "rmse": float(np.sqrt(np.mean(errors**2))),
    }
