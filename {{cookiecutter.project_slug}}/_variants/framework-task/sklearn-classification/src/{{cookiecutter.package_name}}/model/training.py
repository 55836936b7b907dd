"""The example model that ``train-example`` fits. Replace it with your own recipe."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from .inputs import column_encoder, training_input


def fit(records: Sequence[dict[str, Any]], targets: Sequence[Any]) -> Pipeline:
    """A logistic regression over standardised numbers and one-hot categories: small, fast, and
    gives class probabilities.

    Fitted on a DataFrame when there are categories to choose by name, as in a notebook;
    else on an array (see ``inputs.column_encoder``).
    """
    model = make_pipeline(column_encoder(), LogisticRegression(max_iter=1000))
    return model.fit(training_input(records), list(targets))
