"""From validated records to predictions: preprocess -> model -> postprocess.

EDIT HERE: this is the one module to change when your model needs other inputs (feature
engineering) or gives other outputs. The API validates records with ``schemas.InstanceSchema``
before they reach ``predict``: each feature's value is of its type (``features.FEATURE_TYPES``).
A model fitted on a pandas DataFrame gets one with its columns, any other an array
(``inputs.model_input``). The API documents the answers with ``PredictionSchema`` below.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from marshmallow import Schema, fields

from .inputs import check_columns, known_categories, model_input


class PredictionSchema(Schema):
    """One prediction as the API answers it (``id`` is added by the API)."""

    id = fields.String(required=True, metadata={"description": "Unique id of this prediction."})
    value = fields.Float(required=True, metadata={"description": "The predicted value."})


def preprocess(model: Any, instances: list[dict[str, Any]]) -> pd.DataFrame | np.ndarray:
    """The records as the model was fitted on them: a DataFrame, or a matrix."""
    return model_input(model, instances)


def postprocess(values: np.ndarray) -> list[dict[str, Any]]:
    """One value per row, as a plain float."""
    return [{"value": value} for value in np.asarray(values, dtype=float).ravel().tolist()]


def predict(model: Any, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Score a whole batch at once: one call into the model, one prediction per record."""
    return postprocess(model.predict(preprocess(model, instances)))


def describe_model(model: Any) -> dict[str, Any]:
    """What metadata.json records about the model besides its files: the category values its
    one-hot encoders know (registration checks the data's).

    Raises ValueError for a model that cannot take this service's features.
    """
    check_columns(model)
    return {"categories": known_categories(model)}
