"""The example model that ``train-example`` fits. Replace it with your own recipe.

It works with any network ``network.build_network`` makes that gives one logit per class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .encoding import encode, vocabulary
from .network import Model, build_network

EPOCHS = 300
LEARNING_RATE = 0.01


def fit(records: Sequence[dict[str, Any]], targets: Sequence[Any], seed: int = 0) -> Model:
    """A network trained full-batch with Adam: seconds on a CPU for the example data."""
    torch.manual_seed(seed)  # the same data gives the same weights
    categories = vocabulary(records)
    classes, labels = np.unique(np.asarray(targets), return_inverse=True)
    inputs = torch.from_numpy(encode(records, categories))
    network = build_network(inputs, n_outputs=len(classes))
    optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
    loss = nn.CrossEntropyLoss()
    answers = torch.from_numpy(labels)
    network.train()
    for _ in range(EPOCHS):
        optimizer.zero_grad()
        loss(network(inputs), answers).backward()
        optimizer.step()
    network.eval()
    return Model(network, classes.tolist(), categories)
