"""Slow layer: every combination's own test suite passes with its pinned dependencies, with
its prediction log on SQLite and on a real PostgreSQL, and mypy finds no error in its code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bakery import clean_env, run
from combos import COMBOS, Combo


@pytest.mark.slow
@pytest.mark.parametrize("combo", COMBOS, ids=[combo.id for combo in COMBOS])
def test_bake_passes_its_own_suite(
    combo: Combo,
    bake: Callable[[Combo], Path],
    project_venv: Callable[[Path], Path],
    postgres_url: str,
    tmp_path: Path,
) -> None:
    """The prediction log's tests run on SQLite and on the real PostgreSQL: none is skipped."""
    project = bake(combo)
    python = project_venv(project) / "bin" / "python"
    output = run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        # Hypothesis' cache outside the bake, which other tests compare with the template.
        env=clean_env(TEST_DATABASE_URL=postgres_url, HYPOTHESIS_STORAGE_DIRECTORY=str(tmp_path)),
    )
    assert " passed" in output
    assert " failed" not in output
    assert " skipped" not in output
    # Its types, as its `make lint` and CI check them, with its own pinned mypy and libraries.
    # Its cache outside the bake too.
    mypy = [str(python), "-m", "mypy", "--cache-dir", str(tmp_path / "mypy")]
    checked = run(mypy, cwd=project, env=clean_env())
    assert checked.startswith("Success: no issues found"), checked
