"""Fixtures shared by the template's tests: bakes made once per session, bake venvs, and the
venv of the standard protocols' clients."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import bakery
from combos import COMBOS, DEFAULT, Combo
from postgres import postgres_database
from served import Installed, Server


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


@pytest.fixture(params=COMBOS, ids=[combo.id for combo in COMBOS])
def baked(request: pytest.FixtureRequest, bake: Callable[[Combo], Path]) -> tuple[Combo, Path]:
    """Each combination, baked."""
    return request.param, bake(request.param)


@pytest.fixture(scope="session")
def project_venv() -> Callable[[Path], Path]:
    """The virtualenv with a bake's pinned requirements (see bakery.project_venv)."""
    return bakery.project_venv


@pytest.fixture(scope="session")
def install(
    bake: Callable[[Combo], Path],
    project_venv: Callable[[Path], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[Combo], Installed]:
    """A bake built as a wheel and installed (packaging, data and console script), once each."""
    done: dict[str, Installed] = {}

    def _install(combo: Combo) -> Installed:
        if combo.id not in done:
            project = bake(combo)
            python = project_venv(project) / "bin" / "python"
            done[combo.id] = Installed.install(project, python, tmp_path_factory.mktemp("site"))
        return done[combo.id]

    return _install


@pytest.fixture(scope="module")
def installed(install: Callable[[Combo], Installed]) -> Installed:
    """The default bake, installed (a test module may override this with other bakes)."""
    return install(DEFAULT)


@pytest.fixture(scope="module")
def start_server(
    installed: Installed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Server]]:
    """Start the installed bake under gunicorn (2 workers, 127.0.0.1); all stopped at the end."""
    started: list[Server] = []

    def start(store: Path, **settings: str) -> Server:
        log = tmp_path_factory.mktemp("server") / "stdout.jsonl"
        started.append(installed.serve(store, log, **settings))
        return started[-1]

    yield start
    for server in started:
        server.stop()


#: The standard protocols' clients and the kserve SDK, pinned: they bring gevent, httpx, grpcio,
#: pandas and more, which the template's tools do not need.
CLIENTS = bakery.TEMPLATE / "tests" / "protocol-clients.txt"


@pytest.fixture(scope="session")
def clients_python() -> Path:
    """A venv with the protocols' clients at the pins of tests/protocol-clients.txt."""
    digest = hashlib.sha256(CLIENTS.read_bytes()).hexdigest()[:16]
    venv = bakery.VENV_CACHE / f"clients-{digest}"
    if not (venv / ".complete").exists():
        bakery.run([sys.executable, "-m", "venv", "--clear", str(venv)])
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        bakery.run([*pip, "--disable-pip-version-check", "-r", str(CLIENTS)], timeout=900)
        (venv / ".complete").touch()
    return venv / "bin" / "python"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server on a loopback port, for the whole session (SQLAlchemy URL)."""
    with postgres_database() as url:
        yield url
