"""The serializer round-trips the model it is given."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from {{ cookiecutter.package_name }} import serializer
from {{ cookiecutter.package_name }}.example_data import load_example_data
from {{ cookiecutter.package_name }}.training import fit


def test_save_then_load_predicts_the_same(tmp_path: Path) -> None:
    features, targets = load_example_data()
    model = fit(features, targets)
    serializer.save(model, tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == [serializer.ARTIFACT]
    loaded = serializer.load(tmp_path)
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))
