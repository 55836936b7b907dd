"""Slow layer: every combination's own test suite passes with its pinned dependencies, with
its prediction log on SQLite and on a real PostgreSQL, and mypy finds no error in its code.

The suites are the longest part of the template's run, and each keeps about one core busy, so
they run two at a time in the background from the module's first test; each test waits for
its own combination's outcome. Each suite has a PostgreSQL server of its own (two suites in one
database would drop each other's tables), and venvs are made one at a time (combinations with
the same locks share one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from bakery import clean_env, run
from combos import COMBOS, Combo
from postgres import postgres_database

#: Suites at once: the machines have two cores.
AT_ONCE = 2


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
    """The suite and mypy of every combination this run selected, started now in COMBOS'
    order, AT_ONCE at a time."""
    one_at_a_time = threading.Lock()

    def run_suite(project: Path, scratch: Path) -> SuiteOutcome:
        with ExitStack() as stack:
            with one_at_a_time:  # making a venv, or starting a server on a free port
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
    with ThreadPoolExecutor(max_workers=AT_ONCE, thread_name_prefix="bake-suite") as pool:
        futures = {
            name: pool.submit(run_suite, project, tmp_path_factory.mktemp(f"suite-{name}"))
            for name, project in projects.items()
        }
        try:
            yield futures
        finally:
            # A stopped run (a failure with -x, Ctrl-C) does not start the suites left.
            for future in futures.values():
                future.cancel()


@pytest.mark.slow
@pytest.mark.parametrize("combo", COMBOS, ids=[combo.id for combo in COMBOS])
def test_bake_passes_its_own_suite(combo: Combo, suites: dict[str, Future[SuiteOutcome]]) -> None:
    """The prediction log's tests run on SQLite and on the real PostgreSQL: none is skipped."""
    outcome = suites[combo.id].result()
    assert " passed" in outcome.tests
    assert " failed" not in outcome.tests
    assert " skipped" not in outcome.tests
    assert outcome.types.startswith("Success: no issues found"), outcome.types
