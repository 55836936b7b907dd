"""Save and load models with joblib, scikit-learn's recommended format.

A joblib file is a pickle: loading one runs code from it. The model store calls ``load`` only
after every artifact file's sha256 matches metadata.json, so only bytes it registered are run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib

NAME = "joblib"
#: The artifact's name inside a version folder.
ARTIFACT = "model.joblib"
#: Libraries whose versions decide whether a saved model loads and behaves the same.
LIBRARIES = ("scikit-learn", "numpy", "scipy", "joblib")


def save(model: Any, directory: Path) -> None:
    """Write ``model`` into ``directory`` (a new version folder)."""
    joblib.dump(model, directory / ARTIFACT)


def load(directory: Path) -> Any:
    """Read the model saved in ``directory``. Runs code from the file: verify it first."""
    return joblib.load(directory / ARTIFACT)
