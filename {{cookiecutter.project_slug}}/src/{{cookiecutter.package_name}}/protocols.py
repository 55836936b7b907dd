"""The seams where shared code meets what a framework, a format or the user supplies.

A serializer is a module (``store/serializer.py``, one per format) and the predictor is a
module (``model/predict.py``, the user's); the shared code calls them by these names only.
The protocols say what each must provide, and mypy (``make lint``) checks the chosen modules
against them, so a missing function or a changed signature is found before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol


class Serializer(Protocol):
    """How one format saves and loads a model: ``store/serializer.py``."""

    @property
    def NAME(self) -> str:  # noqa: N802 - module constants, as the modules spell them
        """The format's name, as metadata.json records it."""

    @property
    def ARTIFACT(self) -> str:  # noqa: N802
        """The artifact's name in a version folder (a file or a folder)."""

    @property
    def LIBRARIES(self) -> tuple[str, ...]:  # noqa: N802
        """The libraries whose versions decide whether a saved model loads the same."""

    @property
    def SAVES_SAME_BYTES(self) -> bool:  # noqa: N802
        """Whether saving one model twice writes the same bytes (then a re-register is found
        to be the same version)."""

    def save(self, model: Any, directory: Path) -> None:
        """Write ``model``'s artifact into ``directory``."""

    def load(self, directory: Path, metadata: Mapping[str, Any]) -> Any:
        """The model in ``directory``, whose files the store has checked against ``metadata``."""

    def copy_artifact(self, source: Path, directory: Path) -> None:
        """Put a file saved elsewhere (``models register PATH``) into ``directory``."""

    def saved_library_versions(self, directory: Path) -> dict[str, str]:
        """The library versions an artifact records itself, if it records any."""


class Predictor(Protocol):
    """From validated records to answers: ``model/predict.py``, the module users edit."""

    def predict(self, model: Any, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One answer per record, in order."""

    def describe_model(self, model: Any) -> dict[str, Any]:
        """What metadata.json records about ``model`` (its classes, its shape)."""


if TYPE_CHECKING:  # only for the checker: the chosen modules, held to the protocols
    from .model import predict as chosen_predictor
    from .store import serializer as chosen_serializer

    _serializer: Serializer = chosen_serializer
    _predictor: Predictor = chosen_predictor
