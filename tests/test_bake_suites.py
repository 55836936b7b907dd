"""Slow layer: every combination's own test suite passes with its pinned dependencies, with
its prediction log on SQLite and on a real PostgreSQL, and mypy finds no error in its code.

The suites are the longest part of the template's run: they run two at a time in the
background (tests/background.py) from the module's first test, and each test waits for its own
combination's outcome. Each suite has a PostgreSQL server of its own (two suites in one
database would drop each other's tables).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from background import SETUP, in_background
from bakery import clean_env, run
from combos import COMBOS, Combo
from postgres import postgres_database


@dataclass(frozen=True)
class SuiteOutcome:
    tests: str
    types: str


@pytest.fixture(scope="module")
def suites(
    request: pytest.FixtureRequest,
    bake: Callable[[Combo], Path],
    project_venv: Callable[[Path], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Future[SuiteOutcome]]]:
    """The suite and mypy of every combination this run selected, started now in the
    background in COMBOS' order."""

    def run_suite(project: Path, scratch: Path) -> SuiteOutcome:
        with ExitStack() as stack:
            with SETUP:  # making a venv, or starting a server on a free port
                python = project_venv(project) / "bin" / "python"
                url = stack.enter_context(postgres_database())
            tests = run(
                [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                cwd=project,
                # Hypothesis' cache outside the bake, which other tests compare with the
                # template.
                env=clean_env(TEST_DATABASE_URL=url, HYPOTHESIS_STORAGE_DIRECTORY=str(scratch)),
                timeout=1200,
            )
        # Its types, as its `make lint` and CI check them, with its own pinned mypy and
        # libraries. Its cache outside the bake too.
        mypy = [str(python), "-m", "mypy", "--cache-dir", str(scratch / "mypy")]
        return SuiteOutcome(tests, run(mypy, cwd=project, env=clean_env()))

    selected = {
        item.callspec.params["combo"].id
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_bake_passes_its_own_suite"
    }
    # Baked here, in this thread: pytest-cookies is not made for threads.
    projects = {combo.id: bake(combo) for combo in COMBOS if combo.id in selected}
    jobs = {
        name: partial(run_suite, project, tmp_path_factory.mktemp(f"suite-{name}"))
        for name, project in projects.items()
    }
    with in_background(jobs) as futures:
        yield futures


@pytest.mark.slow
@pytest.mark.parametrize("combo", COMBOS, ids=[combo.id for combo in COMBOS])
def test_bake_passes_its_own_suite(combo: Combo, suites: dict[str, Future[SuiteOutcome]]) -> None:
    """The prediction log's tests run on SQLite and on the real PostgreSQL: none is skipped."""
    outcome = suites[combo.id].result()
    assert " passed" in outcome.tests
    assert " failed" not in outcome.tests
    assert " skipped" not in outcome.tests
    assert outcome.types.startswith("Success: no issues found"), outcome.types
