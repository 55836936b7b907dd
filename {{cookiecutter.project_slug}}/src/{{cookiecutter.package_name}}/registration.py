"""Registering a model with what serving and monitoring need to know about it.

The same metadata is computed for a model fitted here (``train-example``) and for a file saved
in a notebook (``models register``): features, classes, library versions, holdout metrics
through the service's own predict path, and reference statistics for drift.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import serializer
from .evaluation import metrics, parse_target
from .example_data import load_example_data
from .features import FEATURES
from .predict import describe_model, predict
from .records import read_reference_data
from .reference import feature_statistics, typical_instance
from .registry import ModelStore, StoreError, library_versions
from .training import fit

HOLDOUT_FRACTION = 0.2


def as_records(features: np.ndarray) -> list[dict[str, float]]:
    """Rows of a feature matrix as request-shaped records."""
    return [dict(zip(FEATURES, row, strict=True)) for row in features.tolist()]


def build_metadata(
    model: Any,
    *,
    reference: np.ndarray | None,
    holdout: tuple[np.ndarray, Sequence[Any]] | None,
    holdout_description: str,
    source: str,
    notes: str,
) -> dict[str, Any]:
    """Everything metadata.json records about a model besides its files."""
    scores: dict[str, float] = {}
    if holdout is not None:
        holdout_features, actuals = holdout
        scores = metrics(predict(model, as_records(holdout_features)), list(actuals))
    return {
        "source": source,
        "notes": notes,
        "features": list(FEATURES),
        **describe_model(model),
        "libraries": dict(library_versions()),
        "metrics": scores,
        "metrics_on": holdout_description if holdout is not None else None,
        "reference": None if reference is None else feature_statistics(reference, FEATURES),
    }


def train_example(store: ModelStore, *, notes: str = "", seed: int = 0) -> int:
    """Fit the example model on the example data, register it; return its version."""
    features, targets = load_example_data()
    order = np.random.default_rng(seed).permutation(len(targets))
    cut = int(len(order) * (1 - HOLDOUT_FRACTION))
    train, test = order[:cut], order[cut:]
    model = fit(features[train], targets[train])
    with tempfile.TemporaryDirectory() as scratch:
        saved = Path(scratch)
        serializer.save(model, saved)
        return _register_saved(
            store,
            saved,
            describe_model(model),
            reference=features[train],
            holdout=(features[test], targets[test].tolist()),
            holdout_description=f"holdout: {len(test)} of {len(order)} example records",
            source="train-example",
            notes=notes,
        )


def register_artifact(
    store: ModelStore,
    artifact: Path,
    *,
    model_metadata: Mapping[str, Any] | None = None,
    reference_data: Path | None = None,
    target: str | None = None,
    notes: str = "",
) -> int:
    """Register a model saved elsewhere (a notebook, say); return its version.

    ``model_metadata`` is what loading it needs besides its files (see
    ``predict.describe_model``). The model is loaded once to test it, which may run code from
    it: register only what you trust. The store keeps a byte-for-byte copy, hashed.
    """
    with tempfile.TemporaryDirectory() as scratch:
        saved = Path(scratch)
        try:
            serializer.copy_artifact(artifact, saved)
        except ValueError as error:
            raise StoreError(str(error)) from None
        reference, holdout = None, None
        if reference_data is not None:
            reference, labels = read_reference_data(reference_data, target)
            if labels is not None:
                try:
                    holdout = (reference, [parse_target(label) for label in labels])
                except ValueError as error:
                    raise StoreError(f"{reference_data}, column {target}: {error}") from None
        return _register_saved(
            store,
            saved,
            dict(model_metadata or {}),
            reference=reference,
            holdout=holdout,
            holdout_description=f"reference data: {getattr(reference_data, 'name', None)}",
            source=f"models register {artifact.name}",
            notes=notes,
            artifact_name=str(artifact),
        )


def _register_saved(
    store: ModelStore,
    saved: Path,
    model_metadata: dict[str, Any],
    *,
    reference: np.ndarray | None,
    holdout: tuple[np.ndarray, Sequence[Any]] | None,
    holdout_description: str,
    source: str,
    notes: str,
    artifact_name: str = "the model",
) -> int:
    """Load what ``saved`` holds as serving will, test it, and register a copy of it.

    The metrics are those of the model as loaded back from its files: what the service will
    really answer.
    """
    try:
        model = serializer.load(saved, model_metadata)
    except Exception as error:
        raise StoreError(f"cannot load {artifact_name} with {serializer.NAME}: {error!r}") from None
    try:
        predict(model, [typical_instance(None, FEATURES)])
        metadata = build_metadata(
            model,
            reference=reference,
            holdout=holdout,
            holdout_description=holdout_description,
            source=source,
            notes=notes,
        )
    except Exception as error:
        raise StoreError(
            f"{artifact_name} loaded but failed a test prediction with this service's features "
            f"({', '.join(FEATURES)}): {error!r}"
        ) from None
    return store.register(
        lambda folder: shutil.copytree(saved, folder, dirs_exist_ok=True), metadata
    )
