"""A throwaway PostgreSQL server on a loopback port, from the Debian package, for the tests.

initdb refuses to run as root, so the cluster belongs to the ``postgres`` user when the tests
run as root. The server is stopped by its data directory (pg_ctl), never by name.
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


@contextmanager
def postgres_database() -> Iterator[str]:
    """Start a server with one empty database; yield its SQLAlchemy URL; stop it."""
    binaries = server_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    directory = Path(tempfile.mkdtemp(prefix="test-postgres-"))
    data, port = directory / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    (directory / "pw").write_text(PASSWORD + "\n")
    run(
        _as_owner(
            [
                *(str(binaries / "initdb"), "-D", str(data), "-U", USER),
                *(f"--pwfile={directory / 'pw'}", "--auth=scram-sha-256", "--no-sync"),
            ]
        )
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {directory} -c fsync=off"
    pg_ctl = [str(binaries / "pg_ctl"), "-D", str(data), "-w"]
    run(_as_owner([*pg_ctl, "-l", str(directory / "log"), "-o", options, "start"]))
    try:
        env = {**os.environ, "PGPASSWORD": PASSWORD}
        run(
            [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, "test"],
            env=env,
        )
        yield f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{port}/test"
    finally:
        subprocess.run(_as_owner([*pg_ctl, "-m", "fast", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(directory, ignore_errors=True)
