"""notebooks/train.ipynb runs top to bottom in a kernel, against the service under gunicorn."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from {{ cookiecutter.package_name }}.cli import GUNICORN_CONFIG, WSGI_APP
from {{ cookiecutter.package_name }}.store.registry import ModelStore

PROJECT = Path(__file__).resolve().parent.parent
NOTEBOOK = PROJECT / "notebooks" / "train.ipynb"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def service(store: ModelStore, tmp_path: Path) -> Iterator[str]:
    """The service on the test's store, under gunicorn on a free loopback port: its URL."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT / "src"),
        "MODEL_STORE": str(store.root),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "MODEL_POLL_SECONDS": "0.2",
        "RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = open(tmp_path / "service.log", "w")  # noqa: SIM115 - closed after the server stops
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", GUNICORN_CONFIG, WSGI_APP],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2):
                    break
            except OSError:  # refused, reset, timed out, or 503 (an HTTPError) while it starts
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError((tmp_path / "service.log").read_text()) from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def test_the_notebook_trains_registers_and_is_served(
    service: str, store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel inherits these: the test's store, the service, and the project's sources.
    monkeypatch.setenv("MODEL_STORE", str(store.root))
    monkeypatch.setenv("SERVICE_URL", service)
    monkeypatch.setenv("PYTHONPATH", str(PROJECT / "src"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # "python3" is this interpreter's own kernel: the venv with the pinned libraries.
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    assert store.resolve("production") == 2
    metadata = store.metadata(2)
    assert metadata["source"] == "register() in Python"
    assert metadata["metrics_on"].startswith("a DataFrame of ")
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert f"as {store.name} version 2 in {store.directory}" in printed
    assert '"version": "2"' in printed  # the service answered with it
