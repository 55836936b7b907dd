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
import torch
from marshmallow import Schema, fields

from .encoding import encode
from .network import Model


class PredictionSchema(Schema):
    """One prediction as the API answers it (``id`` is added by the API)."""

    id = fields.String(required=True, metadata={"description": "Unique id of this prediction."})
    value = fields.Float(required=True, metadata={"description": "The predicted value."})


def preprocess(model: Model, instances: list[dict[str, Any]]) -> torch.Tensor:
    """The records as one float32 batch: a row per record, the columns ``encode`` gives."""
    return torch.from_numpy(encode(instances, model.categories))


def postprocess(values: np.ndarray) -> list[dict[str, Any]]:
    """One value per row, as a plain float."""
    return [{"value": value} for value in values.astype(float).tolist()]


def predict(model: Model, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Score a whole batch at once: one forward pass, one prediction per record."""
    with torch.inference_mode():  # no autograd bookkeeping: faster, and less memory
        values = model.network(preprocess(model, instances))
    return postprocess(values.reshape(-1).numpy())


def describe_model(model: Model) -> dict[str, Any]:
    """What metadata.json records about the model besides its files.

    Its categories' values (the one-hot columns), and the hyperparameters that loading rebuilds
    the network from.
    """
    return {"categories": model.categories, "hyperparameters": model.network.hyperparameters}
