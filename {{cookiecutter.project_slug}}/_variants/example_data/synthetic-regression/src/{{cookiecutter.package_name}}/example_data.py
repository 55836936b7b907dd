"""The example data: synthetic records with this service's feature names and a numeric target.

No real data set comes with these features, so ``train-example`` learns a seeded linear rule;
replace ``load_example_data`` with your own data to train something useful.
"""

from __future__ import annotations

import numpy as np

from .features import FEATURES


def load_example_data(size: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``size`` records of standard-normal features and a noisy linear target."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(size, len(FEATURES)))
    weights = rng.normal(size=len(FEATURES))
    return features, features @ weights + rng.normal(scale=0.1, size=size)
