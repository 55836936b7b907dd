"""A baked project installed and served by gunicorn on 127.0.0.1, and a client load for it.

Shared by the slow tests and the benchmarks. Traffic goes to 127.0.0.1 only; servers are
stopped by the pid this module started, and loads stop by themselves.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bakery import clean_env, package_name, run

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
# Alias changes from production -> 3 among versions 1 to 3: each command's arguments, and the
# version production points to after it (a rollback undoes the change before it).
ALIAS_CHANGES = [
    (["promote", "1"], 1),
    (["rollback"], 3),
    (["promote", "2"], 2),
    (["rollback"], 3),
    (["promote", "1"], 1),
    (["promote", "2"], 2),
    (["rollback"], 1),
    (["rollback"], 2),
    (["promote", "3"], 3),
    (["rollback"], 2),
    (["promote", "1"], 1),
    (["rollback"], 2),
]


def logged_ids(database: sqlite3.Connection) -> set[str]:
    """The prediction ids a bake's SQLite prediction log holds (a row per request, ``records``
    ids ``<id>-<index>`` each)."""
    rows = database.execute("SELECT id, records FROM prediction_requests")
    return {f"{prefix}-{index}" for prefix, records in rows for index in range(records)}


def logged_records(database: sqlite3.Connection) -> int:
    """How many predictions a bake's SQLite prediction log holds."""
    return database.execute("SELECT sum(records) FROM prediction_requests").fetchone()[0] or 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Installed:
    """A bake built as a wheel and installed (not editable) beside its pinned dependencies."""

    project: Path
    python: Path  # of the venv with the bake's pinned dependencies
    site: Path
    command: Path

    @classmethod
    def install(cls, project: Path, python: Path, site: Path) -> Installed:
        pip = [str(python), "-m", "pip", "install", "--quiet", "--no-deps"]
        run([*pip, "--target", str(site), str(project)])
        return cls(project, python, site, site / "bin" / project.name)

    @property
    def package(self) -> str:
        return package_name(self.project)

    @property
    def model_name(self) -> str:
        """The model's name in the store, as the bake's prompts derived it."""
        text = (self.project / "src" / self.package / "service" / "config.py").read_text()
        return re.search(r'^DEFAULT_MODEL_NAME = "([^"]+)"$', text, re.MULTILINE).group(1)

    @property
    def serializer(self) -> str:
        """The serializer the bake resolved (never "auto"), as its metadata.json records it."""
        text = (self.project / "src" / self.package / "store" / "serializer.py").read_text()
        return re.search(r'^NAME = "(\w+)"$', text, re.MULTILINE).group(1)

    def env(self, store: Path, **extra: str) -> dict[str, str]:
        return clean_env(PYTHONPATH=str(self.site), MODEL_STORE=str(store), **extra)

    def cli(self, store: Path, *args: str) -> str:
        return run([str(self.command), *args], env=self.env(store))

    def serve(self, store: Path, log: Path, **settings: str) -> Server:
        """``<slug> serve`` with 2 workers on a free loopback port (not waited for)."""
        port = free_port()
        env = self.env(store, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="2", **settings)
        with open(log, "w") as output:
            process = subprocess.Popen(
                [str(self.command), "serve"], env=env, stdout=output, stderr=subprocess.STDOUT
            )
        return Server(process, port, log)


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def stop(self) -> int:
        """SIGTERM, as an orchestrator sends it; the exit code once stopped."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def log_time(line: dict[str, Any]) -> float:
    return datetime.fromisoformat(line["time"]).timestamp()


@dataclass
class Load:
    """Clients posting one record in a loop on keep-alive connections until stopped."""

    port: int
    clients: int = 8
    #: (time received, status, X-Model-Version, seconds taken) of every answer.
    received: list[tuple[float, int, str | None, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        self._threads = [threading.Thread(target=self._client) for _ in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    @property
    def answers(self) -> Counter:
        """How many answers had each (status, X-Model-Version)."""
        return Counter((status, version) for _, status, version, _ in self.received)

    def settled_after(self, since: float, until: float, version: str) -> float:
        """Seconds from ``since`` to the last answer before ``until`` naming another version."""
        stale = [t for t, _, served, _ in self.received if since <= t < until and served != version]
        return max(stale, default=since) - since

    def _client(self) -> None:
        body = json.dumps({"instances": [SETOSA]})
        headers = {"Content-Type": "application/json"}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self._stop.is_set():
            try:
                sent = time.perf_counter()
                connection.request("POST", "/v1/predict", body, headers)
                response = connection.getresponse()
                response.read()
                version = response.getheader("X-Model-Version")
                taken = time.perf_counter() - sent
                self.received.append((time.time(), response.status, version, taken))
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(repr(error))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                time.sleep(0.01)
        connection.close()
