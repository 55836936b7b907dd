"""Fixtures shared by the template's tests: bakes made once per session, and bake venvs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import bakery
from combos import Combo


@pytest.fixture(scope="session")
def bake(cookies_session) -> Callable[[Combo], Path]:
    """Bake a combination (once per session) and return the project's path."""
    baked: dict[str, Path] = {}

    def _bake(combo: Combo) -> Path:
        if combo.id not in baked:
            result = cookies_session.bake(
                extra_context=combo.context, template=str(bakery.TEMPLATE)
            )
            assert result.exit_code == 0, result.exception
            baked[combo.id] = Path(result.project_path)
        return baked[combo.id]

    return _bake


@pytest.fixture(scope="session")
def project_venv() -> Callable[[Path], Path]:
    """The virtualenv with a bake's pinned requirements (see bakery.project_venv)."""
    return bakery.project_venv
