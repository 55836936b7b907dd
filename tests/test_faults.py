"""Slow layer: the default bake under real gunicorn while things fail around it: its database
goes down (at start, under load), a worker is killed, the service is stopped while the database
is locked, feedback races its prediction, the model hangs. Each test counts every prediction
answered 200: written to the log, counted as dropped (with a reason) or, for a hard kill only,
lost; the figures go to CI's log. Processes started here are stopped by their pid.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from combos import DEFAULT, Combo
from http_client import request, wait_for
from postgres import postgres_server
from report import say
from served import SETOSA, Installed, Load, Server, log_time, logged_records

pytestmark = pytest.mark.slow

SHUT_DOWN_UNWRITTEN = "prediction log: records still queued at shutdown were not written"


@pytest.fixture(scope="module")
def store(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("store") / "models"
    installed.cli(root, "train-example")
    return root


def metric(port: int, name: str) -> float:
    """The sum of a metric's samples in /metrics (0 if it has none)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.25)


def answered(load: Load) -> int:
    return sum(status == 200 for _, status, _, _ in load.received)


def accounted(port: int) -> tuple[float, float]:
    return (
        metric(port, "prediction_log_written_records_total"),
        metric(port, "prediction_log_dropped_records_total"),
    )


def test_predictions_go_on_while_postgresql_is_down(
    start_server: Callable[..., Server], store: Path, pytestconfig: pytest.Config
) -> None:
    with postgres_server() as database:
        server = start_server(store, DATABASE_URL=database.url, MONITOR_INTERVAL_SECONDS="1")
        wait_for(server.port, "/readyz", 200)
        load = Load(server.port, clients=4).start()
        time.sleep(2)
        database.stop("immediate")  # a crash: connections are cut, not closed
        time.sleep(3)
        during = answered(load)
        feedback = request(
            server.port, "POST", "/v1/feedback", {"feedback": [{"id": "x", "actual": 1}]}
        )
        monitoring = request(server.port, "GET", "/v1/monitoring")
        up_while_down = metric(server.port, "prediction_log_up")
        time.sleep(2)
        database.start()
        wait_until(lambda: metric(server.port, "prediction_log_up") == 1, 60, "reconnecting")
        load.stop()
        total = answered(load)
        wait_until(lambda: sum(accounted(server.port)) >= total, 60, "writing every row")
        written, dropped = accounted(server.port)
    say(
        pytestconfig,
        "faults: postgresql down under load",
        f"{total} predictions answered 200 ({len(load.failures)} failed, "
        f"{sum(s != 200 for _, s, _, _ in load.received)} not 200), {during} before the 5 s "
        f"outage ended; feedback {feedback.status}, /v1/monitoring {monitoring.status}, "
        f"prediction_log_up {up_while_down:g} while down; afterwards {written:g} rows written, "
        f"{dropped:g} counted as dropped, {total - written - dropped:g} lost",
    )
    assert not load.failures
    assert {status for _, status, _, _ in load.received} == {200}
    assert (feedback.status, monitoring.status) == (503, 503)
    assert feedback.json()["error"]["code"] == "prediction_log_unavailable"
    assert up_while_down == 0
    assert written + dropped == total


def test_the_service_starts_without_its_database_and_logs_once_it_is_up(
    start_server: Callable[..., Server], store: Path, pytestconfig: pytest.Config
) -> None:
    with postgres_server() as database:
        database.stop()
        server = start_server(store, DATABASE_URL=database.url, MONITOR_INTERVAL_SECONDS="1")
        wait_for(server.port, "/readyz", 200)
        ids = [
            request(server.port, "POST", "/v1/predict", {"instances": [SETOSA]}).json()[
                "predictions"
            ][0]["id"]
            for _ in range(20)
        ]
        assert metric(server.port, "prediction_log_up") == 0
        database.start()
        wait_until(lambda: accounted(server.port)[0] >= len(ids), 60, "writing the rows queued")
        feedback = [{"id": prediction_id, "actual": "setosa"} for prediction_id in ids]
        stored = request(server.port, "POST", "/v1/feedback", {"feedback": feedback}).json()
    warnings = [line for line in server.lines() if "out of reach" in line["message"]]
    say(
        pytestconfig,
        "faults: postgresql down at start",
        f"ready with the database down; 20 predictions answered, written once it was up; "
        f"feedback for them: {stored['stored']} stored; warnings logged: {len(warnings)}",
    )
    assert stored["stored"] == len(ids)
    assert all(line["level"] == "WARNING" for line in warnings)
    assert not [line for line in server.lines() if "Traceback" in json.dumps(line)]


def test_a_stop_while_the_database_is_locked_counts_what_it_could_not_write(
    start_server: Callable[..., Server],
    store: Path,
    tmp_path: Path,
    pytestconfig: pytest.Config,
) -> None:
    log_file = tmp_path / "log.sqlite3"
    server = start_server(store, DATABASE_URL=f"sqlite:///{log_file}", GRACEFUL_TIMEOUT="4")
    wait_for(server.port, "/readyz", 200)
    load = Load(server.port, clients=4).start()
    time.sleep(1)
    lock = sqlite3.connect(log_file, timeout=30, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # another process holds the database: writes wait
    time.sleep(2)
    load.stop()
    total = answered(load)
    assert server.stop() == 0
    lock.execute("ROLLBACK")
    lock.close()
    with sqlite3.connect(log_file) as database:
        written = logged_records(database)
    counted = sum(
        line["records"] for line in server.lines() if line["message"] == SHUT_DOWN_UNWRITTEN
    )
    say(
        pytestconfig,
        "faults: SIGTERM with the database locked",
        f"{total} predictions answered 200; {written} rows in the log, {counted} counted as "
        f"dropped (shutdown), {total - written - counted} lost",
    )
    assert written + counted == total


def test_a_killed_worker_loses_at_most_its_queue(
    start_server: Callable[..., Server], store: Path, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    log_file = tmp_path / "log.sqlite3"
    server = start_server(store, DATABASE_URL=f"sqlite:///{log_file}")
    wait_for(server.port, "/readyz", 200)
    load = Load(server.port, clients=4).start()
    time.sleep(2)
    workers = [
        line["pid"] for line in server.lines() if line["message"].startswith("Booting worker")
    ]
    os.kill(workers[0], signal.SIGKILL)  # a worker started by this server, by its pid
    time.sleep(2)
    load.stop()
    total = answered(load)
    wait_until(lambda: sum(accounted(server.port)) + 10_000 >= total, 30, "the queues draining")
    time.sleep(2)
    with sqlite3.connect(log_file) as database:
        written = logged_records(database)
    dropped = accounted(server.port)[1]
    lost = total - written - dropped
    say(
        pytestconfig,
        "faults: kill -9 of a worker under load",
        f"{total} predictions answered 200 ({len(load.failures)} requests failed with the "
        f"connection); {written} rows in the log, {dropped:g} counted as dropped, {lost:g} lost "
        "(what the killed worker had queued)",
    )
    assert 0 <= lost <= 10_000  # at most PREDICTION_LOG_QUEUE_SIZE requests of one record


def test_workers_recycled_under_load_drop_no_connection(
    start_server: Callable[..., Server], store: Path, pytestconfig: pytest.Config
) -> None:
    """max_requests replaces each worker every few hundred requests here: the connections a
    stopping worker has accepted are served, not reset."""
    server = start_server(store, MAX_REQUESTS="300")
    wait_for(server.port, "/readyz", 200)
    load = Load(server.port).start()
    time.sleep(8)
    load.stop()
    boots = [line for line in server.lines() if line["message"].startswith("Booting worker")]
    say(
        pytestconfig,
        "faults: workers recycled every 300 requests",
        f"{len(load.received)} answers, {len(load.failures)} failed connections, "
        f"{len(boots)} workers booted",
    )
    assert len(boots) > 4
    assert load.failures == []
    assert {status for _, status, _, _ in load.received} == {200}


def test_kept_alive_connections_spread_over_the_workers_after_recycling(
    start_server: Callable[..., Server], store: Path, pytestconfig: pytest.Config
) -> None:
    """A recycled worker's clients reconnect while its successor starts: without balancing,
    the other worker keeps them all and its sibling sits idle until the next recycle."""
    server = start_server(store, MAX_REQUESTS="1500")
    wait_for(server.port, "/readyz", 200)
    load = Load(server.port).start()
    time.sleep(12)
    load.stop()
    seconds: dict[int, Counter[int]] = defaultdict(Counter)
    for line in server.lines():
        if line["message"] == "request" and line.get("path") == "/v1/predict":
            seconds[int(log_time(line))][line["pid"]] += 1
    busy = [counts for _, counts in sorted(seconds.items())[1:-1]]  # whole seconds only
    # A second in which two workers each served a tenth or more of the answers.
    shared = [
        counts
        for counts in busy
        if sum(n >= sum(counts.values()) / 10 for n in counts.values()) >= 2
    ]
    boots = sum(line["message"].startswith("Booting worker") for line in server.lines())
    say(
        pytestconfig,
        "faults: keep-alive connections after recycling",
        f"{len(load.received)} answers, {boots} workers booted; two workers served in "
        f"{len(shared)} of {len(busy)} seconds; {len(load.failures)} failed connections",
    )
    assert boots > 3  # each worker was recycled at least once
    assert load.failures == []
    assert len(shared) >= 0.75 * len(busy)


def test_feedback_right_after_its_prediction_is_stored_whichever_worker_it_reaches(
    start_server: Callable[..., Server], store: Path, pytestconfig: pytest.Config
) -> None:
    server = start_server(store, MONITOR_INTERVAL_SECONDS="1")
    wait_for(server.port, "/readyz", 200)
    load = Load(server.port, clients=2).start()  # keeps both workers' writers busy
    refused = []
    try:
        for _ in range(300):  # a new connection each: either worker may take either request
            prediction = request(server.port, "POST", "/v1/predict", {"instances": [SETOSA]})
            item = {"id": prediction.json()["predictions"][0]["id"], "actual": "setosa"}
            answer = request(server.port, "POST", "/v1/feedback", {"feedback": [item]}).json()
            refused += answer["rejected"]
    finally:
        load.stop()
    say(
        pytestconfig,
        "faults: feedback right after its prediction",
        f"300 pairs on new connections, 2 workers under load: {len(refused)} refused",
    )
    assert refused == []


@pytest.fixture(scope="module")
def slow_bake(
    bake: Callable[[Combo], Path],
    project_venv: Callable[[Path], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Installed:
    """The default bake, but its predict sleeps 5 s for a record whose first value is 99:
    a model that hangs now and then."""
    original = bake(DEFAULT)
    project = tmp_path_factory.mktemp("slow") / original.name  # the command's name
    shutil.copytree(original, project)
    predict = next(project.glob("src/*/model/predict.py"))
    source = predict.read_text()
    hang = (
        '    """Score a whole batch at once: one call into the model, one prediction per record."""\n'
        "    if any(99 in record.values() for record in instances):\n"
        "        import time\n\n"
        "        time.sleep(5)\n"
    )
    marker = '    """Score a whole batch at once: one call into the model, one prediction per record."""\n'
    assert marker in source
    predict.write_text(source.replace(marker, hang))
    python = project_venv(project) / "bin" / "python"
    return Installed.install(project, python, tmp_path_factory.mktemp("slow-site"))


def test_a_model_that_hangs_answers_504_and_the_worker_serves_on(
    slow_bake: Installed, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    store = tmp_path / "models"
    slow_bake.cli(store, "train-example")
    server = slow_bake.serve(store, tmp_path / "log.jsonl", PREDICT_TIMEOUT="1", TIMEOUT="10")
    try:
        wait_for(server.port, "/readyz", 200)
        started = time.monotonic()
        hung = request(
            server.port, "POST", "/v1/predict", {"instances": [{**SETOSA, "sepal_length": 99}]}
        )
        waited = time.monotonic() - started
        after = [
            request(server.port, "POST", "/v1/predict", {"instances": [SETOSA]}) for _ in range(20)
        ]
        time.sleep(5)  # any worker that were to die of the hang would be replaced by now
        boots = [line for line in server.lines() if line["message"].startswith("Booting worker")]
    finally:
        server.stop()
    say(
        pytestconfig,
        "faults: a model that hangs 5 s, PREDICT_TIMEOUT=1",
        f"the client got {hung.status} {hung.json()['error']['code']} after {waited:.2f} s; "
        f"the next 20 predictions: {sorted({a.status for a in after})}; workers booted: "
        f"{len(boots)} (2 at start, none replaced)",
    )
    assert hung.status == 504
    assert hung.json()["error"]["code"] == "prediction_timeout"
    assert 1 <= waited < 4
    assert {answer.status for answer in after} == {200}
    assert len(boots) == 2
