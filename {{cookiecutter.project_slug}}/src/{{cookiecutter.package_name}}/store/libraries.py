"""Library versions: this process's, the ones the service pins, and a saved model's.

A model saved with one major.minor of its libraries (scikit-learn, torch, TensorFlow, numpy)
may fail to load in another with a riddle (``No module named '_loss'``), or load and predict
differently without a word. The store refuses such versions; registration says so first, in
one line that names the versions and the way out.
"""

from __future__ import annotations

import functools
import platform
import re
import warnings
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path

from ..service.config import SERVICE_NAME
from . import serializer

#: The service's pins in a source checkout (this file is src/<package>/store/libraries.py).
PROJECT_REQUIREMENTS = Path(__file__).resolve().parents[3] / "requirements.in"
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")
WAY_OUT = (
    f"fit it with the service's versions (`make kernel`, then the {SERVICE_NAME} kernel in "
    "Jupyter), or install them where you fit it"
)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache  # installed versions do not change while a process runs
def library_versions() -> dict[str, str]:
    """Python's version and that of each library the serializer's models depend on."""
    versions = {"python": platform.python_version()}
    for name in serializer.LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def major_minor(text: str) -> tuple[str, ...]:
    return tuple(text.split(".")[:2])


def mismatches(recorded: Mapping[str, str], expected: Mapping[str, str]) -> list[str]:
    """``"scikit-learn 1.7.2 (the service's: 1.9.1)"`` for each of the serializer's libraries
    whose major.minor differs between the two."""
    return [
        f"{name} {recorded[name]} (the service's: {expected[name]})"
        for name in serializer.LIBRARIES
        if name in recorded
        and name in expected
        and major_minor(recorded[name]) != major_minor(expected[name])
    ]


@functools.cache
def pinned_versions() -> dict[str, str]:
    """The versions the service pins (requirements.in), by distribution name.

    From the installed project's metadata, or from requirements.in in a source checkout;
    empty when neither can be read.
    """
    try:
        lines = requires(SERVICE_NAME) or []
    except PackageNotFoundError:
        try:
            lines = PROJECT_REQUIREMENTS.read_text(encoding="utf-8").splitlines()
        except OSError:
            return {}
    pins = {_normal(m[1]): m[2] for line in lines if (m := _PIN.match(line))}
    return {name: pins[_normal(name)] for name in serializer.LIBRARIES if _normal(name) in pins}


def this_process_problem() -> str | None:
    """Why a model fitted in this process (a notebook's kernel) would be refused, if it would."""
    found = mismatches(library_versions(), pinned_versions())
    if not found:
        return None
    return (
        f"this Python runs {', '.join(found)}, and the service refuses models saved with "
        f"another major.minor: {WAY_OUT}"
    )


def versions_warned(caught: Iterable[warnings.WarningMessage]) -> dict[str, str]:
    """The library versions that warnings raised while loading a model name as its own.

    scikit-learn warns (InconsistentVersionWarning) when it unpickles an estimator saved with
    another version, and the warning carries that version: the one check that also sees
    compressed joblib files, whose bytes ``saved_library_versions`` cannot read.
    """
    found = {}
    for caught_warning in caught:
        original = getattr(caught_warning.message, "original_sklearn_version", None)
        if isinstance(original, str):
            found["scikit-learn"] = original
    return found


def loaded_problem(recorded: Mapping[str, str], what: str) -> str | None:
    """Why a model that loaded with these recorded versions would be refused here, if it would."""
    found = mismatches(recorded, library_versions())
    if not found:
        return None
    return f"{what} was saved with {', '.join(found)}: {WAY_OUT}"


def saved_problem(saved: Path, what: str) -> str | None:
    """Why the model saved in ``saved`` would be refused here, if its files tell."""
    return loaded_problem(serializer.saved_library_versions(saved), what)
