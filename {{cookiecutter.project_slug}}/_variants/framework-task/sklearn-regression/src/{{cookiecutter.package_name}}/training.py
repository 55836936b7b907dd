"""The example model that ``train-example`` fits. Replace it with your own recipe."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline

from .features import FEATURES
from .model_input import column_encoder


def fit(records: Sequence[dict[str, Any]], targets: Sequence[float]) -> Pipeline:
    """A ridge regression over standardised numbers and one-hot categories: small and fast.

    Fitted on a DataFrame, as in a notebook: the columns are chosen by name.
    """
    frame = pd.DataFrame.from_records(records, columns=list(FEATURES))
    model = make_pipeline(column_encoder(), Ridge(alpha=1.0))
    return model.fit(frame, list(targets))
