"""The serializer round-trips the model it is given, and what loading a file really does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.package_name }} import serializer
from {{ cookiecutter.package_name }}.example_data import load_example_data
from {{ cookiecutter.package_name }}.training import fit


def test_save_then_load_predicts_the_same(tmp_path: Path) -> None:
    features, targets = load_example_data()
    model = fit(features, targets)
    serializer.save(model, tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == [serializer.ARTIFACT]
    loaded = serializer.load(tmp_path, {})
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))


def test_loading_a_file_runs_its_code(
    tmp_path: Path, code_running_pickle: tuple[bytes, Path]
) -> None:
    # Why the model store checks every sha256 before it loads a version.
    payload, marker = code_running_pickle
    (tmp_path / serializer.ARTIFACT).write_bytes(payload)
    serializer.load(tmp_path, {})
    assert marker.exists()


def test_copy_artifact_takes_a_file_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a file"):
        serializer.copy_artifact(tmp_path, tmp_path / "version")
