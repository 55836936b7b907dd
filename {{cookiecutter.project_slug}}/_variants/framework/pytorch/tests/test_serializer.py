"""The serializer round-trips the model it is given, and loads weights only, never code."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from {{ cookiecutter.package_name }}.model.encoding import encode
from {{ cookiecutter.package_name }}.model.example_data import load_example_data
from {{ cookiecutter.package_name }}.model.predict import describe_model
from {{ cookiecutter.package_name }}.model.training import fit
from {{ cookiecutter.package_name }}.store import serializer


def test_save_then_load_computes_the_same(tmp_path: Path) -> None:
    records, targets = load_example_data()
    model = fit(records, targets)
    serializer.save(model, tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == [serializer.ARTIFACT]
    loaded = serializer.load(tmp_path, describe_model(model))
    assert not loaded.network.training  # eval mode: inference behaviour
    inputs = torch.from_numpy(encode(records, model.categories))
    with torch.inference_mode():
        torch.testing.assert_close(loaded.network(inputs), model.network(inputs))
    assert describe_model(loaded) == describe_model(model)


def test_a_file_that_would_run_code_is_refused(
    tmp_path: Path, code_running_pickle: tuple[bytes, Path]
) -> None:
    payload, marker = code_running_pickle
    (tmp_path / serializer.ARTIFACT).write_bytes(payload)
    model = fit(*load_example_data())
    with pytest.raises(pickle.UnpicklingError):
        serializer.load(tmp_path, describe_model(model))
    assert not marker.exists()


def test_a_whole_pickled_module_is_refused(tmp_path: Path) -> None:
    model = fit(*load_example_data())
    torch.save(model.network, tmp_path / serializer.ARTIFACT)  # the module, not its state_dict
    with pytest.raises(pickle.UnpicklingError):
        serializer.load(tmp_path, describe_model(model))


def test_hyperparameters_are_needed_to_rebuild_the_network(tmp_path: Path) -> None:
    model = fit(*load_example_data())
    serializer.save(model, tmp_path)
    with pytest.raises(ValueError, match="'hyperparameters'"):
        serializer.load(tmp_path, {})
    # A state_dict that is not this network's: every weight is checked, by name and shape.
    state = torch.load(tmp_path / serializer.ARTIFACT, weights_only=True)
    missing = next(iter(state))
    torch.save({k: v for k, v in state.items() if k != missing}, tmp_path / serializer.ARTIFACT)
    with pytest.raises(RuntimeError, match=f"Missing key.*{missing}"):
        serializer.load(tmp_path, describe_model(model))


def test_copy_artifact_takes_a_file_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a file"):
        serializer.copy_artifact(tmp_path, tmp_path / "version")
