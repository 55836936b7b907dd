"""The locks hold what the .in files ask for: a pin edited without `make lock` fails here.

requirements.txt and requirements-dev.txt are resolved from requirements.in and
requirements-dev.in; every package in them carries the sha256 of its files, so `pip install
--require-hashes` installs exactly what was tested.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(name: str) -> dict[str, str]:
    """Each top-level ``name==version`` line of a requirements file, by normalised name."""
    lines = (PROJECT / name).read_text(encoding="utf-8").splitlines()
    return {_normal(m[1]): m[2] for line in lines if (m := _PIN.match(line))}


def left_out(lock: str) -> set[str]:
    """The packages ``uv pip compile --no-emit-package`` names as excluded from a lock."""
    text = (PROJECT / lock).read_text(encoding="utf-8")
    _, _, excluded = text.partition("# The following packages were excluded from the output:\n")
    return {
        _normal(line.removeprefix("# ")) for line in excluded.splitlines() if line.startswith("# ")
    }


@pytest.mark.parametrize(
    ("inputs", "locks"),
    [
        ("requirements.in", ("requirements.txt",)),
        # The dev tools' lock leaves out what requirements.txt already pins.
        ("requirements-dev.in", ("requirements-dev.txt", "requirements.txt")),
    ],
)
def test_the_lock_pins_every_input_at_its_version(inputs: str, locks: tuple[str, ...]) -> None:
    locked: dict[str, str] = {}
    for lock in locks:
        locked |= pins(lock)
    stale = {
        name: version
        for name, version in pins(inputs).items()
        if name not in left_out(locks[0]) and locked.get(name) != version
    }
    assert not stale, f"{inputs} asks for {stale}, which {locks[0]} does not pin: run `make lock`"


@pytest.mark.parametrize("lock", ["requirements.txt", "requirements-dev.txt"])
def test_every_locked_package_has_its_hashes(lock: str) -> None:
    text = (PROJECT / lock).read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[-1])
    unhashed = [
        entry.split()[0] for entry in entries if _PIN.match(entry) and "--hash=sha256:" not in entry
    ]
    assert not unhashed
