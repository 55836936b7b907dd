"""Reference statistics of the training data, kept in metadata.json for drift monitoring.

Per feature, by its type:

- numbers (``float``, ``int``): quantile bin edges and the count of training values in each
  bin (the live inputs are later counted in the same bins and compared), plus summary numbers.
  Bin ``i`` holds values ``v`` with ``edges[i-1] <= v < edges[i]``; the first and last bins
  are open-ended.
- ``bool`` and ``category``: every value the training data holds, most frequent first, with
  its count. They are the values a request may send, and the most frequent
  ``MAX_VALUE_BINS`` of them are each a bin for drift; the rest share one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..model.features import FEATURE_TYPES, FEATURES, NUMERIC

DEFAULT_BINS = 10
#: A category feature may take at most this many values: more is an id or free text, which
#: a category's allowed list, its drift bins and its metrics could not hold.
MAX_CATEGORIES = 1000
#: The most frequent values of a bool or category feature that get a drift bin each.
MAX_VALUE_BINS = 20

Statistics = Mapping[str, Mapping[str, Any]]


def numeric_statistics(values: Sequence[float], bins: int = DEFAULT_BINS) -> dict[str, Any]:
    """Quantile bin edges, bin counts and summary numbers of one numeric feature."""
    column = np.asarray(values, dtype=float)
    quantiles = np.quantile(column, np.linspace(0, 1, bins + 1)[1:-1])
    edges = np.unique(quantiles)  # repeated values make repeated quantiles
    counts = np.bincount(np.searchsorted(edges, column, side="right"), minlength=edges.size + 1)
    return {
        "edges": edges.tolist(),
        "counts": counts.tolist(),
        "count": int(column.size),
        "mean": float(column.mean()),
        "std": float(column.std()),
        "min": float(column.min()),
        "median": float(np.median(column)),
        "max": float(column.max()),
    }


def value_statistics(name: str, values: Sequence[Any]) -> dict[str, Any]:
    """Every value of one bool or category feature, most frequent first, with its count."""
    # Ties in frequency are ordered by value, so the same data always gives the same bins.
    tally = sorted(Counter(values).items(), key=lambda item: (-item[1], str(item[0])))
    if len(tally) > MAX_CATEGORIES:
        raise ValueError(
            f"feature {name} has {len(tally)} distinct values in the reference data; a "
            f"category takes at most {MAX_CATEGORIES}: is it an id or free text? Give it "
            "another type, or group its rare values before fitting"
        )
    return {
        "values": [value for value, _ in tally],
        "value_counts": [count for _, count in tally],
        "count": len(values),
    }


def feature_statistics(
    records: Sequence[Mapping[str, Any]], bins: int = DEFAULT_BINS
) -> dict[str, dict[str, Any]]:
    """The reference statistics of each feature of ``records`` (read by features' types)."""
    statistics: dict[str, dict[str, Any]] = {}
    for name in FEATURES:
        values = [record[name] for record in records]
        summary = (
            numeric_statistics(values, bins) if name in NUMERIC else value_statistics(name, values)
        )
        statistics[name] = {"type": FEATURE_TYPES[name], **summary}
    return statistics


def allowed_values(statistics: Statistics | None) -> dict[str, frozenset[Any]]:
    """The values each category feature may take: those its reference data holds."""
    statistics = statistics or {}
    return {
        name: frozenset(stats["values"])
        for name, stats in statistics.items()
        if FEATURE_TYPES.get(name) == "category" and "values" in stats
    }


def typical_instance(statistics: Statistics | None) -> dict[str, Any]:
    """A plausible record for a warm-up prediction: each number's training median, each other
    feature's most frequent value; without statistics, 0 and false."""
    statistics = statistics or {}
    record: dict[str, Any] = {}
    for name, kind in FEATURE_TYPES.items():
        stats = statistics.get(name, {})
        if kind == "float":
            record[name] = float(stats.get("median", 0.0))
        elif kind == "int":
            record[name] = round(stats.get("median", 0))
        elif stats.get("values"):
            record[name] = stats["values"][0]
        elif kind == "bool":
            record[name] = False
        else:
            raise ValueError(
                f"{name} is a category feature, and the model has no reference statistics to "
                "take a typical value from: register it with reference data"
            )
    return record
