"""Reference statistics of the training data, kept in metadata.json for drift monitoring.

Per feature: quantile bin edges and the count of training values in each bin (the live inputs
are later counted in the same bins and compared), plus summary numbers. Bin ``i`` holds values
``v`` with ``edges[i-1] <= v < edges[i]``; the first and last bins are open-ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

DEFAULT_BINS = 10


def feature_statistics(
    features: np.ndarray, names: Sequence[str], bins: int = DEFAULT_BINS
) -> dict[str, dict[str, Any]]:
    """Bin edges, bin counts and summary numbers for each column of ``features``."""
    statistics = {}
    for column, name in zip(features.T, names, strict=True):
        quantiles = np.quantile(column, np.linspace(0, 1, bins + 1)[1:-1])
        edges = np.unique(quantiles)  # repeated values make repeated quantiles
        counts = np.bincount(np.searchsorted(edges, column, side="right"), minlength=edges.size + 1)
        statistics[name] = {
            "edges": edges.tolist(),
            "counts": counts.tolist(),
            "count": int(column.size),
            "mean": float(column.mean()),
            "std": float(column.std()),
            "min": float(column.min()),
            "median": float(np.median(column)),
            "max": float(column.max()),
        }
    return statistics


def typical_instance(
    statistics: Mapping[str, Mapping[str, Any]] | None, names: Sequence[str]
) -> dict[str, float]:
    """A plausible record for a warm-up prediction: each feature's training median, else 0."""
    statistics = statistics or {}
    return {name: float(statistics.get(name, {}).get("median", 0.0)) for name in names}
