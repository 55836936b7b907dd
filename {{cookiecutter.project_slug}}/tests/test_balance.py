"""The workers' shared board of connection counts, and what each worker decides from it."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from {{ cookiecutter.package_name }}.server import balance
from {{ cookiecutter.package_name }}.server.balance import Board, Share


@pytest.fixture
def board() -> Board:
    return Board(slots=8)


def test_a_worker_accepts_only_while_no_sibling_holds_fewer(board: Board) -> None:
    mine, sibling = Share(1, board), Share(2, board)
    assert mine.may_accept(5)  # alone on the board: nothing to compare with
    sibling.publish(3)
    mine._looked_at = -1.0  # look again now, not LOOK_EVERY_SECONDS later
    assert mine.may_accept(3)
    assert not mine.may_accept(4)


def test_a_worker_two_above_its_least_loaded_sibling_ends_one_connection_at_a_time(
    board: Board,
) -> None:
    mine, sibling = Share(1, board), Share(2, board)
    sibling.publish(2)
    assert not mine.should_end_one(3)
    assert mine.should_end_one(4)
    assert not mine.should_end_one(4)  # at most one per LOOK_EVERY_SECONDS


def test_a_stale_or_departed_sibling_does_not_count(
    board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, stuck, gone = Share(1, board), Share(2, board), Share(3, board)
    stuck.publish(0)
    gone.publish(0)
    gone.leave()
    now = balance.time.monotonic()
    monkeypatch.setattr(balance.time, "monotonic", lambda: now + balance.STALE_SECONDS + 1)
    assert board.fewest_elsewhere(1) is None
    assert mine.may_accept(100)
    assert not mine.should_end_one(100)


def test_slots_wrap_around_and_name_their_writer(board: Board) -> None:
    Share(9, board).publish(7)  # slot 9 of 8 is slot 1
    assert board.fewest_elsewhere(2) == 7
    assert board.fewest_elsewhere(1) is None
    pid, connections, _ = balance._SLOT.unpack_from(board._memory, 1 * balance._SLOT.size)
    assert (pid, connections) == (os.getpid(), 7)


def test_a_killed_siblings_last_count_does_not_count(board: Board) -> None:
    """SIGKILL leaves no time to clear the slot: the process being gone is enough."""
    dead = subprocess.Popen(["true"])
    dead.wait()  # reaped: its pid names no process now
    balance._SLOT.pack_into(board._memory, 3 * balance._SLOT.size, dead.pid, 0, time.monotonic())
    assert board.fewest_elsewhere(1) is None
    assert Share(1, board).may_accept(10)
