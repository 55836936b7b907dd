"""A slow model: the client gets 504 after PREDICT_TIMEOUT, the service goes on serving."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.service import inference
from {{ cookiecutter.package_name }}.service.deadlines import (
    Deadline,
    DeadlineExceededError,
)


@pytest.fixture
def slow_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], threading.Event]]:
    """Call it to make every prediction from then on wait until the event it returns is set
    (at the latest at the end of the test)."""
    release = threading.Event()
    fast = inference.predict

    def predict(model: Any, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
        release.wait(timeout=30)
        return fast(model, instances)

    def slow_down() -> threading.Event:
        monkeypatch.setattr(inference, "predict", predict)
        return release

    yield slow_down
    release.set()


def test_a_slow_prediction_is_a_504_after_predict_timeout(
    make_app: Callable[..., Flask],
    instance: dict[str, Any],
    slow_model: Callable[[], threading.Event],
) -> None:
    client = make_app(PREDICT_TIMEOUT="0.3").test_client()  # loaded and warmed up: fast
    release = slow_model()
    labels = {
        "endpoint": "/v1/predict",
        "method": "POST",
        "status": "504",
        "model_version": "1",
        "protocol": "native",
    }
    before = REGISTRY.get_sample_value("http_requests_total", labels) or 0
    started = time.monotonic()
    response = client.post("/v1/predict", json={"instances": [instance]})
    waited = time.monotonic() - started
    assert response.status_code == 504
    error = response.get_json()["error"]
    assert error["code"] == "prediction_timeout"
    assert "PREDICT_TIMEOUT" in error["message"]
    assert response.get_json()["request_id"] == response.headers["X-Request-ID"]
    assert 0.3 <= waited < 10  # the deadline, not the model's 30 s
    assert REGISTRY.get_sample_value("http_requests_total", labels) == before + 1
    release.set()  # the model is fast again: the service answers as before
    assert client.post("/v1/predict", json={"instances": [instance]}).status_code == 200


def test_the_call_runs_with_the_request_s_context() -> None:
    from {{ cookiecutter.package_name }}.service.logs import request_id_var

    token = request_id_var.set("abc")
    try:
        assert Deadline(5).run(request_id_var.get) == "abc"
    finally:
        request_id_var.reset(token)


def test_no_deadline_runs_in_the_caller_s_thread() -> None:
    assert Deadline(0).run(threading.get_ident) == threading.get_ident()
    with pytest.raises(DeadlineExceededError, match=r"no answer within 0\.05 s"):
        Deadline(0.05).run(time.sleep, 1)


def test_the_timer_stops_a_model_that_catches_every_exception() -> None:
    def stubborn() -> str:
        try:
            time.sleep(2)
        except Exception:  # a model's own error handling must not outlast the deadline
            return "swallowed"
        return "slept"

    started = time.monotonic()
    with pytest.raises(DeadlineExceededError):
        Deadline(0.05).run(stubborn)
    assert time.monotonic() - started < 1
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # disarmed
    assert Deadline(0.05).run(threading.get_ident) == threading.get_ident()  # in this thread


def _in_a_thread(function: Callable[[], Any]) -> Any:
    """What ``function`` returns or raises, called in a thread other than the main one."""
    outcome: list[Any] = []

    def call() -> None:
        try:
            outcome.append(function())
        except Exception as error:
            outcome.append(error)

    thread = threading.Thread(target=call)
    thread.start()
    thread.join(timeout=10)
    return outcome[0]


def test_other_threads_keep_the_deadline_with_the_pool() -> None:
    deadline = Deadline(0.05)
    assert _in_a_thread(lambda: deadline.run(lambda: threading.current_thread().name)).startswith(
        "predict_"
    )
    assert isinstance(_in_a_thread(lambda: deadline.run(time.sleep, 1)), DeadlineExceededError)


def test_a_timer_someone_else_holds_is_left_alone() -> None:
    def theirs(_signal: int, _frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGALRM, theirs)
    try:
        name = Deadline(5).run(lambda: threading.current_thread().name)
        assert name.startswith("predict_")  # the pool, not the signal
        assert signal.getsignal(signal.SIGALRM) is theirs
    finally:
        signal.signal(signal.SIGALRM, previous)
