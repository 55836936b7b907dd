"""The example data: synthetic records with this service's features, in three classes.

No real data set comes with these features, so ``train-example`` learns a seeded linear rule;
replace ``load_example_data`` with your own data to train something useful.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .synthetic import synthetic_records

#: The column of the true outcome, when the example data is written as a table.
TARGET = "target"
CLASSES = ("class_a", "class_b", "class_c")


def load_example_data(size: int = 600, seed: int = 0) -> tuple[list[dict[str, Any]], list[str]]:
    """``size`` records of the features (a dict each), and the class of each."""
    rng = np.random.default_rng(seed)
    records, encoded = synthetic_records(rng, size)
    weights = rng.normal(size=(encoded.shape[1], len(CLASSES)))
    scores = encoded @ weights + rng.normal(scale=0.5, size=(size, len(CLASSES)))
    return records, np.array(CLASSES)[scores.argmax(axis=1)].tolist()
