"""The example data: Fisher's iris measurements (150 flowers, 3 species), bundled as a CSV."""

from __future__ import annotations

import csv
from importlib.resources import files

import numpy as np

from .features import FEATURES

TARGET = "species"


def load_example_data() -> tuple[np.ndarray, np.ndarray]:
    """The features (a row per flower, columns in FEATURES order) and each flower's species."""
    text = files(__package__).joinpath("data", "iris.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    features = np.array([[float(row[name]) for name in FEATURES] for row in rows])
    return features, np.array([row[TARGET] for row in rows])
