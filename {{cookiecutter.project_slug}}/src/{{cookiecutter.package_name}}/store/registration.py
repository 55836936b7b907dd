"""Registering a model with what serving and monitoring need to know about it.

Three ways in, one path: the example model fitted here (``train-example``), a file saved in a
notebook (``models register``), and a fitted model in a notebook's kernel (``register``). Each
is saved, loaded back as serving will load it, given a test prediction, and described:
features, classes, library versions, holdout metrics through the service's own predict path,
reference statistics for drift. The store then keeps a byte-for-byte copy, hashed.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..model.example_data import load_example_data
from ..model.features import CATEGORICAL, FEATURE_TYPES, FEATURES
from ..model.predict import describe_model, predict
from ..model.training import fit
from ..monitoring.evaluation import metrics
from ..service.config import Settings
from ..service.records import RecordsError, Table, read_table
from . import serializer
from .digests import hash_files, version_digest
from .libraries import (
    WAY_OUT,
    library_versions,
    loaded_problem,
    saved_problem,
    this_process_problem,
    versions_warned,
)
from .reference import allowed_values, feature_statistics, typical_instance
from .registry import ModelStore, StoreError

HOLDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class Registered:
    """The outcome of a registration: the version, and what the store did to hold it."""

    store: ModelStore
    version: int
    #: False when the store already held a version with exactly these files: none was added.
    added: bool = True
    #: True when the model's folder did not exist before: a new store was started.
    new_store: bool = False

    def summary(self, what: str) -> list[str]:
        """What to tell the user, a line each: where it went, and what it measures."""
        where = self.store.directory.resolve()
        if not self.added:
            digest = self.store.metadata(self.version)["sha256"][:12]
            return [
                f"{what} is identical to version {self.version} of {self.store.name} in {where} "
                f"(sha256 {digest}...): not registered again; that version keeps its metadata."
            ]
        lines = [f"Registered {what} as {self.store.name} version {self.version} in {where}."]
        if self.new_store:
            lines.append(
                f"Note: {where} did not exist, so this started a new model store there; "
                "set MODEL_STORE (or store=) if the service reads another."
            )
        metadata = self.store.metadata(self.version)
        if metadata.get("metrics"):
            lines.append(f"  holdout: {_scores(metadata['metrics'])} ({metadata['metrics_on']})")
        else:
            lines.append("  holdout: none measured (give evaluation data for holdout metrics)")
        if metadata.get("training_metrics"):
            lines.append(f"  on the training data: {_scores(metadata['training_metrics'])}")
        return lines


def _scores(scores: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {value:.4g}" for name, value in scores.items())


def register(
    model: Any,
    reference_data: Any,
    *,
    target: str | None = None,
    eval_data: Any = None,
    notes: str | None = None,
    promote: bool = False,
    store: ModelStore | str | Path | None = None,
) -> int:
    """Register a model fitted in this Python process (a notebook's kernel); return its version.

    ``model`` is what this service's ``serializer.save`` saves (its docstring says what).
    ``reference_data`` is the training data, a pandas DataFrame or the path of a CSV file with
    a column per feature (others are ignored): its statistics are the reference for drift, and
    its category values the ones requests may send. ``eval_data``, in the same form, is data
    the model was not fitted on: the holdout metrics are measured on it. ``target`` names the
    column holding the true outcome in both. ``promote`` points MODEL_ALIAS (production) at
    the new version. ``store`` is the model store's folder (or a ``ModelStore``); by default
    MODEL_STORE's. Registering a model identical to a registered version adds none and returns
    that version's number.

    Raises ``StoreError`` or ``RecordsError`` with what is wrong: data without a feature,
    libraries other than the service's, a model that cannot predict the records.
    """
    settings = Settings.from_env()
    if not isinstance(store, ModelStore):
        store = (
            ModelStore.from_settings(settings)
            if store is None
            else ModelStore(Path(store), settings.model_name)
        )
    if problem := this_process_problem():
        raise StoreError(problem)
    reference = read_table(reference_data, target)
    holdout = None if eval_data is None else _holdout(read_table(eval_data, target))
    registered = register_model(
        store,
        model,
        reference=reference,
        holdout=holdout,
        source="register() in Python",
        notes=notes or "",
        identical_ok=True,
    )
    for line in registered.summary(f"the {type(model).__name__}"):
        print(line)
    if promote:
        entry = store.promote(registered.version, settings.model_alias, reason="register()")
        alias = settings.model_alias
        print(f"{alias} -> {registered.version}" if entry else f"{alias} already points to it.")
    return registered.version


def _holdout(table: Table) -> Table:
    if table.targets is None:
        raise RecordsError(
            f"the evaluation data ({table.source}) needs its true outcomes: name their column "
            "with target="
        )
    return table


def train_example(store: ModelStore, *, notes: str = "", seed: int = 0) -> int:
    """Fit the example model on the example data, register it as a new version; its number."""
    records, targets = load_example_data()
    order = np.random.default_rng(seed).permutation(len(records)).tolist()
    cut = int(len(order) * (1 - HOLDOUT_FRACTION))

    def table(rows: list[int], source: str) -> Table:
        return Table([records[i] for i in rows], [targets[i] for i in rows], source)

    train = table(order[:cut], f"example data, {cut} records")
    holdout = table(order[cut:], f"holdout: {len(order) - cut} of {len(order)} example records")
    model = fit(train.records, [targets[i] for i in order[:cut]])
    registered = register_model(
        store, model, reference=train, holdout=holdout, source="train-example", notes=notes
    )
    return registered.version


def register_model(
    store: ModelStore,
    model: Any,
    *,
    reference: Table | None,
    holdout: Table | None,
    source: str,
    notes: str,
    identical_ok: bool = False,
) -> Registered:
    """Save a fitted model with this service's serializer and register it."""
    with tempfile.TemporaryDirectory() as scratch:
        saved = Path(scratch)
        serializer.save(model, saved)
        return _register_saved(
            store,
            saved,
            _describe(model, f"the {type(model).__name__}"),
            reference=reference,
            holdout=holdout,
            source=source,
            notes=notes,
            identical_ok=identical_ok,
        )


def register_artifact(
    store: ModelStore,
    artifact: Path,
    *,
    model_metadata: Mapping[str, Any] | None = None,
    reference_data: Path | None = None,
    eval_data: Path | None = None,
    target: str | None = None,
    notes: str = "",
) -> Registered:
    """Register a model saved elsewhere (a notebook, say).

    ``model_metadata`` is what loading it needs besides its files (see
    ``predict.describe_model``). The model is loaded once to test it, which may run code from
    it: register only what you trust. The store keeps a byte-for-byte copy, hashed; a file
    identical to a registered version is not registered again.
    """
    reference = None if reference_data is None else read_table(reference_data, target)
    holdout = None if eval_data is None else _holdout(read_table(eval_data, target))
    with tempfile.TemporaryDirectory() as scratch:
        saved = Path(scratch)
        try:
            serializer.copy_artifact(artifact, saved)
        except ValueError as error:
            raise StoreError(str(error)) from None
        return _register_saved(
            store,
            saved,
            dict(model_metadata or {}),
            reference=reference,
            holdout=holdout,
            source=f"models register {artifact.name}",
            notes=notes,
            artifact_name=str(artifact),
            identical_ok=True,
        )


def _register_saved(
    store: ModelStore,
    saved: Path,
    model_metadata: dict[str, Any],
    *,
    reference: Table | None,
    holdout: Table | None,
    source: str,
    notes: str,
    artifact_name: str = "the model",
    identical_ok: bool = False,
) -> Registered:
    """Load what ``saved`` holds as serving will, test it, and register a copy of it.

    The metrics are those of the model as loaded back from its files: what the service will
    really answer.
    """
    if identical_ok:
        identical = store.find_version(version_digest(hash_files(saved)))
        if identical is not None:
            return Registered(store, identical, added=False)
    if problem := saved_problem(saved, artifact_name):
        raise StoreError(problem)
    if reference is None and CATEGORICAL:
        raise StoreError(
            f"{', '.join(CATEGORICAL)}: a category feature takes the values its training data "
            "holds, so register the model with its reference data (the training data)"
        )
    statistics = None if reference is None else _statistics(reference)
    model = _load(saved, model_metadata, artifact_name)
    description = _describe(model, artifact_name)
    _check_categories(description, statistics, holdout, artifact_name)
    try:
        predict(model, [typical_instance(statistics)])
        metadata = {
            "source": source,
            "notes": notes,
            "features": list(FEATURES),
            "feature_types": dict(FEATURE_TYPES),
            **description,
            "libraries": dict(library_versions()),
            "metrics": {} if holdout is None else _metrics(model, holdout),
            "metrics_on": None if holdout is None else holdout.source,
            "training_metrics": {} if reference is None else _metrics(model, reference),
            "reference_data": None if reference is None else reference.source,
            "reference": statistics,
        }
    except Exception as error:
        raise StoreError(
            f"{artifact_name} loaded but failed a test prediction with this service's features "
            f"({', '.join(FEATURES)}): {error!r}"
        ) from None
    new_store = not store.directory.exists()
    version = store.register(
        lambda folder: shutil.copytree(saved, folder, dirs_exist_ok=True), metadata
    )
    return Registered(store, version, new_store=new_store)


def _load(saved: Path, model_metadata: dict[str, Any], artifact_name: str) -> Any:
    """The model as serving will load it; refused if its libraries are not the service's."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = serializer.load(saved, model_metadata)
    except Exception as error:
        problem = f"cannot load {artifact_name} with {serializer.NAME}: {error!r}"
        if isinstance(error, ImportError | AttributeError):
            # What a model saved with other library versions fails with, when they cannot tell.
            problem += (
                f"; if it was saved with other library versions than the service's, {WAY_OUT}"
            )
        raise StoreError(problem) from None
    if mismatch := loaded_problem(versions_warned(caught), artifact_name):
        raise StoreError(mismatch)
    for other in caught:  # not about versions: passed on as they came
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    return model


def _describe(model: Any, artifact_name: str) -> dict[str, Any]:
    """What metadata.json records of the model (``predict.describe_model``)."""
    try:
        return describe_model(model)
    except ValueError as error:  # a model that cannot take this service's features
        raise StoreError(f"{artifact_name}: {error}") from None


def _check_categories(
    description: Mapping[str, Any],
    statistics: Mapping[str, Any] | None,
    holdout: Table | None,
    artifact_name: str,
) -> None:
    """Refuse reference data whose category values the model does not know (a model fitted on
    "north" meets " north" as a stranger), and evaluation data with values the service would
    refuse (metrics on records it never answers would flatter it)."""
    allowed = allowed_values(statistics)
    known = description.get("categories") or {}
    for name, values in allowed.items():
        strangers = sorted(values - set(known.get(name, values)))
        if strangers:
            raise StoreError(
                f"the reference data's {name} values {', '.join(map(repr, strangers))} are not "
                f"among those {artifact_name} was fitted with "
                f"({', '.join(map(repr, known[name]))}): each would be scored as unknown"
            )
        outside = sorted({record[name] for record in holdout.records} - values) if holdout else []
        if holdout and outside:
            raise StoreError(
                f"the evaluation data ({holdout.source}) holds {name} values the reference data "
                f"does not ({', '.join(map(repr, outside))}): the service refuses such records, "
                "so give reference data that holds every value"
            )


def _statistics(reference: Table) -> dict[str, Any]:
    try:
        return feature_statistics(reference.records)
    except ValueError as error:
        raise StoreError(f"{reference.source}: {error}") from None


def _metrics(model: Any, table: Table) -> dict[str, float]:
    """Scores of the model's own answers (the service's predict path) on a table's outcomes."""
    if table.targets is None:
        return {}
    return metrics(predict(model, table.records), table.targets)
