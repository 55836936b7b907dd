"""A deadline on the model: a client waits at most PREDICT_TIMEOUT seconds for a prediction.

In a worker's own thread (THREADS=1, the default; the CLI and the tests too) a timer signal
stops the prediction: ``setitimer`` arms SIGALRM for the deadline, and its handler raises into
the prediction wherever its Python code is, the way a job queue's timeout (RQ's) stops a job.
Arming and disarming cost two system calls; handing each prediction to another thread and
waiting for it cost about 100 microseconds (the switches of the GIL, a cold cache) and, under
load, a quarter of the throughput (benchmarks/compare.py). The request answers 504
``prediction_timeout`` and the worker goes on to the next. Signals are handled between Python
bytecodes, so a prediction inside one long call into a native library stops only once that call
returns; if that takes longer than TIMEOUT, gunicorn replaces the worker.

No signal reaches other threads (THREADS above 1, or a timer someone else holds, such as a test
runner's), so there the prediction runs in a thread of a small pool while the request's thread
waits for it. Past the deadline the request answers 504 and goes on; the prediction cannot be
stopped from outside (no thread can), so it finishes in the pool and its answer is dropped. A
model that is always slow fills the pool, and later requests time out too, at once: the
service stays responsive and says why.
"""

from __future__ import annotations

import contextvars
import os
import queue
import signal
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


class _Expired(BaseException):
    """Raised by the timer's signal into the prediction. Not an Exception, so that a model's own
    ``except Exception`` cannot swallow it and go on past the deadline."""


#: A prediction under the timer is running in this process's main thread.
_timed = False


def _on_timer(_signal: int, _frame: object) -> None:
    global _timed
    if _timed:  # a timer that fires just as its prediction returns changes nothing
        _timed = False
        raise _Expired


def _timer_is_ours() -> bool:
    """Whether this thread can be stopped by SIGALRM, taking the signal over if no one holds it."""
    if threading.current_thread() is not threading.main_thread():
        return False  # signals reach only the main thread's Python code
    current = signal.getsignal(signal.SIGALRM)
    if current is not _on_timer:
        if current is not signal.SIG_DFL:
            return False  # someone else's timer: leave it alone
        signal.signal(signal.SIGALRM, _on_timer)
    return True


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
    """Runs calls with at most ``seconds`` to finish; 0 runs them with no deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._calls: queue.SimpleQueue[_Call[Any]] = queue.SimpleQueue()
        self._pool_pid: int | None = None
        self._lock = threading.Lock()

    def run(self, function: Callable[..., Result], *args: object) -> Result:
        """``function(*args)``, or DeadlineExceededError once ``seconds`` have passed."""
        if not self.seconds:
            return function(*args)
        if _timer_is_ours():
            return self._run_under_timer(function, args)
        return self._run_in_pool(function, args)

    def _run_under_timer(self, function: Callable[..., Result], args: tuple[object, ...]) -> Result:
        global _timed
        try:
            _timed = True
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            try:
                return function(*args)
            finally:
                _timed = False  # first: from here on the timer changes nothing
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _Expired:
            raise DeadlineExceededError(self.seconds) from None

    def _run_in_pool(self, function: Callable[..., Result], args: tuple[object, ...]) -> Result:
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
