"""From validated records to predictions: preprocess -> model -> postprocess.

EDIT HERE: this is the one module to change when your model needs other inputs (feature
engineering) or gives other outputs. The API validates records with ``schemas.InstanceSchema``
before they reach ``predict``: each feature's value is of its type (``features.FEATURE_TYPES``),
and ``encoding.encode`` turns them into the network's input. The API documents the answers
with ``PredictionSchema`` below. The network itself is in ``network.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from marshmallow import Schema, fields

from .encoding import encode
from .network import Model


class PredictionSchema(Schema):
    """One prediction as the API answers it (``id`` is added by the API)."""

    id = fields.String(required=True, metadata={"description": "Unique id of this prediction."})
    value = fields.Float(required=True, metadata={"description": "The predicted value."})


def preprocess(model: Model, instances: list[dict[str, Any]]) -> tf.Tensor:
    """The records as one float32 batch: a row per record, the columns ``encode`` gives."""
    return tf.constant(encode(instances, model.categories))


def postprocess(values: np.ndarray) -> list[dict[str, Any]]:
    """One value per row, as a plain float."""
    return [{"value": value} for value in values.astype(float).ravel().tolist()]


def forward(model: Model, inputs: tf.Tensor) -> tf.Tensor:
    """The network's output: through the ``serve`` function of a loaded SavedModel (serving),
    or by calling the Keras model as trained (in a notebook, before it is registered)."""
    serve = getattr(model.network, "serve", None)
    return serve(inputs) if serve is not None else model.network(inputs, training=False)


def predict(model: Model, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Score a whole batch at once: one call of the network."""
    return postprocess(forward(model, preprocess(model, instances)).numpy())


def describe_model(model: Model) -> dict[str, Any]:
    """What metadata.json records about the model besides its files: its categories' values
    (the one-hot columns)."""
    return {"categories": model.categories}
