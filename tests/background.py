"""Long jobs (a bake's whole suite, say) run in background threads while tests wait for each.

Each such job keeps about one core busy, and the machines have two: two at once halve the
wait. Jobs that make a cached venv or start a server on a free port do it under ``SETUP``, one
at a time (two at once into one venv would collide).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

#: Held while a job makes a venv or starts a server.
SETUP = threading.Lock()
#: Jobs at once: the machines have two cores.
AT_ONCE = 2


@contextmanager
def in_background(jobs: Mapping[str, Callable[[], T]]) -> Iterator[dict[str, Future[T]]]:
    """Start every job now, AT_ONCE at a time, in the given order; each name's future.

    Leaving the block waits for the running jobs; a stopped run (a failure with -x, Ctrl-C)
    does not start those left."""
    with ThreadPoolExecutor(max_workers=AT_ONCE, thread_name_prefix="background") as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        try:
            yield futures
        finally:
            for future in futures.values():
                future.cancel()
