"""Save and load models with the standard library's pickle.

Loading a pickle runs code from it. The model store calls ``load`` only after every artifact
file's sha256 matches metadata.json, so only bytes it registered are run.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .pickled_versions import sklearn_version

NAME = "pickle"
#: The artifact's name inside a version folder.
ARTIFACT = "model.pkl"
#: Libraries whose versions decide whether a saved model loads and behaves the same.
LIBRARIES = ("scikit-learn", "numpy", "scipy")
#: Whether saving one model twice writes the same bytes, so that registering it again is
#: recognised as the version already there.
SAVES_SAME_BYTES = True


def save(model: Any, directory: Path) -> None:
    """Write ``model`` into ``directory`` (a new version folder)."""
    with open(directory / ARTIFACT, "wb") as file:
        pickle.dump(model, file, protocol=pickle.HIGHEST_PROTOCOL)


def load(directory: Path, metadata: Mapping[str, Any]) -> Any:
    """Read the model saved in ``directory``. Runs code from the file: verify it first.

    ``metadata`` is not needed: the file holds the whole fitted model.
    """
    with open(directory / ARTIFACT, "rb") as file:
        return pickle.load(file)


def copy_artifact(source: Path, directory: Path) -> None:
    """Copy a model file saved elsewhere (a notebook, say) into ``directory``, as ``save`` would."""
    if not source.is_file():
        raise ValueError(f"{source} is not a file: give the pickle file of the model")
    shutil.copyfile(source, directory / ARTIFACT)


def saved_library_versions(directory: Path) -> dict[str, str]:
    """The library versions the saved model records: scikit-learn's, read without loading it."""
    found = sklearn_version(directory / ARTIFACT)
    return {"scikit-learn": found} if found else {}
