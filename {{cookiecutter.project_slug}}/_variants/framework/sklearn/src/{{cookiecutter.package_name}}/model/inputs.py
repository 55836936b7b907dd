"""Records as a scikit-learn model was fitted on them, a DataFrame or an array.

Also the example model's first step and what it is fitted on.

A model fitted on a pandas DataFrame knows its columns by name (``feature_names_in_``): a
``ColumnTransformer`` selects them so, and every step checks the names it is given. Such a
model gets a DataFrame with those columns; any other model gets an array, a column per
feature in ``features.FEATURES`` order, as it was fitted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_transformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .features import BOOLEAN, CATEGORICAL, FEATURES, NUMERIC


def model_input(model: Any, instances: Sequence[dict[str, Any]]) -> pd.DataFrame | np.ndarray:
    """``instances`` as ``model`` takes them: by column name, or by position."""
    columns = getattr(model, "feature_names_in_", None)
    if columns is not None:
        return pd.DataFrame({name: [record[name] for record in instances] for name in columns})
    rows = [[record[name] for name in FEATURES] for record in instances]
    # Strings cannot sit in a float array: with category features, the array holds objects.
    return np.array(rows, dtype=object if CATEGORICAL else float)


def known_categories(model: Any) -> dict[str, list[Any]]:
    """The values the model's one-hot encoders were fitted with, per category feature they
    encode by column name (in a pipeline or a column transformer); others are not known."""
    known: dict[str, list[Any]] = {}
    for encoder, columns in _one_hot_encoders(model, None):
        for column, values in zip(columns, encoder.categories_, strict=False):
            if column in CATEGORICAL:
                known[column] = np.asarray(values).tolist()
    return known


def _one_hot_encoders(
    estimator: Any, columns: list[str] | None
) -> Iterator[tuple[OneHotEncoder, list[str]]]:
    if isinstance(estimator, Pipeline):
        for _, step in estimator.steps:  # imputers and the like keep their columns' names
            yield from _one_hot_encoders(step, columns)
    elif isinstance(estimator, ColumnTransformer):
        for _, transformer, selected in getattr(estimator, "transformers_", []):
            names = list(selected) if isinstance(selected, list | tuple | np.ndarray) else []
            if names and all(isinstance(name, str) for name in names):
                yield from _one_hot_encoders(transformer, names)
    elif isinstance(estimator, OneHotEncoder) and columns and hasattr(estimator, "categories_"):
        yield estimator, columns


def check_columns(model: Any) -> None:
    """Refuse a model fitted on a DataFrame whose columns are not exactly the features."""
    columns = getattr(model, "feature_names_in_", None)
    if columns is not None and sorted(columns) != sorted(FEATURES):
        raise ValueError(
            f"the model was fitted on the columns {', '.join(map(str, columns))}, but this "
            f"service's features are {', '.join(FEATURES)}: fit it on df[list(FEATURES)], "
            "or bake the service with the model's features"
        )


def column_encoder() -> ColumnTransformer | StandardScaler:
    """The example model's first step.

    With category features: numbers standardised, flags as they are and categories one-hot,
    each column chosen by name, so it is fitted on a DataFrame. With numbers and flags only:
    all standardised, by position, so it is fitted on an array: at every request an array
    costs a third of a DataFrame and a column transformer (measured on the iris model).
    """
    if not CATEGORICAL:
        return StandardScaler()
    return make_column_transformer(
        (StandardScaler(), list(NUMERIC)),
        ("passthrough", list(BOOLEAN)),
        (OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL)),
    )


def training_input(records: Sequence[dict[str, Any]]) -> pd.DataFrame | np.ndarray:
    """What the example model is fitted on: a DataFrame if ``column_encoder`` chooses columns by
    name, else an array, a column per feature."""
    if CATEGORICAL:
        return pd.DataFrame.from_records(records, columns=list(FEATURES))
    return np.array([[record[name] for name in FEATURES] for record in records], dtype=float)
