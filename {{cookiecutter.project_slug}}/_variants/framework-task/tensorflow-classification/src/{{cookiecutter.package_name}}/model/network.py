"""The network's architecture, and what the service predicts with.

EDIT HERE: put your own architecture in ``build_network``, the one function training calls. What
the rest of the service needs of a network: it takes a float32 batch (a row per record, the
columns of ``encoding.encode``) and gives one probability per class. The service never rebuilds it from code:
the SavedModel holds the whole computation, and metadata.json the class names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from .encoding import check_vocabulary


def build_network(
    inputs: np.ndarray, n_outputs: int, hidden_sizes: Sequence[int] = (32,)
) -> keras.Model:
    """A small multi-layer perceptron: standardised features in, class probabilities out.

    The standardisation layer learns the training data's mean and spread from ``inputs``
    and is saved with the weights, so the network scales its own inputs exactly as in training.
    """
    standardise = keras.layers.Normalization(name="standardise")
    standardise.adapt(inputs)
    layers = [keras.Input(shape=(inputs.shape[1],), name="features"), standardise]
    layers += [keras.layers.Dense(size, activation="relu") for size in hidden_sizes]
    layers.append(keras.layers.Dense(n_outputs, activation="softmax", name="probabilities"))
    return keras.Sequential(layers)


@dataclass(frozen=True)
class Model:
    """A network, the class each of its outputs stands for, and each category feature's values
    in the order of their one-hot columns.

    ``network`` is the Keras model as trained, or the SavedModel as loaded (what the service
    predicts with, through its ``serve`` function).
    """

    network: Any
    classes: list[Any]
    categories: dict[str, list[str]]

    @classmethod
    def from_metadata(cls, network: Any, metadata: Mapping[str, Any]) -> Model:
        """The model for a loaded SavedModel, with the classes and categories metadata.json
        records."""
        classes = metadata.get("classes")
        if not isinstance(classes, list) or not classes:
            raise ValueError(
                "the metadata needs 'classes': a list of the class names, one per output of the "
                "network, in order"
            )
        return cls(network, classes, check_vocabulary(metadata.get("categories", {})))
