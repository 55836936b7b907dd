"""The prediction log's database: its engine, its SQLite file, and its URL as shown."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from ..service import json_text

#: Seconds to reach PostgreSQL before giving up for now (the default is to wait for ever).
CONNECT_TIMEOUT_SECONDS = 5


def describe_problem(error: BaseException) -> str:
    """One line on why the database cannot be used, without the SQL or the driver's name."""
    cause = getattr(error, "orig", None) or error
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    text = str(cause).strip().splitlines()
    return (text[0] if text else type(cause).__name__)[:300]


def _tune_sqlite(connection: Any, _record: Any) -> None:
    # WAL lets readers (feedback, drift) work while a worker writes; NORMAL sync is safe in WAL
    # and avoids an fsync per transaction.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (it connects when first used); SQLite gets WAL and a shared busy
    timeout, PostgreSQL a connect timeout."""
    parsed = make_url(url)
    # Every row holds two JSON columns: their encoding is most of a row's cost.
    fast_json = {"json_serializer": json_text.dumps}
    if parsed.get_backend_name() == "postgresql":
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **fast_json)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **fast_json)
    connect_args = {"timeout": 30, "check_same_thread": False}
    engine = create_engine(url, connect_args=connect_args, **fast_json)
    event.listen(engine, "connect", _tune_sqlite)
    return engine


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite ``url``; None for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def create_private_file(path: str) -> None:
    """Create the SQLite file readable by its owner only, or take others' read access away
    from an existing one: it holds every input the service was sent. SQLite gives its -wal
    and -shm files the same permissions."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        mode = os.fstat(descriptor).st_mode
        if mode & 0o007:
            os.fchmod(descriptor, mode & 0o770)
    finally:
        os.close(descriptor)


def safe_url(url: str) -> str:
    """``url`` with its password hidden, for logs and the operator's reports."""
    return make_url(url).render_as_string(hide_password=True)


def public_url(url: str, store: Path) -> str:
    """``url`` as the HTTP API shows it: a SQLite file relative to the model store (or by its
    name alone), another database without its user and password."""
    path = sqlite_file(url)
    if path is None:
        return make_url(url).set(username=None, password=None).render_as_string()
    file = Path(path).absolute()
    if file.is_relative_to(store):
        return f"sqlite: {file.relative_to(store).as_posix()} in the model store"
    return f"sqlite: {file.name}"
