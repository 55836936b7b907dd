"""Synthetic records with this service's features, each drawn by its type, for the example model.

No real data set comes with these features, so ``train-example`` learns a seeded linear rule
over the records' encoded values; replace ``example_data.load_example_data`` with your own
data to train something useful.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .features import FEATURE_TYPES, FEATURES

#: The values of every category feature, and how often each is drawn.
LEVELS = ("north", "south", "east", "west")
LEVEL_SHARES = (0.4, 0.3, 0.2, 0.1)


def synthetic_records(
    rng: np.random.Generator, size: int
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """``size`` records, and their values encoded as numbers around zero: a column per number
    or flag, and one per level of each category."""
    columns: dict[str, list[Any]] = {}
    encoded: list[np.ndarray] = []
    for name, kind in FEATURE_TYPES.items():
        values: np.ndarray  # of floats, whole numbers, flags or levels, by the feature's type
        if kind == "float":
            values = rng.normal(size=size)
            encoded.append(values)
        elif kind == "int":
            values = rng.poisson(3.0, size=size)
            encoded.append((values - 3.0) / 3.0**0.5)
        elif kind == "bool":
            values = rng.random(size) < 0.5
            encoded.append(values * 2.0 - 1.0)
        else:
            codes = rng.choice(len(LEVELS), size=size, p=LEVEL_SHARES)
            values = np.array(LEVELS)[codes]
            encoded.extend((codes == level) * 2.0 - 1.0 for level in range(len(LEVELS)))
        columns[name] = values.tolist()
    records = [dict(zip(FEATURES, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    return records, np.column_stack(encoded)
