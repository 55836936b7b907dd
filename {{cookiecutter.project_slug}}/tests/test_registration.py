"""register(): from a notebook's kernel to the store, with honest metrics and clear refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import register
from {{ cookiecutter.package_name }}.model.example_data import TARGET, load_example_data
from {{ cookiecutter.package_name }}.model.features import FEATURES
from {{ cookiecutter.package_name }}.model.training import fit
from {{ cookiecutter.package_name }}.service.config import DEFAULT_MODEL_NAME
from {{ cookiecutter.package_name }}.service.records import RecordsError
from {{ cookiecutter.package_name }}.store import libraries, serializer
from {{ cookiecutter.package_name }}.store.registry import ModelStore, StoreError


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The example data as a notebook holds it: a training and a test DataFrame."""
    records, targets = load_example_data()
    frame = pd.DataFrame(records).assign(**{TARGET: targets})
    cut = int(len(frame) * 0.8)
    return frame.iloc[:cut], frame.iloc[cut:]


@pytest.fixture(scope="module")
def model(frames: tuple[pd.DataFrame, pd.DataFrame]) -> Any:
    """A model fitted "in the notebook" on the training frame."""
    train, _ = frames
    return fit(train[list(FEATURES)].to_dict("records"), train[TARGET].tolist())


def test_register_from_dataframes_with_holdout_metrics(
    model: Any,
    frames: tuple[pd.DataFrame, pd.DataFrame],
    store: ModelStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    train, test = frames
    version = register(
        model, train, target=TARGET, eval_data=test, notes="cell 12", promote=True, store=store
    )
    assert version == 2
    assert store.resolve("production") == 2
    metadata = store.metadata(2)
    assert metadata["metrics_on"] == f"a DataFrame of {len(test)} records"
    assert metadata["metrics"]
    assert metadata["training_metrics"]
    assert metadata["notes"] == "cell 12"
    assert metadata["reference_data"] == f"a DataFrame of {len(train)} records"
    printed = capsys.readouterr().out
    assert f"as {store.name} version 2 in {store.directory.resolve()}" in printed
    assert "production -> 2" in printed


def test_register_from_csv_files_and_the_store_of_model_store(
    model: Any,
    frames: tuple[pd.DataFrame, pd.DataFrame],
    store_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    train, test = frames
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    monkeypatch.setenv("MODEL_STORE", str(store_root))
    version = register(
        model, tmp_path / "train.csv", target=TARGET, eval_data=tmp_path / "test.csv"
    )
    assert version == 2
    metadata = ModelStore(store_root, DEFAULT_MODEL_NAME).metadata(2)
    assert metadata["metrics_on"] == f"test.csv, {len(test)} records"


def test_the_same_model_saved_twice_is_one_version_if_its_bytes_repeat(
    model: Any,
    frames: tuple[pd.DataFrame, pd.DataFrame],
    store: ModelStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    train, _ = frames
    assert register(model, train, store=store) == 2
    if not serializer.SAVES_SAME_BYTES:
        # Its second save differs from the first: a version of its own, which is no harm.
        assert register(model, train, store=store) == 3
        return
    assert register(model, train, store=store) == 2
    assert store.versions() == [1, 2]
    assert "is identical to version 2" in capsys.readouterr().out


def test_a_new_store_is_said_so(
    model: Any,
    frames: tuple[pd.DataFrame, pd.DataFrame],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert register(model, frames[0], store=tmp_path / "notebooks" / "models") == 1
    printed = capsys.readouterr().out
    assert f"Note: {tmp_path / 'notebooks' / 'models'}" in printed
    assert "started a new model store" in printed


def test_libraries_other_than_the_service_s_are_refused_with_the_way_out(
    model: Any,
    frames: tuple[pd.DataFrame, pd.DataFrame],
    store: ModelStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    library = serializer.LIBRARIES[0]
    running = libraries.library_versions()[library]
    monkeypatch.setattr(libraries, "pinned_versions", lambda: {library: "0.1.0"})
    with pytest.raises(StoreError) as refused:
        register(model, frames[0], store=store)
    assert str(refused.value).startswith(
        f"this Python runs {library} {running} (the service's: 0.1.0), and the service refuses"
    )
    assert "`make kernel`" in str(refused.value)
    assert store.versions() == [1]


def test_the_service_s_pins_are_read_from_requirements() -> None:
    pins = libraries.pinned_versions()
    assert set(pins) == set(serializer.LIBRARIES)
    assert libraries.this_process_problem() is None  # the tests run with the pinned versions


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda frame: frame.drop(columns=[FEATURES[0]]), f"has no column {FEATURES[0]}"),
        (lambda frame: frame.iloc[:0], "has no rows"),
        (
            lambda frame: frame.assign(**{FEATURES[-1]: None}),
            f"column {FEATURES[-1]}: None is missing",
        ),
    ],
    ids=["missing-column", "no-rows", "missing-value"],
)
def test_data_that_cannot_be_read_is_refused_naming_the_column(
    model: Any,
    frames: tuple[pd.DataFrame, pd.DataFrame],
    store: ModelStore,
    change: Any,
    problem: str,
) -> None:
    with pytest.raises(RecordsError, match=problem):
        register(model, change(frames[0]), store=store)


def test_eval_data_needs_its_outcomes(
    model: Any, frames: tuple[pd.DataFrame, pd.DataFrame], store: ModelStore
) -> None:
    with pytest.raises(RecordsError, match="needs its true outcomes"):
        register(model, frames[0], eval_data=frames[1], store=store)
