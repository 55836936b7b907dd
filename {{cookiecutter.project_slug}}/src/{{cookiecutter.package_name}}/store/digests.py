"""sha256 digests of a version's files, and of the version as a whole.

Each file is hashed as it is read or copied, so what is checked is exactly what is then used.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

from .metadata import METADATA_FILE


def copy_hashing_stream(reader: BinaryIO, writer: BinaryIO | None = None) -> str:
    """sha256 of everything read from ``reader``, written on to ``writer`` as it goes."""
    digest = hashlib.sha256()
    for block in iter(lambda: reader.read(1 << 20), b""):
        digest.update(block)
        if writer is not None:
            writer.write(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    with open(path, "rb") as file:
        return copy_hashing_stream(file)


def hash_files(directory: Path) -> dict[str, str]:
    """sha256 of every file under ``directory`` but metadata.json, by relative POSIX path."""
    return {name: sha256_file(directory / name) for name in artifact_names(directory)}


def artifact_names(directory: Path) -> list[str]:
    """Every file under ``directory`` but its own metadata.json, as relative POSIX paths."""
    names = (path.relative_to(directory).as_posix() for path in sorted(directory.rglob("*")))
    return [name for name in names if name != METADATA_FILE and (directory / name).is_file()]


def copy_hashing(source: Path, destination: Path) -> str:
    """Copy one file, hashing exactly the bytes copied; return their sha256."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as reader, open(destination, "wb") as writer:
        return copy_hashing_stream(reader, writer)


def version_digest(files: dict[str, str]) -> str:
    """One sha256 for a whole version: over each file's path and digest, in path order."""
    lines = "".join(f"{name}\0{digest}\n" for name, digest in sorted(files.items()))
    return hashlib.sha256(lines.encode()).hexdigest()
