"""The example model that ``train-example`` fits. Replace it with your own recipe.

It works with any network ``network.build_network`` makes that gives one value per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .encoding import encode, vocabulary
from .network import Model, build_network

EPOCHS = 300
LEARNING_RATE = 0.01


def fit(records: Sequence[dict[str, Any]], targets: Sequence[float], seed: int = 0) -> Model:
    """A network trained full-batch with Adam: seconds on a CPU for the example data."""
    torch.manual_seed(seed)  # the same data gives the same weights
    categories = vocabulary(records)
    inputs = torch.from_numpy(encode(records, categories))
    answers = torch.tensor(list(targets), dtype=torch.float32)
    network = build_network(inputs, answers)
    optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
    loss = nn.MSELoss()
    network.train()
    for _ in range(EPOCHS):
        optimizer.zero_grad()
        loss(network(inputs).reshape(-1), answers).backward()
        optimizer.step()
    network.eval()
    return Model(network, categories)
