"""The example data: Fisher's iris measurements (150 flowers, 3 species), bundled as a CSV."""

from __future__ import annotations

import csv
from importlib.resources import files

from .features import FEATURES

#: The column of the true outcome in the CSV.
TARGET = "species"


def load_example_data() -> tuple[list[dict[str, float]], list[str]]:
    """The flowers' measurements (a dict each, keyed by feature) and each one's species."""
    text = files(__package__).joinpath("data", "iris.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return [{name: float(row[name]) for name in FEATURES} for row in rows], [
        row[TARGET] for row in rows
    ]
