"""Slow layer: promote and roll back while the service is under load, and lose nothing.

The default bake serves three versions with two gunicorn workers on 127.0.0.1 while 8 clients
post without pause for the whole run; the installed CLI moves the alias a dozen times. Every
request must succeed, every answer must name a registered version, each worker must follow
every change within a couple of seconds, and a tampered version must never be served.
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from combos import DEFAULT
from http_client import request, wait_for
from served import ALIAS_CHANGES, SETOSA, Installed, Load, Server

pytestmark = pytest.mark.slow

PAUSE_SECONDS = 2.0  # between commands: longer than the default MODEL_POLL_SECONDS


class _CreatesMarkerWhenLoaded:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


@pytest.fixture
def three_versions(installed: Installed, tmp_path: Path) -> Path:
    store = tmp_path / "models"
    for _ in range(3):
        installed.cli(store, "train-example")  # versions 1, 2, 3; production -> 3
    return store


def settle_times(load: Load, commands: list[tuple[float, float, int]]) -> list[float]:
    """Per alias change: seconds from its command returning to the last answer naming another
    version, before the next command starts (which may move the alias before it returns)."""
    ends = [started for started, _, _ in commands[1:]] + [float("inf")]
    return [
        load.settled_after(returned, end, str(version))
        for (_, returned, version), end in zip(commands, ends, strict=True)
    ]


def test_promote_and_rollback_under_load_drop_nothing(
    installed: Installed, start_server: Callable[..., Server], three_versions: Path
) -> None:
    server = start_server(three_versions)
    wait_for(server.port, "/readyz", 200)
    load = Load(server.port).start()
    commands: list[tuple[float, float, int]] = []  # (started, returned, version it sets)
    started = time.monotonic()
    try:
        for args, expected in ALIAS_CHANGES:
            before = time.time()
            output = installed.cli(three_versions, "models", *args)
            commands.append((before, time.time(), expected))
            assert f"-> {expected}" in output
            time.sleep(PAUSE_SECONDS)
    finally:
        load.stop()
    duration = time.monotonic() - started

    assert duration >= 20
    assert load.failures == []
    assert {status for status, _ in load.answers} == {200}
    assert {version for _, version in load.answers} <= {"1", "2", "3"}
    latencies = settle_times(load, commands)
    assert max(latencies) < PAUSE_SECONDS  # every worker followed each change in time
    print(  # shown with -s: the figures the issue asks for
        f"\n{sum(load.answers.values())} requests in {duration:.0f} s, "
        f"{len(load.failures)} failed; answers by version: {dict(load.answers)}; "
        f"seconds from each command returning to the last stale answer: "
        f"{[round(x, 2) for x in latencies]}"
    )
    final = ALIAS_CHANGES[-1][1]
    after = [request(server.port, "GET", "/v1/model").json()["version"] for _ in range(40)]
    assert set(after) == {str(final)}


def test_a_tampered_version_pointed_at_is_refused_and_the_old_one_serves(
    installed: Installed,
    start_server: Callable[..., Server],
    three_versions: Path,
    tmp_path: Path,
) -> None:
    server = start_server(three_versions)
    wait_for(server.port, "/readyz", 200)
    marker = tmp_path / "code-ran"
    (three_versions / DEFAULT.model_name / "2" / "model.joblib").write_bytes(
        pickle.dumps(_CreatesMarkerWhenLoaded(marker))
    )
    # Point production at the tampered version behind the CLI's back (promote would refuse).
    registry_path = three_versions / DEFAULT.model_name / "registry.json"
    registry = json.loads(registry_path.read_text())
    registry["aliases"]["production"] = 2
    registry_path.write_text(json.dumps(registry))
    time.sleep(3)
    load = Load(server.port, clients=4).start()
    time.sleep(2)
    load.stop()
    assert load.failures == []
    assert set(load.answers) == {(200, "3")}
    assert not marker.exists()
    refusals = [
        line for line in server.lines() if line["message"].startswith("new version refused")
    ]
    assert len({line["pid"] for line in refusals}) == 2  # each worker refused it
    assert all(line["refused_version"] == 2 for line in refusals)
    info = request(server.port, "GET", "/v1/model").json()
    assert info["last_refused"]["version"] == 2
    # Counted once by each worker, and summed across both by one scrape.
    scrape = request(server.port, "GET", "/metrics").body.decode()
    assert 'model_loads_total{model="iris-classifier",outcome="refused",version="2"} 2.0' in scrape


def test_a_damaged_registry_leaves_the_workers_serving(
    start_server: Callable[..., Server], three_versions: Path
) -> None:
    server = start_server(three_versions)
    wait_for(server.port, "/readyz", 200)
    (three_versions / DEFAULT.model_name / "registry.json").write_text("{half a file")
    time.sleep(3)
    assert request(server.port, "GET", "/readyz").status == 200
    answer = request(server.port, "POST", "/v1/predict", {"instances": [SETOSA]})
    assert (answer.status, answer.headers["x-model-version"]) == (200, "3")
    assert "registry.json" in request(server.port, "GET", "/v1/model").json()["registry_problem"]
