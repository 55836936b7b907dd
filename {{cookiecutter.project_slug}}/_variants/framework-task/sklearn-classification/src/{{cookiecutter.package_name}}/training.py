"""The example model that ``train-example`` fits. Replace it with your own recipe."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler


def fit(features: np.ndarray, targets: np.ndarray) -> Pipeline:
    """A standardised logistic regression: small, fast, and gives class probabilities."""
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(features, targets)
