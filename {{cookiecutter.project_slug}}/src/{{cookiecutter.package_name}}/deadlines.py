"""A deadline on the model: a client waits at most PREDICT_TIMEOUT seconds for a prediction.

The prediction runs in a thread of a small pool while the request's thread waits for it. Past
the deadline the request answers 504 ``prediction_timeout`` and goes on to the next; the
prediction cannot be stopped from outside (no thread can), so it finishes in the pool and its
answer is dropped. A model that is always slow fills the pool, and later requests time out
too, at once: the service stays responsive and says why.

gunicorn's TIMEOUT is another matter: it replaces a worker whose event loop stopped, which only
a prediction that holds the GIL without a break can cause (a long call into a C library that
does not release it). Such a worker's clients see their connections close.
"""

from __future__ import annotations

import contextvars
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

#: Predictions running at once in one worker, slow ones included.
POOL_THREADS = 8

Result = TypeVar("Result")


class DeadlineExceededError(Exception):
    """The call did not finish within ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g} s")
        self.seconds = seconds


class _Call(Generic[Result]):
    """One call handed to the pool: the caller waits on ``done``, a lock the pool releases.

    A lock and a C queue, not concurrent.futures: its futures and condition variables cost
    twice as much per hand-off (measured: 66 against 36 microseconds of CPU for an empty call),
    and the hand-off is paid by every prediction.
    """

    def __init__(self, function: Callable[..., Result], args: tuple[object, ...]) -> None:
        # The request's context (its id and model version, for log lines) goes along.
        self.context = contextvars.copy_context()
        self.function = function
        self.args = args
        self.done = threading.Lock()
        self.done.acquire()
        self.abandoned = False  # set by a caller who stopped waiting: not started, never run
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if not self.abandoned:
                self.result = self.context.run(self.function, *self.args)
        except BaseException as error:  # handed to the caller, raised there
            self.error = error
        finally:
            self.done.release()


class Deadline:
    """Runs calls with at most ``seconds`` to finish; 0 runs them in the caller's thread."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._calls: queue.SimpleQueue[_Call[Any]] = queue.SimpleQueue()
        self._pool_pid: int | None = None
        self._lock = threading.Lock()

    def run(self, function: Callable[..., Result], *args: object) -> Result:
        """``function(*args)``, or DeadlineExceededError once ``seconds`` have passed."""
        if not self.seconds:
            return function(*args)
        self._start_pool()
        call: _Call[Result] = _Call(function, args)
        self._calls.put(call)
        if not call.done.acquire(timeout=self.seconds):
            call.abandoned = True  # if it has not started, it never will
            raise DeadlineExceededError(self.seconds)
        if call.error is not None:
            raise call.error
        return call.result

    def _start_pool(self) -> None:
        # Threads do not survive a fork: each worker starts its own, on its first call.
        if self._pool_pid == os.getpid():
            return
        with self._lock:
            if self._pool_pid == os.getpid():
                return
            self._calls = queue.SimpleQueue()  # calls queued before a fork are not ours
            for number in range(POOL_THREADS):
                name = f"predict_{number}"
                threading.Thread(target=self._serve, name=name, daemon=True).start()
            self._pool_pid = os.getpid()

    def _serve(self) -> None:
        calls = self._calls
        while True:
            calls.get().run()
