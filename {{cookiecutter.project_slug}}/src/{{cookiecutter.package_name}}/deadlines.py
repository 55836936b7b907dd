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
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import TypeVar

#: Predictions running at once in one worker, slow ones included.
POOL_THREADS = 8

Result = TypeVar("Result")


class DeadlineExceededError(Exception):
    """The call did not finish within ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g} s")
        self.seconds = seconds


class Deadline:
    """Runs calls with at most ``seconds`` to finish; 0 runs them in the caller's thread."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid: int | None = None
        self._lock = threading.Lock()

    def run(self, function: Callable[..., Result], *args: object) -> Result:
        """``function(*args)``, or DeadlineExceededError once ``seconds`` have passed."""
        if not self.seconds:
            return function(*args)
        # The request's context (its id and model version, for log lines) goes along.
        context = contextvars.copy_context()
        future = self._threads().submit(context.run, function, *args)
        try:
            return future.result(timeout=self.seconds)
        except FutureTimeoutError:
            future.cancel()  # if it has not started, it never will
            raise DeadlineExceededError(self.seconds) from None

    def _threads(self) -> ThreadPoolExecutor:
        # Threads do not survive a fork: each worker makes its own pool.
        if self._pool_pid != os.getpid():
            with self._lock:
                if self._pool_pid != os.getpid():
                    self._pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="predict")
                    self._pool_pid = os.getpid()
        assert self._pool is not None
        return self._pool
