"""Records as the network's input: one float32 matrix, a row per record.

A network takes numbers, so each feature becomes columns by its type: a number its value, a
flag 1.0 or 0.0, a category one column per value of its vocabulary (1.0 in the value's own,
0.0 elsewhere: one-hot). The vocabulary is the categories' values in the training data; it
travels in metadata.json with the model, so serving encodes exactly as training did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .features import CATEGORICAL, FEATURES

#: Per category feature, its values in the order of their columns.
Vocabulary = Mapping[str, Sequence[str]]


def vocabulary(records: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The sorted values each category feature takes in ``records`` (the training data)."""
    return {name: sorted({record[name] for record in records}) for name in CATEGORICAL}


def encoded_width(categories: Vocabulary) -> int:
    """How many columns ``encode`` gives: one per number or flag, one per category value."""
    return len(FEATURES) - len(CATEGORICAL) + sum(len(categories[name]) for name in CATEGORICAL)


def encode(records: Sequence[Mapping[str, Any]], categories: Vocabulary) -> np.ndarray:
    """The float32 matrix of ``records``; a category value outside the vocabulary is all 0.0."""
    columns: list[np.ndarray] = []
    for name in FEATURES:
        values = [record[name] for record in records]
        if name in CATEGORICAL:
            positions = {value: index for index, value in enumerate(categories[name])}
            one_hot = np.zeros((len(values), len(positions)), dtype=np.float32)
            for row, value in enumerate(values):
                if value in positions:
                    one_hot[row, positions[value]] = 1.0
            columns.append(one_hot)
        else:
            # A number beyond float32's range becomes infinite, and the prediction it gives is
            # refused as unscorable: no warning for it here.
            with np.errstate(over="ignore"):
                columns.append(np.asarray(values, dtype=np.float32).reshape(-1, 1))
    return np.hstack(columns)


def check_vocabulary(categories: Any) -> dict[str, list[str]]:
    """``categories`` as read from metadata.json, if it names every category feature's values."""
    if not isinstance(categories, Mapping) or any(
        not isinstance(categories.get(name), list) for name in CATEGORICAL
    ):
        raise ValueError(
            "the metadata needs 'categories': each category feature's values, in the order of "
            f"the network's one-hot columns ({', '.join(CATEGORICAL) or 'none here'})"
        )
    return {name: list(categories[name]) for name in CATEGORICAL}
