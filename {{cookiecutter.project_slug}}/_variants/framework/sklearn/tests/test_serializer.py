"""The serializer round-trips the model it is given, and what loading a file really does."""

from __future__ import annotations

{% if cookiecutter.__serializer == "pickle" -%}
import pickle
{% endif -%}
from importlib.metadata import version
from pathlib import Path

{% if cookiecutter.__serializer == "joblib" -%}
import joblib
{% endif -%}
import pandas as pd
import pytest
import sklearn.base

from {{ cookiecutter.package_name }}.model.example_data import load_example_data
from {{ cookiecutter.package_name }}.model.predict import predict
from {{ cookiecutter.package_name }}.model.training import fit
from {{ cookiecutter.package_name }}.store import serializer
from {{ cookiecutter.package_name }}.store.registration import register_artifact
from {{ cookiecutter.package_name }}.store.registry import ModelStore, StoreError


def test_save_then_load_predicts_the_same(tmp_path: Path) -> None:
    records, targets = load_example_data()
    model = fit(records, targets)
    serializer.save(model, tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == [serializer.ARTIFACT]
    loaded = serializer.load(tmp_path, {})
    assert predict(loaded, records) == predict(model, records)


def test_the_scikit_learn_version_is_read_without_loading(tmp_path: Path) -> None:
    serializer.save(fit(*load_example_data()), tmp_path)
    assert serializer.saved_library_versions(tmp_path) == {"scikit-learn": version("scikit-learn")}
    (tmp_path / serializer.ARTIFACT).write_bytes(b"not a pickle")
    assert serializer.saved_library_versions(tmp_path) == {}


def test_a_model_from_another_scikit_learn_is_refused_with_the_way_out(
    tmp_path: Path, store: ModelStore
) -> None:
    here = version("scikit-learn")
    major, minor, rest = here.split(".", 2)
    other = ".".join([major, str(int(minor) + 1 if int(minor) < 9 else int(minor) - 1), rest])
    serializer.save(fit(*load_example_data()), tmp_path)
    artifact = tmp_path / serializer.ARTIFACT
    # As a notebook on another scikit-learn would have written it (same length: same framing).
    artifact.write_bytes(artifact.read_bytes().replace(here.encode(), other.encode()))
    with pytest.raises(StoreError) as refused:
        register_artifact(store, artifact)
    assert str(refused.value) == (
        f"{artifact} was saved with scikit-learn {other} (the service's: {here}): fit it with "
        "the service's versions (`make kernel`, then the {{ cookiecutter.project_slug }} kernel in Jupyter), or "
        "install them where you fit it"
    )
    assert store.versions() == [1]


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


def test_a_file_whose_bytes_hide_the_version_is_refused_when_it_loads(
    tmp_path: Path, store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    records, targets = load_example_data()
    model = fit(records, targets)
    reference = tmp_path / "train.csv"
    pd.DataFrame(records).to_csv(reference, index=False)
    # Pickled as scikit-learn 0.99 would have pickled it.
    monkeypatch.setattr(sklearn.base, "__version__", "0.99.0")
    artifact = tmp_path / serializer.ARTIFACT
{%- if cookiecutter.__serializer == "joblib" %}
    joblib.dump(model, artifact, compress=3)  # compressed: its bytes tell nothing
{%- else %}
    artifact.write_bytes(pickle.dumps(model, protocol=0))  # text opcodes: no version to read
{%- endif %}
    monkeypatch.undo()
    assert serializer.saved_library_versions(tmp_path) == {}
    with pytest.raises(StoreError, match=r"was saved with scikit-learn 0\.99\.0 \(the service's: "):
        register_artifact(store, artifact, reference_data=reference)
    assert store.versions() == [1]
