"""The network's architecture, and what the service predicts with.

EDIT HERE: put your own architecture in ``Network`` and make it in ``build_network``, the one
function training calls. What the rest of the service needs of a network: it takes a float32
batch (a row per record, the columns of ``encoding.encode``) and gives one value per row, in
the target's units; ``self.hyperparameters`` holds its constructor's arguments, as JSON values
(metadata.json keeps them, and loading rebuilds the network from them before it loads the
weights, the state_dict).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .encoding import check_vocabulary


class Network(nn.Module):
    """A small multi-layer perceptron: standardised inputs in, one value out."""

    # Buffers registered in __init__ (saved in the state_dict, not trained): declared for the
    # type checker, which cannot see register_buffer's attributes.
    mean: torch.Tensor
    scale: torch.Tensor
    target_mean: torch.Tensor
    target_scale: torch.Tensor

    def __init__(self, n_inputs: int, hidden_sizes: Sequence[int] = (32,)) -> None:
        super().__init__()
        #: The constructor's arguments, as metadata.json records them.
        self.hyperparameters = {"n_inputs": n_inputs, "hidden_sizes": list(hidden_sizes)}
        # The training data's mean and spread (of the inputs, and of the target) travel in the
        # state_dict with the weights, so the network scales exactly as in training.
        self.register_buffer("mean", torch.zeros(n_inputs))
        self.register_buffer("scale", torch.ones(n_inputs))
        self.register_buffer("target_mean", torch.zeros(()))
        self.register_buffer("target_scale", torch.ones(()))
        layers: list[nn.Module] = []
        width = n_inputs
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The predicted value for each row of a float32 batch, in the target's own units."""
        standardised = self.layers((inputs - self.mean) / self.scale).squeeze(1)
        return standardised * self.target_scale + self.target_mean


def build_network(inputs: torch.Tensor, targets: torch.Tensor) -> Network:
    """A new, untrained network for the training data, scaling inputs and output to fit it."""
    network = Network(n_inputs=inputs.shape[1])
    network.mean.copy_(inputs.mean(dim=0))
    network.scale.copy_(inputs.std(dim=0).clamp(min=1e-6))  # a constant column divides by ~0
    network.target_mean.copy_(targets.mean())
    network.target_scale.copy_(targets.std().clamp(min=1e-6))
    return network


@dataclass(frozen=True)
class Model:
    """What the service predicts with: the network, and each category feature's values in the
    order of their one-hot columns."""

    network: nn.Module
    categories: dict[str, list[str]]

    @classmethod
    def from_metadata(cls, network: nn.Module, metadata: Mapping[str, Any]) -> Model:
        """The model for a loaded network, with the categories metadata.json records."""
        return cls(network, check_vocabulary(metadata.get("categories", {})))
