"""Save and load TensorFlow models as a SavedModel directory.

A SavedModel holds the computation as a graph and the weights as variables: loading it runs
no Python code from it. Every file of the directory is hashed in metadata.json and checked
before loading, like any artifact.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tensorflow as tf
from google.protobuf.message import DecodeError
from tensorflow.core.protobuf import saved_model_pb2

from ..model.network import Model

NAME = "savedmodel"
#: The artifact's name inside a version folder: a directory.
ARTIFACT = "saved_model"
#: Libraries whose versions decide whether a saved model loads and behaves the same.
LIBRARIES = ("tensorflow-cpu", "keras", "numpy")
#: Whether saving one model twice writes the same bytes, so that registering it again is
#: recognised as the version already there: two exports of one SavedModel differ.
SAVES_SAME_BYTES = False


def save(model: Model, directory: Path) -> None:
    """Export the Keras network into ``directory`` (a new version folder) as a SavedModel.

    ``export`` writes a ``serve`` function taking a float32 batch of feature rows.
    """
    model.network.export(str(directory / ARTIFACT), verbose=False)


def load(directory: Path, metadata: Mapping[str, Any]) -> Model:
    """Load the SavedModel in ``directory``; ``metadata`` gives what it does not hold."""
    saved = tf.saved_model.load(str(directory / ARTIFACT))
    if not hasattr(saved, "serve"):
        raise ValueError(
            "the SavedModel has no 'serve' function: export it with keras' model.export(path)"
        )
    return Model.from_metadata(saved, metadata)


def copy_artifact(source: Path, directory: Path) -> None:
    """Copy a SavedModel directory exported elsewhere (a notebook, say) into ``directory``."""
    if not (source / "saved_model.pb").is_file():
        raise ValueError(
            f"{source} is not a SavedModel directory (it has no saved_model.pb): give the "
            "directory written by keras' model.export(path)"
        )
    shutil.copytree(source, directory / ARTIFACT)


def saved_library_versions(directory: Path) -> dict[str, str]:
    """The library versions the saved model records: the TensorFlow that wrote it."""
    try:
        saved = saved_model_pb2.SavedModel.FromString(
            (directory / ARTIFACT / "saved_model.pb").read_bytes()
        )
        found = saved.meta_graphs[0].meta_info_def.tensorflow_version
    except (OSError, IndexError, DecodeError):
        return {}
    return {"tensorflow-cpu": found} if found else {}
