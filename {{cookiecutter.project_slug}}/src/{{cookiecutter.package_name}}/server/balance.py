"""Keep-alive connections spread evenly over the workers, whatever happened to them before.

A kept-alive connection stays on the worker that accepted it, and a load balancer keeps its
connections alive for hours. When a worker is recycled (MAX_REQUESTS) its clients reconnect
while its successor is still starting, so the other workers take them all, and keep them: in
``benchmarks/compare.py`` 100-record requests ran at 493 req/s with recycling and 728 without,
at the same CPU per request, because one worker served every connection and the other sat idle.

So the workers share a board (shared memory the master maps before it forks them): each writes
how many connections it holds. A worker holding more than the least loaded live worker stops
accepting (a reconnecting client goes to one with fewer), and one holding two or more above it
ends a connection at the next answer with ``Connection: close``: the client reconnects, and
is accepted by a worker with fewer. An answer is never cut: the client is told before it sends
its next request on that connection. A worker that has not written for STALE_SECONDS (stuck)
or whose process is gone is not counted, so it never stops the others accepting.
"""

from __future__ import annotations

import mmap
import os
import struct
import time

#: Workers tracked at once (by spawn order): far more than one machine runs.
SLOTS = 256
#: A slot not written for this long is not a live worker's (its loop writes at least once a
#: second).
STALE_SECONDS = 2.0
#: How often a worker reads the others' counts, and ends at most one connection.
LOOK_EVERY_SECONDS = 0.05
_SLOT = struct.Struct("qqd")  # pid, connections, when written (CLOCK_MONOTONIC: system-wide)


class Board:
    """How many connections each worker holds, in memory shared by the master's children."""

    def __init__(self, slots: int = SLOTS) -> None:
        self.slots = slots
        self._memory = mmap.mmap(-1, slots * _SLOT.size)  # anonymous and shared: kept by fork

    def write(self, slot: int, connections: int) -> None:
        _SLOT.pack_into(
            self._memory,
            (slot % self.slots) * _SLOT.size,
            os.getpid(),
            connections,
            time.monotonic(),
        )

    def clear(self, slot: int) -> None:
        _SLOT.pack_into(self._memory, (slot % self.slots) * _SLOT.size, 0, 0, 0.0)

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections a live worker other than ``slot``'s holds; None if none."""
        fewest = None
        now = time.monotonic()
        mine = slot % self.slots
        for index, (pid, connections, written) in enumerate(_SLOT.iter_unpack(self._memory)):
            if index == mine or pid == 0 or now - written > STALE_SECONDS or not _alive(pid):
                continue
            if fewest is None or connections < fewest:
                fewest = connections
        return fewest


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists: a worker killed outright (SIGKILL, the OOM killer)
    leaves its last count behind, and must not hold the others back meanwhile."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: The board of this master's workers: made at import, which happens in the master.
board = Board()


class Share:
    """One worker's view of the board: whether to accept, whether to end a connection."""

    def __init__(self, slot: int, board: Board = board) -> None:
        self.slot = slot
        self.board = board
        self._looked_at = -LOOK_EVERY_SECONDS
        self._fewest: int | None = None
        self._ended_at = -LOOK_EVERY_SECONDS

    def publish(self, connections: int) -> None:
        self.board.write(self.slot, connections)

    def leave(self) -> None:
        self.board.clear(self.slot)

    def _fewest_elsewhere(self) -> int | None:
        now = time.monotonic()
        if now - self._looked_at >= LOOK_EVERY_SECONDS:
            self._looked_at = now
            self._fewest = self.board.fewest_elsewhere(self.slot)
        return self._fewest

    def may_accept(self, connections: int) -> bool:
        """False while another live worker holds fewer connections."""
        fewest = self._fewest_elsewhere()
        return fewest is None or connections <= fewest

    def should_end_one(self, connections: int) -> bool:
        """True (at most once per LOOK_EVERY_SECONDS) if this worker holds two or more
        connections above the least loaded live worker."""
        fewest = self._fewest_elsewhere()
        now = time.monotonic()
        if fewest is None or connections < fewest + 2 or now - self._ended_at < LOOK_EVERY_SECONDS:
            return False
        self._ended_at = now
        return True
