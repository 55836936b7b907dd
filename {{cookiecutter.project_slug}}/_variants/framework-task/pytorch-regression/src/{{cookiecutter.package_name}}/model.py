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
    """A small multi-layer perceptron: standardised features in, one value out."""

    def __init__(self, n_features: int, hidden_sizes: Sequence[int] = (32,)) -> None:
        super().__init__()
        #: The constructor's arguments, as metadata.json records them.
        self.hyperparameters = {"n_features": n_features, "hidden_sizes": list(hidden_sizes)}
        # The training data's mean and spread (of the features, and of the target) travel in the
        # state_dict with the weights, so the network scales exactly as in training.
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        self.register_buffer("target_mean", torch.zeros(()))
        self.register_buffer("target_scale", torch.ones(()))
        layers: list[nn.Module] = []
        width = n_features
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """The predicted value for each row of a float32 batch, in the target's own units."""
        standardised = self.layers((features - self.mean) / self.scale).squeeze(1)
        return standardised * self.target_scale + self.target_mean


@dataclass(frozen=True)
class Model:
    """What the service predicts with: the network (a regressor needs nothing else)."""

    network: Network

    @classmethod
    def from_metadata(cls, network: Network, metadata: Mapping[str, Any]) -> Model:
        """The model for a loaded network."""
        return cls(network)
