"""Input distribution and drift, against the training data's reference statistics.

Each version's ``metadata.json`` keeps, per feature, how its training values fall into bins
(``reference.feature_statistics``): quantile ranges for a number; for a bool or a category, the
most frequent values and one bin for the rest (and for values never seen). Live inputs are
counted in the same bins, and the two distributions are compared with the population
stability index (PSI): sum over bins of ``(live - reference) * ln(live / reference)``, the
shares of each. Customary reading: under 0.1 stable, 0.1 to 0.2 moving, over 0.2 drifted.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..model.features import FEATURES
from ..store.reference import MAX_VALUE_BINS
from .http_metrics import FEATURE_REFERENCE, FEATURE_VALUES

#: Shares are floored at this before the logarithm: a bin empty on one side would otherwise
#: give an infinite score.
SHARE_FLOOR = 1e-4
#: A category value longer than this is cut in its bin's label (metrics labels stay short).
LABEL_VALUE_LENGTH = 40
OTHER_VALUES = "(other values)"

Reference = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Bins:
    """One feature's bins: how to place a value in one, their names, and the training counts."""

    labels: list[str]
    reference_counts: list[int]
    edges: list[float] | None = None  # a number's bins
    positions: dict[Any, int] | None = None  # a value's bin, for a bool or a category

    @classmethod
    def of(cls, statistics: Mapping[str, Any]) -> Bins:
        """The bins that ``reference.feature_statistics`` describes for one feature."""
        if "edges" in statistics:
            edges = list(statistics["edges"])
            return cls(_range_labels(edges), list(statistics["counts"]), edges=edges)
        values, counts = statistics["values"], statistics["value_counts"]
        binned = values[:MAX_VALUE_BINS]
        labels = [f"{index:02d} {_value_label(value)}" for index, value in enumerate(binned)]
        # The last bin holds the rest: the rarer values, and any never seen in training.
        labels.append(f"{len(binned):02d} {OTHER_VALUES}")
        reference_counts = [*counts[:MAX_VALUE_BINS], sum(counts[MAX_VALUE_BINS:])]
        return cls(labels, reference_counts, positions={v: i for i, v in enumerate(binned)})

    def count(self, values: Sequence[Any]) -> list[int]:
        """How many ``values`` fall in each bin."""
        counts = [0] * len(self.labels)
        if self.edges is not None:
            for value in values:
                counts[bisect_right(self.edges, value)] += 1
            return counts
        assert self.positions is not None
        other = len(self.positions)
        for value in values:
            counts[self.positions.get(value, other)] += 1
        return counts


def _range_labels(edges: Sequence[float]) -> list[str]:
    """A name per bin that sorts in order and reads as its range: ``03 [5.0, 5.4)``."""
    bounds = [-math.inf, *edges, math.inf]
    return [
        f"{index:02d} {'(' if low == -math.inf else '['}{low:.4g}, {high:.4g})"
        for index, (low, high) in enumerate(itertools.pairwise(bounds))
    ]


def _value_label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if len(text) <= LABEL_VALUE_LENGTH else text[: LABEL_VALUE_LENGTH - 1] + "…"


def population_stability_index(reference: Sequence[int], live: Sequence[int]) -> float:
    """PSI of the ``live`` bin counts against the ``reference`` ones (same bins)."""
    reference_total, live_total = sum(reference), sum(live)
    if not reference_total or not live_total:
        raise ValueError("PSI needs at least one value on each side")
    score = 0.0
    for expected, actual in zip(reference, live, strict=True):
        p = max(expected / reference_total, SHARE_FLOOR)
        q = max(actual / live_total, SHARE_FLOOR)
        score += (q - p) * math.log(q / p)
    return score


def drift_scores(reference: Reference, records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """PSI per feature of ``records`` against a version's reference statistics."""
    scores = {}
    for name in FEATURES:
        if name in reference:
            bins = Bins.of(reference[name])
            live = bins.count([record[name] for record in records])
            scores[name] = population_stability_index(bins.reference_counts, live)
    return scores


class LiveBins:
    """Counts every scored record's values in one version's reference bins, for Prometheus.

    The label children are made once per version: ``labels()`` costs more than ``inc()``.
    """

    def __init__(self, version: str, reference: Reference) -> None:
        self.bins = {name: Bins.of(reference[name]) for name in FEATURES if name in reference}
        self.counters = {}
        for name, bins in self.bins.items():
            self.counters[name] = [
                FEATURE_VALUES.labels(version, name, label) for label in bins.labels
            ]
            total = sum(bins.reference_counts)
            for label, count in zip(bins.labels, bins.reference_counts, strict=True):
                FEATURE_REFERENCE.labels(version, name, label).set(count / total)

    def observe(self, instances: Sequence[Mapping[str, Any]]) -> None:
        """Count each record's value of each feature in its bin."""
        for name, bins in self.bins.items():
            counts = bins.count([record[name] for record in instances])
            for counter, count in zip(self.counters[name], counts, strict=True):
                if count:
                    counter.inc(count)
