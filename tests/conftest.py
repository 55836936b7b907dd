"""Fixtures shared by the template's tests: bakes made once per session, and framework venvs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from combos import Combo

TEMPLATE = Path(__file__).resolve().parent.parent
# Virtualenvs for the bakes' own suites, one per distinct set of pinned requirements, kept
# between runs (they take a minute to make and never change for the same pins).
VENV_CACHE = TEMPLATE / ".cache" / "venvs"


@pytest.fixture(scope="session")
def bake(cookies_session) -> Callable[[Combo], Path]:
    """Bake a combination (once per session) and return the project's path."""
    baked: dict[str, Path] = {}

    def _bake(combo: Combo) -> Path:
        if combo.id not in baked:
            result = cookies_session.bake(extra_context=combo.context, template=str(TEMPLATE))
            assert result.exit_code == 0, result.exception
            baked[combo.id] = Path(result.project_path)
        return baked[combo.id]

    return _bake


def run(command: list[str], cwd: Path | None = None, timeout: float = 600, **kwargs) -> str:
    """Run a command; fail the test with its output if it fails."""
    completed = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs
    )
    assert completed.returncode == 0, (
        f"{' '.join(map(str, command))} exited {completed.returncode}\n"
        f"{completed.stdout[-5000:]}\n{completed.stderr[-5000:]}"
    )
    return completed.stdout


def requirement_files(project: Path) -> list[Path]:
    return [project / "requirements.txt", project / "requirements-dev.txt"]


@pytest.fixture(scope="session")
def project_venv() -> Callable[[Path], Path]:
    """The virtualenv with a bake's pinned requirements, shared by bakes with the same pins."""

    def _venv(project: Path) -> Path:
        files = requirement_files(project)
        digest = hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()[:16]
        venv = VENV_CACHE / digest
        python = venv / "bin" / "python"
        if not (venv / ".complete").exists():
            run([sys.executable, "-m", "venv", "--clear", str(venv)])
            pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            run([*pip, *[arg for path in files for arg in ("-r", str(path))]])
            (venv / ".complete").touch()
        return venv

    return _venv


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a bake's processes: none of the template's own settings leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MODEL_"))}
    env.update(extra)
    return env
