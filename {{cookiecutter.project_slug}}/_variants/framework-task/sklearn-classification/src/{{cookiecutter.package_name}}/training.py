"""The example model that ``train-example`` fits. Replace it with your own recipe."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from .features import FEATURES
from .model_input import column_encoder


def fit(records: Sequence[dict[str, Any]], targets: Sequence[Any]) -> Pipeline:
    """A logistic regression over standardised numbers and one-hot categories: small, fast, and
    gives class probabilities.

    Fitted on a DataFrame, as in a notebook: the columns are chosen by name.
    """
    frame = pd.DataFrame.from_records(records, columns=list(FEATURES))
    model = make_pipeline(column_encoder(), LogisticRegression(max_iter=1000))
    return model.fit(frame, list(targets))
