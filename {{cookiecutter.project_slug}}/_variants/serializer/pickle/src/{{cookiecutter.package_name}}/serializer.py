"""Save and load models with the standard library's pickle.

Loading a pickle runs code from it. The model store calls ``load`` only after every artifact
file's sha256 matches metadata.json, so only bytes it registered are run.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

NAME = "pickle"
#: The artifact's name inside a version folder.
ARTIFACT = "model.pkl"
#: Libraries whose versions decide whether a saved model loads and behaves the same.
LIBRARIES = ("scikit-learn", "numpy", "scipy")


def save(model: Any, directory: Path) -> None:
    """Write ``model`` into ``directory`` (a new version folder)."""
    with open(directory / ARTIFACT, "wb") as file:
        pickle.dump(model, file, protocol=pickle.HIGHEST_PROTOCOL)


def load(directory: Path) -> Any:
    """Read the model saved in ``directory``. Runs code from the file: verify it first."""
    with open(directory / ARTIFACT, "rb") as file:
        return pickle.load(file)
