"""The serializer round-trips the model it is given, and every file of it is hashed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from {{ cookiecutter.package_name }}.model.encoding import encode
from {{ cookiecutter.package_name }}.model.example_data import load_example_data
from {{ cookiecutter.package_name }}.model.predict import describe_model
from {{ cookiecutter.package_name }}.model.training import fit
from {{ cookiecutter.package_name }}.store import serializer
from {{ cookiecutter.package_name }}.store.registry import ModelStore


def test_save_then_load_computes_the_same(tmp_path: Path) -> None:
    records, targets = load_example_data()
    model = fit(records, targets)
    serializer.save(model, tmp_path)
    assert (tmp_path / serializer.ARTIFACT / "saved_model.pb").is_file()
    loaded = serializer.load(tmp_path, describe_model(model))
    inputs = encode(records, model.categories)
    np.testing.assert_allclose(
        loaded.network.serve(inputs).numpy(), model.network(inputs).numpy(), rtol=1e-5, atol=1e-6
    )
    assert describe_model(loaded) == describe_model(model)
    assert serializer.saved_library_versions(tmp_path) == {"tensorflow-cpu": tf.__version__}


def test_every_file_of_the_directory_is_recorded(store: ModelStore) -> None:
    folder = store.version_dir(1)
    on_disk = {
        path.relative_to(folder).as_posix()
        for path in (folder / serializer.ARTIFACT).rglob("*")
        if path.is_file()
    }
    assert set(store.metadata(1)["files"]) == on_disk
    assert f"{serializer.ARTIFACT}/saved_model.pb" in on_disk
    assert any(name.startswith(f"{serializer.ARTIFACT}/variables/") for name in on_disk)


def test_copy_artifact_takes_a_saved_model_directory_only(tmp_path: Path) -> None:
    (tmp_path / "model.keras").write_bytes(b"not a SavedModel")
    with pytest.raises(ValueError, match="is not a SavedModel directory"):
        serializer.copy_artifact(tmp_path / "model.keras", tmp_path / "version")
    with pytest.raises(ValueError, match="is not a SavedModel directory"):
        serializer.copy_artifact(tmp_path, tmp_path / "version")
