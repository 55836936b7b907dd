"""Input distribution and drift, against the training data's reference statistics.

Each version's ``metadata.json`` keeps, per feature, quantile bin edges of its training data
and how many training values fell in each bin (``reference.feature_statistics``). Live inputs
are counted in the same bins, and the two distributions are compared with the population
stability index (PSI): sum over bins of ``(live - reference) * ln(live / reference)``, the
shares of each. Customary reading: under 0.1 stable, 0.1 to 0.2 moving, over 0.2 drifted.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from typing import Any

from .features import FEATURES
from .metrics import FEATURE_REFERENCE, FEATURE_VALUES

#: Shares are floored at this before the logarithm: a bin empty on one side would otherwise
#: give an infinite score.
SHARE_FLOOR = 1e-4

Reference = Mapping[str, Mapping[str, Any]]


def bin_labels(edges: Sequence[float]) -> list[str]:
    """A name per bin that sorts in order and reads as its range: ``03 [5.0, 5.4)``."""
    bounds = [-math.inf, *edges, math.inf]
    return [
        f"{index:02d} {'(' if low == -math.inf else '['}{low:.4g}, {high:.4g})"
        for index, (low, high) in enumerate(itertools.pairwise(bounds))
    ]


def bin_counts(edges: Sequence[float], values: Sequence[float]) -> list[int]:
    """How many ``values`` fall in each bin of ``edges`` (as reference.feature_statistics)."""
    counts = [0] * (len(edges) + 1)
    for value in values:
        counts[bisect_right(edges, value)] += 1
    return counts


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


def drift_scores(reference: Reference, records: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """PSI per feature of ``records`` against a version's reference statistics."""
    return {
        name: population_stability_index(
            reference[name]["counts"],
            bin_counts(reference[name]["edges"], [record[name] for record in records]),
        )
        for name in FEATURES
        if name in reference
    }


class LiveBins:
    """Counts every scored record's values in one version's reference bins, for Prometheus.

    The label children are made once per version: ``labels()`` costs more than ``inc()``.
    """

    def __init__(self, version: str, reference: Reference) -> None:
        self.edges = {name: reference[name]["edges"] for name in FEATURES if name in reference}
        self.counters = {}
        for name, edges in self.edges.items():
            labels = bin_labels(edges)
            self.counters[name] = [FEATURE_VALUES.labels(version, name, label) for label in labels]
            counts = reference[name]["counts"]
            total = sum(counts)
            for label, count in zip(labels, counts, strict=True):
                FEATURE_REFERENCE.labels(version, name, label).set(count / total)

    def observe(self, instances: Sequence[Mapping[str, float]]) -> None:
        """Count each record's value of each feature in its bin."""
        for name, edges in self.edges.items():
            counts = bin_counts(edges, [record[name] for record in instances])
            for counter, count in zip(self.counters[name], counts, strict=True):
                if count:
                    counter.inc(count)
