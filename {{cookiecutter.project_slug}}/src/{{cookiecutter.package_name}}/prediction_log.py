"""The prediction log: every prediction and every feedback, through SQLAlchemy.

SQLite (in WAL mode, so workers read while one writes) by default, in the model store;
PostgreSQL or another database when DATABASE_URL names one: the same code for both. The schema
is created at start-up.

Predictions are written off the request path: a request puts its rows on a bounded queue and a
thread of each worker writes what has gathered in one transaction. A full queue (the database
is slower than the traffic) drops the rows and counts them in
``prediction_log_dropped_records_total``, rather than slowing every request. ``close()`` writes
what is queued; gunicorn's worker_exit hook calls it on a graceful stop.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from .metrics import PREDICTION_LOG_DROPPED, PREDICTION_LOG_WRITTEN

logger = logging.getLogger(__name__)

#: Longest prediction id the log holds (ids are 32 hex digits, a dash and the record's index).
ID_LENGTH = 64
#: Most rows written in one transaction.
WRITE_BATCH_ROWS = 5_000
#: A failed write is tried this many times, with growing pauses, before its rows are dropped.
WRITE_ATTEMPTS = 3
UNKNOWN_ID = "Unknown prediction id: no prediction with this id is in the prediction log."
ALREADY_LABELLED = "This prediction already has feedback; it is kept as first given."


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in Python, stored as naive UTC: identical in SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


schema = MetaData()
predictions = Table(
    "prediction_log",
    schema,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("model_name", String(128), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("output", JSON, nullable=False),
    #: The whole request's time in the service, shared by the records of a batch.
    Column("latency_ms", Float, nullable=False),
)
feedback = Table(
    "prediction_feedback",
    schema,
    Column("prediction_id", String(ID_LENGTH), ForeignKey(predictions.c.id), primary_key=True),
    Column("actual", JSON, nullable=False),
    Column("received_at", UTCDateTime, nullable=False, index=True),
)


def _tune_sqlite(connection: Any, _record: Any) -> None:
    # WAL lets readers (feedback, drift) work while a worker writes; NORMAL sync is safe in WAL
    # and avoids an fsync per transaction.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a shared busy timeout and its folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    event.listen(engine, "connect", _tune_sqlite)
    return engine


def safe_url(url: str) -> str:
    """``url`` with its password hidden, for logs and reports."""
    return make_url(url).render_as_string(hide_password=True)


class PredictionLog:
    """Writes predictions (queued) and feedback (at once); reads them back for monitoring."""

    def __init__(self, url: str, *, queue_size: int = 10_000) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._engine_pid = os.getpid()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._writer_pid: int | None = None

    @property
    def engine(self) -> Engine:
        """The engine, with a pool of this process's own connections.

        Connections opened before a fork (a preloading master creates the schema) belong to
        the parent: a forked worker drops them, unclosed, and opens its own.
        """
        if self._engine_pid != os.getpid():
            self._engine.dispose(close=False)
            self._engine_pid = os.getpid()
        return self._engine

    def create_schema(self) -> None:
        """Create the tables unless they exist. Workers starting together may race: retry."""
        try:
            schema.create_all(self.engine)
        except SQLAlchemyError:
            time.sleep(0.5)
            schema.create_all(self.engine)

    # Writing predictions, off the request path.

    def record(self, rows: list[dict[str, Any]]) -> None:
        """Queue one request's prediction rows; never blocks, never raises."""
        self._ensure_writer()
        try:
            self._queue.put_nowait(rows)
        except queue.Full:
            PREDICTION_LOG_DROPPED.labels("queue_full").inc(len(rows))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until what this process queued so far is written; False on timeout."""
        if self._writer_pid != os.getpid():
            return self._queue.empty()
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then release the database connections."""
        if not self.flush(timeout):
            logger.error("prediction log: rows still queued at shutdown were not written")
        self.engine.dispose()

    def _ensure_writer(self) -> None:
        if self._writer_pid == os.getpid():
            return
        with self._lock:
            if self._writer_pid == os.getpid():
                return
            threading.Thread(target=self._write_forever, name="prediction-log", daemon=True).start()
            self._writer_pid = os.getpid()

    def _write_forever(self) -> None:
        while True:
            rows: list[dict[str, Any]] = []
            waiting: list[threading.Event] = []
            item = self._queue.get()
            while True:
                if isinstance(item, threading.Event):
                    waiting.append(item)
                    break  # write now: someone waits for everything queued before it
                rows.extend(item)
                if len(rows) >= WRITE_BATCH_ROWS:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if rows:
                self._write(rows)
            for event_ in waiting:
                event_.set()

    def _write(self, rows: list[dict[str, Any]]) -> None:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self.engine.begin() as connection:
                    connection.execute(insert(predictions), rows)
            except Exception as error:  # the writer must outlive any database trouble
                if attempt == WRITE_ATTEMPTS:
                    PREDICTION_LOG_DROPPED.labels("write_failed").inc(len(rows))
                    logger.error(
                        "prediction log: write failed; rows dropped",
                        extra={
                            "rows": len(rows),
                            "problem": repr(error),
                            "database": safe_url(self.url),
                        },
                    )
                    return
                time.sleep(0.5 * attempt)
            else:
                PREDICTION_LOG_WRITTEN.inc(len(rows))
                return

    # Feedback, written at once: the client is told what was stored.

    def add_feedback(self, items: Sequence[tuple[str, Any]]) -> dict[int, str]:
        """Store ``(prediction id, actual outcome)`` pairs; the problem of each refused one.

        Unknown ids and predictions that already have feedback are refused by index; the
        others are stored. A prediction this process has queued but not yet written is
        written first, so feedback may follow its prediction at once.
        """
        problems: dict[int, str] = {}
        ids = [prediction_id for prediction_id, _ in items]
        known, labelled = self._known_and_labelled(ids)
        if len(known) < len(set(ids)) and self.flush():
            known, labelled = self._known_and_labelled(ids)
        accepted: dict[str, int] = {}
        for index, prediction_id in enumerate(ids):
            if prediction_id not in known:
                problems[index] = UNKNOWN_ID
            elif prediction_id in labelled or prediction_id in accepted:
                problems[index] = ALREADY_LABELLED
            else:
                accepted[prediction_id] = index
        now = datetime.now(UTC)
        rows = [
            {"prediction_id": prediction_id, "actual": items[index][1], "received_at": now}
            for prediction_id, index in accepted.items()
        ]
        try:
            with self.engine.begin() as connection:
                if rows:
                    connection.execute(insert(feedback), rows)
        except IntegrityError:
            # Feedback for one of these ids arrived meanwhile through another worker: store
            # them one by one, and refuse the ones already taken.
            for row in rows:
                try:
                    with self.engine.begin() as connection:
                        connection.execute(insert(feedback), [row])
                except IntegrityError:
                    problems[accepted[row["prediction_id"]]] = ALREADY_LABELLED
        return dict(sorted(problems.items()))

    def _known_and_labelled(self, ids: Iterable[str]) -> tuple[set[str], set[str]]:
        wanted = sorted({prediction_id for prediction_id in ids if len(prediction_id) <= ID_LENGTH})
        if not wanted:
            return set(), set()
        with self.engine.connect() as connection:
            known = connection.execute(select(predictions.c.id).where(predictions.c.id.in_(wanted)))
            labelled = connection.execute(
                select(feedback.c.prediction_id).where(feedback.c.prediction_id.in_(wanted))
            )
            return set(known.scalars()), set(labelled.scalars())

    # Reading back, for drift and accuracy.

    def recent_inputs(
        self, version: int, since: datetime, until: datetime | None = None, limit: int = 10_000
    ) -> list[Mapping[str, float]]:
        """The inputs ``version`` scored from ``since`` (to ``until``), newest first."""
        query = (
            select(predictions.c.inputs)
            .where(predictions.c.model_version == version, predictions.c.created_at >= since)
            .order_by(predictions.c.created_at.desc())
            .limit(limit)
        )
        if until is not None:
            query = query.where(predictions.c.created_at < until)
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def labelled(
        self, since: datetime, until: datetime | None = None, limit: int = 100_000
    ) -> list[tuple[int, dict[str, Any], Any]]:
        """``(version, prediction, actual)`` for feedback received from ``since`` (to ``until``)."""
        query = (
            select(predictions.c.model_version, predictions.c.output, feedback.c.actual)
            .join(feedback, feedback.c.prediction_id == predictions.c.id)
            .where(feedback.c.received_at >= since)
            .order_by(feedback.c.received_at.desc())
            .limit(limit)
        )
        if until is not None:
            query = query.where(feedback.c.received_at < until)
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(query)]

    def counts(self, since: datetime, until: datetime | None = None) -> dict[int, int]:
        """How many predictions each version made from ``since`` (to ``until``)."""
        query = (
            select(predictions.c.model_version, func.count())
            .where(predictions.c.created_at >= since)
            .group_by(predictions.c.model_version)
        )
        if until is not None:
            query = query.where(predictions.c.created_at < until)
        with self.engine.connect() as connection:
            return {version: count for version, count in connection.execute(query)}
