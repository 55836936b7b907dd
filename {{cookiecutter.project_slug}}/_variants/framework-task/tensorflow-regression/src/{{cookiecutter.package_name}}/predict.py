"""From validated records to predictions: preprocess -> model -> postprocess.

EDIT HERE: this is the one module to change when your model needs other inputs (feature
engineering) or gives other outputs. The API validates records with ``schemas.InstanceSchema``
before they reach ``predict`` (``features.FEATURES`` gives their column order), and documents
its answers with ``PredictionSchema`` below. The network itself is in ``model.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from marshmallow import Schema, fields

from .features import FEATURES
from .model import Model


class PredictionSchema(Schema):
    """One prediction as the API answers it (``id`` is added by the API)."""

    id = fields.String(required=True, metadata={"description": "Unique id of this prediction."})
    value = fields.Float(required=True, metadata={"description": "The predicted value."})


def preprocess(instances: list[dict[str, float]]) -> tf.Tensor:
    """The records as one float32 batch, a row per record and a column per feature."""
    rows = [[record[name] for name in FEATURES] for record in instances]
    return tf.constant(rows, dtype=tf.float32)


def postprocess(values: np.ndarray) -> list[dict[str, Any]]:
    """One value per row, as a plain float."""
    return [{"value": value} for value in values.astype(float).ravel().tolist()]


def predict(model: Model, instances: list[dict[str, float]]) -> list[dict[str, Any]]:
    """Score a whole batch at once: one call of the SavedModel's serving function."""
    return postprocess(model.network.serve(preprocess(instances)).numpy())


def describe_model(model: Model) -> dict[str, Any]:
    """What metadata.json records about the model besides its files: nothing, for a regressor."""
    return {}
