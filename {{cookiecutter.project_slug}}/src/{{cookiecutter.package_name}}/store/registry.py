"""The versioned model store, laid out like TensorFlow Serving's numbered version folders.

    <MODEL_STORE>/<model name>/
        registry.json     aliases (production, ...) and the append-only history of changes
        1/                model artifact + metadata.json
        2/                ...

A version folder is written once: staged in a temporary folder, hashed, then renamed into
place, and never rewritten. Loading copies each artifact file into a private folder, hashing
the bytes it copies, and deserializes that copy only if every sha256 matches metadata.json:
pickle and joblib run code on load, and what runs is exactly what was checked.
"""

from __future__ import annotations

import functools
import getpass
import json
import logging
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from marshmallow import Schema

from .. import FRAMEWORK, TASK
from ..model.features import FEATURE_TYPES
from ..service.config import Settings
from . import serializer
from .digests import artifact_names, copy_hashing, hash_files, sha256_file, version_digest
from .libraries import library_versions, mismatches
from .metadata import (
    METADATA_FILE,
    REGISTRY_FILE,
    MetadataSchema,
    RegistrySchema,
    feature_list,
    structure_problems,
    typed_features,
)
from .reference import allowed_values

logger = logging.getLogger(__name__)

LOCK_FILE = ".lock"
STAGING_PREFIX = ".staging-"
LOCK_TIMEOUT_SECONDS = 30


class StoreError(Exception):
    """A problem with the store that the message explains; nothing was changed."""


class IntegrityError(StoreError):
    """A version's files do not match the sha256 digests recorded when it was registered."""

    def __init__(self, version: int, file: str, problem: str) -> None:
        super().__init__(f"version {version} failed verification: {file}: {problem}")
        self.version = version
        self.file = file


@dataclass(frozen=True)
class LoadedVersion:
    """A verified, deserialized version of the model."""

    version: int
    metadata: dict[str, Any]
    model: Any

    @functools.cached_property
    def allowed_values(self) -> dict[str, frozenset[Any]]:
        """The values each category feature may take with this version: its training data's."""
        return allowed_values(self.metadata.get("reference"))


def _check_structure(schema: Schema, data: Any, path: Path) -> None:
    problems = structure_problems(schema, data)
    if problems:
        raise StoreError(f"{path} is damaged ({problems}); restore it from a backup")


def _make_readable(directory: Path) -> None:
    """Let every user read a version, whatever the umask or the copied folders' modes were:
    the service may run as another user than the one who registered it (the image's)."""
    for path in [directory, *directory.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def current_user() -> str:
    """Who ran the command, for the history: user@host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container uid with no passwd entry
        user = f"uid-{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def write_json_atomically(path: Path, data: Any) -> None:
    """Write ``data`` so that readers see the old file or the new one, never a torn one."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # make the rename itself durable
    finally:
        os.close(directory)


class ModelStore:
    """The versions of one model under ``root/name``, its aliases and their history."""

    def __init__(self, root: Path, name: str, *, allow_library_mismatch: bool = False) -> None:
        self.root = Path(root)
        self.name = name
        self.directory = self.root / name
        #: Load versions saved with other major.minor library versions (logged as a warning).
        self.allow_library_mismatch = allow_library_mismatch

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelStore:
        """The store MODEL_STORE and MODEL_NAME name, with ALLOW_LIBRARY_MISMATCH applied."""
        return cls(
            settings.model_store,
            settings.model_name,
            allow_library_mismatch=settings.allow_library_mismatch,
        )

    # Versions ---------------------------------------------------------------------------

    def versions(self) -> list[int]:
        """Registered version numbers, oldest first."""
        return sorted(
            number
            for number in self._numbered_folders()
            if (self.version_dir(number) / METADATA_FILE).is_file()
        )

    def version_dir(self, version: int) -> Path:
        return self.directory / str(version)

    def metadata(self, version: int) -> dict[str, Any]:
        path = self.version_dir(version) / METADATA_FILE
        try:
            metadata = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            known = ", ".join(map(str, self.versions())) or "none"
            raise StoreError(
                f"model {self.name!r} has no version {version} in {self.directory} "
                f"(versions: {known})"
            ) from None
        except ValueError as error:
            raise StoreError(f"{path} is not valid JSON: {error}") from None
        _check_structure(MetadataSchema(), metadata, path)
        return metadata

    def find_version(self, digest: str) -> int | None:
        """The registered version whose files have this digest (``version_digest``), if any."""
        for version in self.versions():
            try:
                if self.metadata(version)["sha256"] == digest:
                    return version
            except StoreError:  # a damaged version holds nothing to compare with
                continue
        return None

    def verify(self, version: int) -> dict[str, Any]:
        """Check a version's files against its recorded digests; return its metadata.

        Reads the bytes only to hash them: nothing is deserialized here.
        """
        metadata = self._servable_metadata(version)
        directory = self.version_dir(version)
        for name, expected in sorted(metadata["files"].items()):
            self._check_digest(version, name, sha256_file(directory / name), expected)
        return metadata

    def load(self, version: int) -> LoadedVersion:
        """Deserialize a private copy of a version, made of exactly the bytes that were checked.

        Hashing the store's files and then loading them by name would let a file swapped in
        between be deserialized unchecked; hashing while copying closes that gap.
        """
        metadata = self._servable_metadata(version)
        directory = self.version_dir(version)
        with tempfile.TemporaryDirectory(prefix=f"{self.name}-{version}-") as private:
            for name, expected in sorted(metadata["files"].items()):
                actual = copy_hashing(directory / name, Path(private) / name)
                self._check_digest(version, name, actual, expected)
            model = serializer.load(Path(private), metadata)
        return LoadedVersion(version=version, metadata=metadata, model=model)

    def register(self, write_artifact: Callable[[Path], object], metadata: dict[str, Any]) -> int:
        """Add a version: ``write_artifact(folder)`` writes the files; returns the number.

        The folder only appears under its number once complete, so a reader never sees a
        half-written version; two commands registering at once get different numbers.
        """
        self._make_directory()
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.directory))
        try:
            write_artifact(staging)
            _make_readable(staging)
            files = hash_files(staging)
            if not files:
                raise StoreError("the artifact wrote no files")
            record = {
                "model_name": self.name,
                "framework": FRAMEWORK,
                "serializer": serializer.NAME,
                "task": TASK,
                "created_at": utc_now(),
                **metadata,
                "files": files,
                "sha256": version_digest(files),
            }
            write_json_atomically(staging / METADATA_FILE, record)
            with self._lock():
                version = max(self._numbered_folders(), default=0) + 1
                staging.rename(self.version_dir(version))
        except OSError as error:  # a full disk, most often: say where, in the store's terms
            shutil.rmtree(staging, ignore_errors=True)
            raise StoreError(self._write_problem(error, staging)) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return version

    def _write_problem(self, error: OSError, staging: Path) -> str:
        """Why a new version could not be written, naming the file as the version holds it
        (not the staging folder's temporary path)."""
        file: Any = error.filename
        reason = error.strerror or str(error)
        if isinstance(error, shutil.Error) and error.args and isinstance(error.args[0], list):
            _source, file, why = error.args[0][0]  # copytree gathers (source, copy, why)
            reason = re.sub(r"^\[Errno \d+\] ([^:]*).*$", r"\1", str(why))
        where = f"{self.name}/<new version>"
        if file and Path(file).is_relative_to(staging):
            where += f"/{Path(file).relative_to(staging).as_posix()}"
        return f"cannot write {where} in the model store {self.root}: {reason}"

    # Aliases and history ----------------------------------------------------------------

    def aliases(self) -> dict[str, int]:
        return dict(self._read_registry()["aliases"])

    def history(self) -> list[dict[str, Any]]:
        return list(self._read_registry()["history"])

    def registry_signature(self) -> tuple[int, int, int] | None:
        """Changes whenever registry.json is rewritten (it is always replaced, never edited)."""
        try:
            stat = (self.directory / REGISTRY_FILE).stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def resolve(self, alias: str) -> int:
        """The version an alias points to."""
        version = self._read_registry()["aliases"].get(alias)
        if version is None:
            raise StoreError(
                f"no version of model {self.name!r} is promoted to {alias!r} yet: "
                "register one (train-example, or models register PATH) and promote it"
            )
        return version

    def promote(
        self, version: int, alias: str = "production", reason: str = ""
    ) -> dict[str, Any] | None:
        """Point ``alias`` at a verified ``version``; return the history entry (None if no-op)."""
        self.verify(version)
        with self._lock():
            registry = self._read_registry()
            previous = registry["aliases"].get(alias)
            if previous == version:
                return None
            return self._record(registry, "promote", alias, previous, version, reason)

    def rollback(self, alias: str = "production", reason: str = "") -> dict[str, Any]:
        """Point ``alias`` back to where it pointed before its last change, as recorded."""
        with self._lock():
            registry = self._read_registry()
            changes = [entry for entry in registry["history"] if entry["alias"] == alias]
            if not changes or changes[-1]["from"] is None:
                raise StoreError(
                    f"nothing to roll back: {alias!r} has no earlier version in the history"
                )
            target = changes[-1]["from"]
            self.verify(target)
            current = registry["aliases"].get(alias)
            return self._record(registry, "rollback", alias, current, target, reason)

    # Internals --------------------------------------------------------------------------

    def _servable_metadata(self, version: int) -> dict[str, Any]:
        """The version's metadata, if this service can serve it and its file list is whole."""
        metadata = self.metadata(version)
        made_for = (metadata["serializer"], metadata["task"], typed_features(metadata))
        # Compared as lists: the order of the features is the order of the model's columns.
        if made_for != (serializer.NAME, TASK, list(FEATURE_TYPES.items())):
            raise StoreError(
                f"version {version} was made for other inputs or outputs (saved with "
                f"{metadata['serializer']!r}, {metadata['task']}, features "
                f"{feature_list(typed_features(metadata))}); this service serves {TASK} models "
                f"saved with {serializer.NAME!r} of features {feature_list(FEATURE_TYPES.items())}"
            )
        self._check_libraries(version, metadata)
        directory = self.version_dir(version)
        for name in sorted(metadata["files"]):
            if not (directory / name).is_file():
                raise IntegrityError(version, name, "missing")
        for name in artifact_names(directory):
            if name not in metadata["files"]:
                raise IntegrityError(version, name, "not part of the registered version")
        return metadata

    def _check_libraries(self, version: int, metadata: dict[str, Any]) -> None:
        """Refuse a version saved with another major.minor of a library it depends on.

        Pickled models can load across such versions and then predict differently without a
        word; ALLOW_LIBRARY_MISMATCH=true loads them anyway, with a warning.
        """
        found = mismatches(metadata.get("libraries") or {}, library_versions())
        if not found:
            return
        problem = f"version {version} was saved with {', '.join(found)}"
        if not self.allow_library_mismatch:
            raise StoreError(
                f"{problem}: a model can load across such versions and predict differently; "
                "retrain it here, or set ALLOW_LIBRARY_MISMATCH=true to load it anyway"
            )
        logger.warning("library mismatch allowed", extra={"problem": problem})

    @staticmethod
    def _check_digest(version: int, name: str, actual: str, expected: str) -> None:
        if actual != expected:
            raise IntegrityError(version, name, f"sha256 is {actual}, registered as {expected}")

    def _numbered_folders(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        return [int(p.name) for p in self.directory.iterdir() if p.name.isdigit() and p.is_dir()]

    def _make_directory(self) -> None:
        """The model's folder (and the store's), made readable by every user if made here."""
        missing = [path for path in (self.directory, *self.directory.parents) if not path.exists()]
        self.directory.mkdir(parents=True, exist_ok=True)
        for path in missing:
            path.chmod(0o755)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise changes across processes: version numbers and registry.json."""
        self._make_directory()
        lock = FileLock(self.directory / LOCK_FILE, timeout=LOCK_TIMEOUT_SECONDS)
        try:
            lock.acquire()
        except Timeout:
            raise StoreError(
                f"another command has held {lock.lock_file} for {LOCK_TIMEOUT_SECONDS}s; "
                "try again when it is done"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _read_registry(self) -> dict[str, Any]:
        path = self.directory / REGISTRY_FILE
        try:
            registry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"model_name": self.name, "aliases": {}, "history": []}
        except ValueError as error:
            raise StoreError(
                f"{path} is not valid JSON ({error}); restore it from a backup"
            ) from None
        _check_structure(RegistrySchema(), registry, path)
        return registry

    def _record(
        self,
        registry: dict[str, Any],
        action: str,
        alias: str,
        previous: int | None,
        version: int,
        reason: str,
    ) -> dict[str, Any]:
        entry = {
            "time": utc_now(),
            "action": action,
            "alias": alias,
            "from": previous,
            "to": version,
            "reason": reason,
            "user": current_user(),
        }
        registry["aliases"][alias] = version
        registry["history"].append(entry)
        write_json_atomically(self.directory / REGISTRY_FILE, registry)
        return entry
