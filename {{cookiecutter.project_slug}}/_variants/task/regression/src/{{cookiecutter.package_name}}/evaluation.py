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


def metrics(predictions: Sequence[dict[str, Any]], actuals: Sequence[Any]) -> dict[str, float]:
    """Mean absolute and root-mean-square error of ``predictions`` against ``actuals``."""
    if len(predictions) != len(actuals) or not actuals:
        raise ValueError("metrics need as many actual values as predictions, and at least one")
    errors = np.array([p["value"] for p in predictions]) - np.asarray(actuals, dtype=float)
    return {
        "mae": float(np.mean(np.abs(errors))),
        "rmse": float(np.sqrt(np.mean(errors**2))),
    }
