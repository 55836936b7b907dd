"""The network's architecture, and what the service predicts with.

EDIT HERE: put your own architecture in ``build_network``, the one function training calls. What
the rest of the service needs of a network: it takes a float32 batch (a row per record, the
columns of ``encoding.encode``) and gives one value per row, in the target's units. The service never rebuilds it from code:
the SavedModel holds the whole computation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from .encoding import check_vocabulary


def build_network(
    inputs: np.ndarray, targets: np.ndarray, hidden_sizes: Sequence[int] = (32,)
) -> keras.Model:
    """A small multi-layer perceptron: standardised features in, one value out.

    The first layer learns the training data's mean and spread from ``inputs``, and the last
    puts the output back in the target's units; both are saved with the weights, so the
    network scales exactly as in training.
    """
    standardise = keras.layers.Normalization(name="standardise")
    standardise.adapt(inputs)
    layers = [keras.Input(shape=(inputs.shape[1],), name="features"), standardise]
    layers += [keras.layers.Dense(size, activation="relu") for size in hidden_sizes]
    layers.append(keras.layers.Dense(1))
    scale, offset = float(targets.std()) or 1.0, float(targets.mean())
    layers.append(keras.layers.Rescaling(scale, offset, name="target_units"))
    return keras.Sequential(layers)


@dataclass(frozen=True)
class Model:
    """A network (the Keras model as trained, or the SavedModel as loaded: what the service
    predicts with, through its ``serve`` function), and each category feature's values in the
    order of their one-hot columns."""

    network: Any
    categories: dict[str, list[str]]

    @classmethod
    def from_metadata(cls, network: Any, metadata: Mapping[str, Any]) -> Model:
        """The model for a loaded SavedModel, with the categories metadata.json records."""
        return cls(network, check_vocabulary(metadata.get("categories", {})))
