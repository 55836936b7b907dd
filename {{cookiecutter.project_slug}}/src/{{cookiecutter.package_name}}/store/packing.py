"""The store as one tarball, for the platforms that take a model as one file.

SageMaker takes a model as ``model.tar.gz`` and unpacks it, read-only, into ``/opt/ml/model``
before it starts the container; the service finds its store there (``config.py``). The
tarball holds ``<model_name>/registry.json`` and every version's folder, each version verified
first, so a tampered one is never shipped; nothing else of the store (its lock, an unfinished
registration, the prediction log). Entries are sorted and owned by root, folders 0755 and files
0644, so the service's own user reads them wherever they are unpacked, and packing the same
store twice gives the same files.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from .metadata import REGISTRY_FILE
from .registry import ModelStore, StoreError


def _readable(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = 0o755 if info.isdir() else 0o644
    return info


def pack(store: ModelStore, output: Path) -> list[int]:
    """Write ``store``'s model into the gzipped tarball ``output``; the versions packed."""
    registry = store.directory / REGISTRY_FILE
    if not registry.is_file():
        raise StoreError(f"no model {store.name!r} in {store.root}: nothing to pack")
    versions = store.versions()
    for version in versions:
        store.verify(version)  # StoreError, naming the file, if one was changed
    with tarfile.open(output, "w:gz") as archive:
        archive.add(store.directory, store.name, recursive=False, filter=_readable)
        archive.add(registry, f"{store.name}/{REGISTRY_FILE}", filter=_readable)
        for version in versions:
            folder = store.version_dir(version)
            for path in sorted([folder, *folder.rglob("*")]):
                name = f"{store.name}/{path.relative_to(store.directory).as_posix()}"
                archive.add(path, name, recursive=False, filter=_readable)
    return versions
