"""From validated records to predictions: preprocess -> model -> postprocess.

EDIT HERE: this is the one module to change when your model needs other inputs (feature
engineering) or gives other outputs. The API validates records with ``schemas.InstanceSchema``
before they reach ``predict``: each feature's value is of its type (``features.FEATURE_TYPES``),
and ``encoding.encode`` turns them into the network's input. The API documents the answers
with ``PredictionSchema`` below. The network itself is in ``network.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from marshmallow import Schema, fields

from .encoding import encode
from .network import Model


class PredictionSchema(Schema):
    """One prediction as the API answers it (``id`` is added by the API)."""

    id = fields.String(required=True, metadata={"description": "Unique id of this prediction."})
    label = fields.Raw(required=True, metadata={"description": "The most probable class."})
    probabilities = fields.Dict(
        keys=fields.String(),
        values=fields.Float(),
        metadata={"description": "Probability per class name."},
    )


def preprocess(model: Model, instances: list[dict[str, Any]]) -> torch.Tensor:
    """The records as one float32 batch: a row per record, the columns ``encode`` gives."""
    return torch.from_numpy(encode(instances, model.categories))


def postprocess(classes: Sequence[Any], probabilities: np.ndarray) -> list[dict[str, Any]]:
    """A label per row, and its probability per class name."""
    names = [str(name) for name in classes]
    return [
        {
            "label": classes[row.argmax()],
            "probabilities": dict(zip(names, row.tolist(), strict=True)),
        }
        for row in probabilities
    ]


def predict(model: Model, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Score a whole batch at once: one forward pass, one prediction per record."""
    with torch.inference_mode():  # no autograd bookkeeping: faster, and less memory
        logits = model.network(preprocess(model, instances))
        probabilities = torch.softmax(logits.double(), dim=1)
    return postprocess(model.classes, probabilities.numpy())


def describe_model(model: Model) -> dict[str, Any]:
    """What metadata.json records about the model besides its files.

    Its classes, its categories' values (the one-hot columns), and the hyperparameters that
    loading rebuilds the network from.
    """
    return {
        "classes": list(model.classes),
        "categories": model.categories,
        "hyperparameters": model.network.hyperparameters,
    }
