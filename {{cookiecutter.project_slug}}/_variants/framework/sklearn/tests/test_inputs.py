"""A model fitted on a DataFrame gets one, a model fitted on an array gets an array: no warnings.

The example model is fitted on an array unless there are categories to choose by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer, make_column_transformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from {{ cookiecutter.package_name }}.model.example_data import load_example_data
from {{ cookiecutter.package_name }}.model.features import (
    BOOLEAN,
    CATEGORICAL,
    FEATURES,
    NUMERIC,
)
from {{ cookiecutter.package_name }}.model.inputs import check_columns, model_input
from {{ cookiecutter.package_name }}.model.predict import describe_model, predict
from {{ cookiecutter.package_name }}.model.training import fit


@pytest.fixture(scope="module")
def data() -> tuple[list[dict[str, Any]], list[Any]]:
    return load_example_data()


def by_name() -> ColumnTransformer:
    """A notebook's first step: each column chosen by name, encoded by its type."""
    return make_column_transformer(
        (StandardScaler(), list(NUMERIC)),
        ("passthrough", list(BOOLEAN)),
        (OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL)),
    )


def test_a_dataframe_model_gets_its_columns_by_name(data: tuple[list, list]) -> None:
    records, targets = data
    estimator = clone(fit(records, targets).steps[-1][1])
    model = make_pipeline(by_name(), estimator).fit(pd.DataFrame(records), targets)
    frame = model_input(model, records[:3])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(model.feature_names_in_)
    # pytest turns warnings into errors here: none about feature names is raised.
    assert len(predict(model, records[:3])) == 3


def test_an_array_model_gets_an_array_in_feature_order(data: tuple[list, list]) -> None:
    records, targets = data
    encoder = by_name()
    # The same recipe fitted on an array: its columns chosen by position, not by name.
    encoder.transformers = [
        (name, transformer, [FEATURES.index(column) for column in columns])
        for name, transformer, columns in encoder.transformers
    ]
    pipeline = make_pipeline(encoder, clone(fit(records, targets).steps[-1][1]))
    rows = np.array(
        [[record[name] for name in FEATURES] for record in records],
        dtype=object if CATEGORICAL else float,
    )
    model = pipeline.fit(rows, targets)
    assert not hasattr(model, "feature_names_in_")
    assert isinstance(model_input(model, records[:3]), np.ndarray)
    assert len(predict(model, records[:3])) == 3


def test_the_example_model_is_fitted_on_a_dataframe_only_for_categories(
    data: tuple[list, list],
) -> None:
    assert hasattr(fit(*data), "feature_names_in_") == bool(CATEGORICAL)


def test_a_model_fitted_on_other_columns_is_refused() -> None:
    model = StandardScaler().fit(pd.DataFrame({FEATURES[0]: [1.0, 2.0], "price": [3.0, 4.0]}))
    with pytest.raises(ValueError, match=r"fitted on the columns .*price, but this service's"):
        check_columns(model)
    with pytest.raises(ValueError, match=r"df\[list\(FEATURES\)\]"):
        describe_model(model)
