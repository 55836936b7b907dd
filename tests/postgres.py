"""A throwaway PostgreSQL server on a loopback port, from the Debian package, for the tests.

Started as the ``postgres`` user when the tests run as root. The server is stopped by its data
directory (pg_ctl), never by name; a test may stop it and start it again (an outage).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bakery import run
from served import free_port

PASSWORD = "secret"
USER = "app"


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    return found[-1] if found else None


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PostgresServer:
    """One server with one empty database, ``test``, at ``url`` (SQLAlchemy's form)."""

    def __init__(self, directory: Path, binaries: Path) -> None:
        self.directory = directory
        self.binaries = binaries
        self.port = free_port()
        self.url = f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{self.port}/test"
        self._pg_ctl = [str(binaries / "pg_ctl"), "-D", str(directory / "data"), "-w"]

    def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        (self.directory / "pw").write_text(PASSWORD + "\n")
        run(
            _as_owner(
                [
                    *(str(self.binaries / "initdb"), "-D", str(self.directory / "data")),
                    *("-U", USER, f"--pwfile={self.directory / 'pw'}"),
                    *("--auth=scram-sha-256", "--no-sync"),
                ]
            )
        )
        self.start()
        env = {**os.environ, "PGPASSWORD": PASSWORD}
        createdb = [str(self.binaries / "createdb"), "-h", "127.0.0.1", "-p", str(self.port)]
        run([*createdb, "-U", USER, "test"], env=env)

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off"
        log = str(self.directory / "log")
        run(_as_owner([*self._pg_ctl, "-l", log, "-o", options, "start"]))

    def stop(self, mode: str = "fast") -> None:
        """Stop it: ``fast`` closes the connections; ``immediate`` is a crash."""
        subprocess.run(
            _as_owner([*self._pg_ctl, "-m", mode, "stop"]), capture_output=True, timeout=60
        )


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a server with one empty database; yield it; stop it and remove its files."""
    binaries = server_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="test-postgres-")), binaries)
    try:
        server.create()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


@contextmanager
def postgres_database() -> Iterator[str]:
    """Start a server with one empty database; yield its SQLAlchemy URL; stop it."""
    with postgres_server() as server:
        yield server.url
