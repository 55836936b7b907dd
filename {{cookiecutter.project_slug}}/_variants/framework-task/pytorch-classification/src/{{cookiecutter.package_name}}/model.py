"""The network's architecture, and what the service predicts with.

EDIT HERE: put your own architecture in ``Network``. Its constructor's arguments must be JSON
values: metadata.json keeps them as the version's hyperparameters, and loading rebuilds the
network from them before it loads the weights (the state_dict).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


class Network(nn.Module):
    """A small multi-layer perceptron: standardised features in, one logit per class out."""

    def __init__(
        self, n_features: int, n_outputs: int, hidden_sizes: Sequence[int] = (32,)
    ) -> None:
        super().__init__()
        #: The constructor's arguments, as metadata.json records them.
        self.hyperparameters = {
            "n_features": n_features,
            "n_outputs": n_outputs,
            "hidden_sizes": list(hidden_sizes),
        }
        # The training data's mean and spread travel in the state_dict with the weights, so the
        # network standardises its own inputs exactly as in training.
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        layers: list[nn.Module] = []
        width = n_features
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits for a float32 batch, a row per record and a column per class."""
        return self.layers((features - self.mean) / self.scale)


@dataclass(frozen=True)
class Model:
    """What the service predicts with: the network, and the class each of its outputs stands for."""

    network: Network
    classes: list[Any]

    @classmethod
    def from_metadata(cls, network: Network, metadata: Mapping[str, Any]) -> Model:
        """The model for a loaded network, with the classes metadata.json records."""
        classes = metadata.get("classes")
        if not isinstance(classes, list) or len(classes) != network.hyperparameters["n_outputs"]:
            raise ValueError(
                "the metadata needs 'classes': a list of the class names, one per output of the "
                "network, in order"
            )
        return cls(network, classes)
