"""Background threads take their turns between requests, and neither side waits for ever."""

from __future__ import annotations

import threading
import time

import pytest
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.server import turns as turns_module
from {{ cookiecutter.package_name }}.server.turns import Turns, turns


def _take_turn_in_a_thread(turns_: Turns, events: list[str], hold: float = 0.0) -> threading.Thread:
    def work() -> None:
        with turns_.turn():
            events.append("turn began")
            time.sleep(hold)
            events.append("turn ended")

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_a_turn_asked_during_a_request_runs_after_it_and_before_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(turns_module, "MAX_HOLD_SECONDS", 5.0)  # longer than the turn
    turns_ = Turns()
    events: list[str] = []
    turns_.request_started()
    thread = _take_turn_in_a_thread(turns_, events, hold=0.05)
    time.sleep(0.1)
    assert events == []  # the request still runs: the background thread waits
    turns_.request_finished()  # lets the turn run, and returns once it ended
    events.append("next request")
    thread.join(timeout=5)
    assert events == ["turn began", "turn ended", "next request"]


def test_with_no_request_running_a_turn_starts_at_once() -> None:
    turns_ = Turns()
    events: list[str] = []
    _take_turn_in_a_thread(turns_, events).join(timeout=5)
    assert events == ["turn began", "turn ended"]


def test_a_request_that_never_ends_delays_a_turn_only_so_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(turns_module, "MAX_WAIT_SECONDS", 0.2)
    turns_ = Turns()
    events: list[str] = []
    turns_.request_started()  # and never finished
    started = time.monotonic()
    _take_turn_in_a_thread(turns_, events).join(timeout=5)
    assert events == ["turn began", "turn ended"]
    assert time.monotonic() - started >= 0.2


def test_a_turn_that_never_ends_delays_the_requests_only_so_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(turns_module, "MAX_HOLD_SECONDS", 0.2)
    turns_ = Turns()
    release = threading.Event()
    holding = threading.Event()

    def hang() -> None:
        with turns_.turn():
            holding.set()
            release.wait(timeout=30)

    thread = threading.Thread(target=hang)
    thread.start()
    holding.wait(timeout=5)
    turns_.request_started()
    started = time.monotonic()
    turns_.request_finished()
    waited = time.monotonic() - started
    release.set()
    thread.join(timeout=5)
    assert 0.2 <= waited < 5


def test_the_app_counts_each_request_until_its_answer_is_read(client: FlaskClient) -> None:
    before = turns._requests
    answer = client.get("/livez")
    assert turns._requests == before + 1  # the body is not read yet
    assert answer.status_code == 200
    assert answer.get_json()
    assert turns._requests == before
    client.post("/v1/predict", data=b"{", content_type="application/json").get_data()
    client.get("/no-such-route").get_data()
    assert turns._requests == before
