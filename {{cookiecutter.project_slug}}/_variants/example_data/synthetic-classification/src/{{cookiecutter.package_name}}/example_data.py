"""The example data: synthetic records with this service's feature names and three classes.

No real data set comes with these features, so ``train-example`` learns a seeded linear rule;
replace ``load_example_data`` with your own data to train something useful.
"""

from __future__ import annotations

import numpy as np

from .features import FEATURES

CLASSES = ("class_a", "class_b", "class_c")


def load_example_data(size: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``size`` records of standard-normal features, labelled by a noisy linear rule."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(size, len(FEATURES)))
    weights = rng.normal(size=(len(FEATURES), len(CLASSES)))
    scores = features @ weights + rng.normal(scale=0.5, size=(size, len(CLASSES)))
    return features, np.array(CLASSES)[scores.argmax(axis=1)]
