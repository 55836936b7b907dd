"""The prediction log, on SQLite and (with TEST_DATABASE_URL) on PostgreSQL: the same tests."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import (
    func,
    insert,
    inspect,
    select,
)

from {{ cookiecutter.package_name }}.monitoring import (
    log_migration,
    log_tables,
    prediction_log,
)
from {{ cookiecutter.package_name }}.monitoring.log_database import make_engine
from {{ cookiecutter.package_name }}.monitoring.log_tables import requests
from {{ cookiecutter.package_name }}.monitoring.prediction_ids import new_id_prefix
from {{ cookiecutter.package_name }}.monitoring.prediction_log import (
    ALREADY_LABELLED,
    UNKNOWN_ID,
    PredictionLog,
    ScoredBatch,
)

NOW = datetime.now(UTC)


def dropped(reason: str) -> float:
    labels = {"reason": reason}
    return REGISTRY.get_sample_value("prediction_log_dropped_records_total", labels) or 0.0


def rows(prefix: str, count: int, version: int = 1, at: datetime = NOW) -> ScoredBatch:
    """A request's predictions as the service queues them, ids ``<prefix>-<i>``."""
    return ScoredBatch.encode(
        id_prefix=prefix,
        created_at=at,
        model_name="test",
        model_version=version,
        request_id=prefix,
        latency_ms=1.5,
        instances=[{"x": float(index)} for index in range(count)],
        outputs=[{"label": "a"} for _ in range(count)],
    )


@pytest.fixture
def log(database_url: str) -> Iterator[PredictionLog]:
    log = PredictionLog(database_url, queue_size=100)
    log.create_schema()
    yield log
    log.close()


def test_a_large_gathering_of_rows_is_written_whole(log: PredictionLog) -> None:
    # More rows than one transaction takes, and than one SQLite statement holds.
    for batch in range(12):
        log.record(rows(f"big{batch}", 1_000))
    assert log.flush()
    assert log.counts(NOW - timedelta(minutes=1)) == {1: 12_000}


def test_the_schema_is_created_once_and_creating_it_again_changes_nothing(
    database_url: str,
) -> None:
    first = PredictionLog(database_url)
    first.create_schema()
    first.record(rows("r", 2))
    first.flush()
    again = PredictionLog(database_url)
    again.create_schema()
    tables = set(inspect(again.engine).get_table_names())
    assert {"prediction_requests", "prediction_outcomes"} <= tables
    assert again.counts(NOW - timedelta(minutes=1)) == {1: 2}
    first.close()
    again.close()


def test_predictions_are_written_and_read_back_by_version_and_time(log: PredictionLog) -> None:
    log.record(rows("old", 3, version=1, at=NOW - timedelta(hours=2)))
    log.record(rows("new", 4, version=1))
    log.record(rows("two", 5, version=2))
    assert log.flush()
    since = NOW - timedelta(hours=1)
    assert log.counts(since) == {1: 4, 2: 5}
    assert log.counts(NOW - timedelta(hours=3)) == {1: 7, 2: 5}
    assert sorted(r["x"] for r in log.recent_inputs(1, since)) == [0.0, 1.0, 2.0, 3.0]
    assert len(log.recent_inputs(2, since, limit=2)) == 2
    assert log.recent_inputs(1, since, until=NOW - timedelta(minutes=30)) == []


def test_feedback_is_stored_once_per_prediction_and_unknown_ids_are_refused(
    log: PredictionLog,
) -> None:
    log.record(rows("p", 3))
    log.flush()
    problems = log.add_feedback([("p-0", "a"), ("nope", "a"), ("p-1", "b"), ("p-1", "a")])
    assert problems == {1: UNKNOWN_ID, 3: ALREADY_LABELLED}
    assert log.add_feedback([("p-0", "b"), ("p-2", "a")]) == {0: ALREADY_LABELLED}
    labelled = sorted(log.labelled(NOW - timedelta(minutes=1)), key=lambda row: row[2])
    assert [actual for _, _, actual in labelled] == ["a", "a", "b"]
    assert all(row[:2] == (1, {"label": "a"}) for row in labelled)


def test_feedback_may_follow_its_prediction_at_once(log: PredictionLog) -> None:
    log.record(rows("fresh", 1))  # still queued, or being written
    assert log.add_feedback([("fresh-0", "a")]) == {}


def test_an_overlong_or_empty_id_is_unknown_not_an_error(log: PredictionLog) -> None:
    assert log.add_feedback([("x" * 500, "a")]) == {0: UNKNOWN_ID}


def test_a_full_queue_drops_rows_and_counts_them_without_blocking(
    log: PredictionLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database stalls (the writer is held): requests go on, and what overflows is counted."""
    release, writing = threading.Event(), threading.Event()
    small = PredictionLog(log.url, queue_size=1)
    write = small._write

    def stalled_write(batch: list[dict[str, Any]]) -> None:  # the rows of requests
        writing.set()
        release.wait(10)
        write(batch)

    monkeypatch.setattr(small, "_write", stalled_write)
    before = dropped("queue_full")
    small.record(rows("a", 2))  # taken by the writer, which stalls
    assert writing.wait(10)
    small.record(rows("b", 3))  # fills the queue
    small.record(rows("c", 4))  # no room: dropped
    assert dropped("queue_full") == before + 4
    release.set()
    small.close()
    assert log.counts(NOW - timedelta(minutes=1)) == {1: 5}


def test_a_failed_write_is_counted_and_the_writer_goes_on(
    log: PredictionLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prediction_log, "WRITE_ATTEMPTS", 1)
    log.record(rows("dup", 1))
    log.flush()
    before = dropped("write_failed")
    log.record(rows("dup", 1))  # the same ids again: the database refuses the row
    log.record(rows("next", 2))  # written with it, so refused with it
    log.flush()
    assert dropped("write_failed") == before + 3
    log.record(rows("after", 2))
    log.flush()
    assert log.counts(NOW - timedelta(minutes=1)) == {1: 3}


def test_close_writes_what_is_queued(database_url: str) -> None:
    log = PredictionLog(database_url)
    log.create_schema()
    for batch in range(20):
        log.record(rows(f"b{batch}", 10))
    log.close()
    reader = PredictionLog(database_url)
    assert reader.counts(NOW - timedelta(minutes=1)) == {1: 200}
    reader.close()


def test_the_sqlite_log_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """It holds every input the service was sent."""
    new, existing = tmp_path / "new.sqlite3", tmp_path / "existing.sqlite3"
    existing.touch(mode=0o644)
    os.chmod(existing, 0o644)
    for path in (new, existing):
        log = PredictionLog(f"sqlite:///{path}")
        assert log.create_schema()
        log.close()
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, path
    assert stat.S_IMODE(new.stat().st_mode) == 0o600


def test_a_request_is_one_row_and_its_records_are_read_back_one_by_one(
    log: PredictionLog,
) -> None:
    for batch in range(3):
        log.record(rows(f"req{batch}", 40))
    assert log.flush()
    with log.engine.connect() as connection:
        written = connection.execute(select(func.count()).select_from(requests)).scalar()
    assert written == 3
    since = NOW - timedelta(minutes=1)
    assert log.counts(since) == {1: 120}
    assert len(log.recent_inputs(1, since)) == 120
    assert len(log.recent_inputs(1, since, limit=50)) == 50  # cut inside a request's row


def test_a_prediction_id_names_one_record_of_its_request(log: PredictionLog) -> None:
    log.record(rows("q", 3))
    assert log.flush()
    ids = ["q-3", "q-01", "q-+1", "q-1.0", "q-", "-1", "q-1"]
    problems = log.add_feedback([(prediction_id, "a") for prediction_id in ids])
    assert problems == dict.fromkeys(range(6), UNKNOWN_ID)  # only q-1 names a record
    assert log.add_feedback([("q-1", "b")]) == {0: ALREADY_LABELLED}
    assert [actual for _, _, actual in log.labelled(NOW - timedelta(minutes=1))] == ["a"]


def test_a_log_of_rows_per_record_is_moved_to_rows_per_request(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_migration, "MIGRATE_ROWS_AT_ONCE", 4)  # moved in several parts
    engine = make_engine(database_url)
    first, second = new_id_prefix(), new_id_prefix()
    ids = [(first, index, 1) for index in range(12)] + [(second, index, 2) for index in range(3)]
    ids.append(("not-issued-here", 0, 1))  # an id no request of this service has: dropped
    with engine.begin() as connection:
        # The log as it was written before a request became one row: a row per record.
        log_tables.per_record_schema.create_all(connection)
        connection.execute(
            insert(log_tables.per_record_predictions),
            [
                {
                    "id": f"{prefix}-{index}",
                    "created_at": NOW,
                    "model_name": "test",
                    "model_version": version,
                    "request_id": prefix,
                    "inputs": {"x": float(index)},
                    "output": {"label": f"l{index}"},
                    "latency_ms": 1.0,
                }
                for prefix, index, version in ids
            ],
        )
        connection.execute(
            insert(log_tables.per_record_feedback),
            [{"prediction_id": f"{first}-10", "actual": "l10", "received_at": NOW}],
        )
    engine.dispose()
    log = PredictionLog(database_url)
    assert log.create_schema()
    tables = set(inspect(log.engine).get_table_names())
    assert not {"prediction_log", "prediction_feedback"} & tables
    since = NOW - timedelta(minutes=1)
    assert log.counts(since) == {1: 12, 2: 3}
    assert sorted(record["x"] for record in log.recent_inputs(1, since)) == [
        float(index) for index in range(12)
    ]
    assert log.labelled(since) == [(1, {"label": "l10"}, "l10")]
    assert log.add_feedback([(f"{first}-10", "l10"), (f"{second}-2", "l2")]) == {
        0: ALREADY_LABELLED
    }
    assert len(log.labelled(since)) == 2
    log.close()
    again = PredictionLog(database_url)  # nothing left to move: nothing changes
    assert again.create_schema()
    assert again.counts(since) == {1: 12, 2: 3}
    again.close()
