"""Background threads take their turn between requests, not during one.

A worker's background threads (the prediction log's writer, the registry's watcher) share
the GIL with the request being served. A model that lets the GIL go many times per
prediction (a random forest does at each tree) hands it to a waiting background thread each
time, and each time takes it back only after a wait: measured on a 100-tree forest, the
writer's CPU grew from 0.5 to 25 ms per transaction, and each request took about 2 ms longer
(30% of the forest's own time).

So a background thread asks for a turn: at once while no request runs; otherwise it waits
until the running requests end, and the request path, before it takes the next one, waits
for the turn to end. Both waits are bounded (a database that hangs must not stop the
requests, nor a stream of requests the writer): past them, both run at once, as without turns.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

#: Longest a background thread waits for the running requests to end before it goes anyway.
MAX_WAIT_SECONDS = 0.25
#: Longest the request path waits for a background thread's turn to end.
MAX_HOLD_SECONDS = 0.05


class Turns:
    """Who runs now: requests, or one background thread's short piece of work."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start afresh: in a forked child, whose copy of the lock may be held by a thread that
        was not copied."""
        self._changed = threading.Condition()
        self._requests = 0  # requests running now
        self._asking = 0  # background threads waiting for their turn
        self._holding = 0  # background threads taking their turn now

    def request_started(self) -> None:
        with self._changed:
            self._requests += 1

    def request_finished(self) -> None:
        """Let the background threads waiting for a turn take it, then go on."""
        with self._changed:
            self._requests = max(0, self._requests - 1)
            if self._requests or not (self._asking or self._holding):
                return
            self._changed.notify_all()
            deadline = time.monotonic() + MAX_HOLD_SECONDS
            while self._asking or self._holding:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(left)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Run the ``with`` block between requests (or after MAX_WAIT_SECONDS anyway)."""
        with self._changed:
            if self._requests:
                self._asking += 1
                try:
                    self._changed.wait_for(lambda: not self._requests, MAX_WAIT_SECONDS)
                finally:
                    self._asking -= 1
            self._holding += 1
        try:
            yield
        finally:
            with self._changed:
                self._holding -= 1
                self._changed.notify_all()

    def wrap(self, wsgi_app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        """``wsgi_app`` counted as a request from its call until its answer is sent."""

        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            self.request_started()
            try:
                answer = wsgi_app(environ, start_response)
            except BaseException:
                self.request_finished()
                raise
            return _CountedAnswer(answer, self.request_finished)

        return counted


class _CountedAnswer:
    """An answer's body; its request ends when the body is read to its end or closed.

    Both, because a server closes the body once it is sent, and a test client reads it but
    need not close it: either way the request is counted once.
    """

    def __init__(self, body: Iterable[bytes], on_end: Callable[[], None]) -> None:
        self._body = body
        self._on_end: Callable[[], None] | None = on_end

    def __iter__(self) -> Iterator[bytes]:
        yield from self._body
        self._end()

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._end()

    def _end(self) -> None:
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end()


#: This process's turns: the app counts its requests, background threads ask for turns.
turns = Turns()
os.register_at_fork(after_in_child=turns.reset)
