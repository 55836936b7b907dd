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
    label = fields.Raw(required=True, metadata={"description": "The most probable class."})
    probabilities = fields.Dict(
        keys=fields.String(),
        values=fields.Float(),
        metadata={"description": "Probability per class name; absent if the model has none."},
    )


def preprocess(model: Any, instances: list[dict[str, Any]]) -> pd.DataFrame | np.ndarray:
    """The records as the model was fitted on them: a DataFrame, or a matrix."""
    return model_input(model, instances)


def postprocess(classes: np.ndarray, probabilities: np.ndarray) -> list[dict[str, Any]]:
    """A label per row, and its probability per class name."""
    labels = classes[probabilities.argmax(axis=1)].tolist()
    names = [str(name) for name in classes.tolist()]
    return [
        {"label": label, "probabilities": dict(zip(names, row, strict=True))}
        for label, row in zip(labels, probabilities.tolist(), strict=True)
    ]


def predict(model: Any, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Score a whole batch at once: one call into the model, one prediction per record."""
    features = preprocess(model, instances)
    if not hasattr(model, "predict_proba"):
        # Some classifiers (an SVC without probability=True, say) only give labels.
        return [{"label": label} for label in model.predict(features).tolist()]
    return postprocess(model.classes_, model.predict_proba(features))


def describe_model(model: Any) -> dict[str, Any]:
    """What metadata.json records about the model besides its files: its classes, as JSON,
    and the category values its one-hot encoders know (registration checks the data's).

    Raises ValueError for a model that cannot take this service's features.
    """
    check_columns(model)
    return {"classes": np.asarray(model.classes_).tolist(), "categories": known_categories(model)}
