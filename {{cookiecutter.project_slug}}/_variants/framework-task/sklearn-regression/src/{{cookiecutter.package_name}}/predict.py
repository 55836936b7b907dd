"""From validated records to predictions: preprocess -> model -> postprocess.

EDIT HERE: this is the one module to change when your model needs other inputs (feature
engineering) or gives other outputs. The API validates records with ``schemas.InstanceSchema``
before they reach ``predict`` (``features.FEATURES`` gives their column order), and documents
its answers with ``PredictionSchema`` below.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from marshmallow import Schema, fields

from .features import FEATURES


class PredictionSchema(Schema):
    """One prediction as the API answers it (``id`` is added by the API)."""

    id = fields.String(required=True, metadata={"description": "Unique id of this prediction."})
    value = fields.Float(required=True, metadata={"description": "The predicted value."})


def preprocess(instances: list[dict[str, float]]) -> np.ndarray:
    """The records as one matrix, a row per record and a column per feature."""
    return np.array([[record[name] for name in FEATURES] for record in instances], dtype=float)


def postprocess(values: np.ndarray) -> list[dict[str, Any]]:
    """One value per row, as a plain float."""
    return [{"value": value} for value in np.asarray(values, dtype=float).ravel().tolist()]


def predict(model: Any, instances: list[dict[str, float]]) -> list[dict[str, Any]]:
    """Score a whole batch at once: one call into the model, one prediction per record."""
    return postprocess(model.predict(preprocess(instances)))


def describe_model(model: Any) -> dict[str, Any]:
    """What metadata.json records about the model besides its files: nothing, for a regressor."""
    return {}
