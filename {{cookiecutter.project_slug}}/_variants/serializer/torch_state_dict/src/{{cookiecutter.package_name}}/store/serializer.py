"""Save and load PyTorch models as a state_dict: the weights, without the code.

The architecture is ``model.network.Network``; metadata.json keeps the hyperparameters it was built
with. Loading rebuilds the network from them and reads the weights with
``torch.load(weights_only=True)``, which accepts tensors and plain containers only: a file that
would run code is refused, even before the model store's sha256 check.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..model.network import Model, Network

NAME = "torch_state_dict"
#: The artifact's name inside a version folder.
ARTIFACT = "state_dict.pt"
#: Libraries whose versions decide whether a saved model loads and behaves the same.
LIBRARIES = ("torch", "numpy")
#: Whether saving one model twice writes the same bytes, so that registering it again is
#: recognised as the version already there.
SAVES_SAME_BYTES = True


def save(model: Model, directory: Path) -> None:
    """Write the network's weights into ``directory`` (a new version folder)."""
    torch.save(model.network.state_dict(), directory / ARTIFACT)


def load(directory: Path, metadata: Mapping[str, Any]) -> Model:
    """Rebuild the network from ``metadata``'s hyperparameters and load its weights."""
    hyperparameters = metadata.get("hyperparameters")
    if not isinstance(hyperparameters, dict):
        raise ValueError(
            "the metadata needs 'hyperparameters': the arguments network.Network was built with"
        )
    network = Network(**hyperparameters)
    state = torch.load(directory / ARTIFACT, map_location="cpu", weights_only=True)
    network.load_state_dict(state)  # strict: every weight present, with its shape
    network.eval()  # inference behaviour for layers such as dropout and batch norm
    return Model.from_metadata(network, metadata)


def copy_artifact(source: Path, directory: Path) -> None:
    """Copy a state_dict saved elsewhere (a notebook, say) into ``directory``, as ``save`` would."""
    if not source.is_file():
        raise ValueError(f"{source} is not a file: give the state_dict saved with torch.save")
    shutil.copyfile(source, directory / ARTIFACT)


def saved_library_versions(directory: Path) -> dict[str, str]:
    """The library versions the saved model records: none (a state_dict is plain tensors,
    which load across torch versions)."""
    return {}
