"""The example model that ``train-example`` fits. Replace it with your own recipe.

It works with any network ``network.build_network`` makes that gives one value per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .encoding import encode, vocabulary
from .network import Model, build_network

STEPS = 200
LEARNING_RATE = 0.01
# Keras' per-epoch and per-step overhead dwarfs a small model's arithmetic: train on the whole
# (small) data set at each step, many steps per call.
STEPS_PER_CALL = 50


def fit(records: Sequence[dict[str, Any]], targets: Sequence[float], seed: int = 0) -> Model:
    """A small network trained full-batch with Adam: about a second on a CPU."""
    keras.utils.set_random_seed(seed)  # the same data gives the same weights
    categories = vocabulary(records)
    inputs = encode(records, categories)
    answers = np.asarray(targets, dtype="float32")
    network = build_network(inputs, answers)
    network.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss="mean_squared_error",
        steps_per_execution=STEPS_PER_CALL,
    )
    batches = tf.data.Dataset.from_tensors((inputs, answers)).repeat()
    network.fit(batches, epochs=1, steps_per_epoch=STEPS, shuffle=False, verbose=0)
    return Model(network, categories)
