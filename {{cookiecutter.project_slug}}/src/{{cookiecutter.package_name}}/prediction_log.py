"""The prediction log: every prediction and every feedback, through SQLAlchemy.

SQLite (in WAL mode, so workers read while one writes) by default, in the model store;
PostgreSQL or another database when DATABASE_URL names one: the same code for both. The schema
is created at start-up.

Predictions are written off the request path: a request puts its batch on a bounded queue, and
a thread of each worker turns what gathered over GATHER_SECONDS into rows and writes them in one
transaction (a transaction per request would cost more than the request itself). A full queue
(the database is slower than the traffic) drops the rows and counts them in
``prediction_log_dropped_records_total``, rather than slowing every request. ``close()`` writes
what is queued; gunicorn's worker_exit hook calls it on a graceful stop.

The service does not need the log to predict. While its database is out of reach (down, full,
locked), the service starts and predicts all the same: the writer keeps the rows it holds and
tries again until the database returns, the queue absorbs what comes meanwhile, and feedback
and reports answer 503. ``prediction_log_up`` and ``/v1/monitoring`` show the state.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
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
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from . import json_text
from .metrics import PREDICTION_LOG_DROPPED, PREDICTION_LOG_UP, PREDICTION_LOG_WRITTEN
from .turns import turns

logger = logging.getLogger(__name__)

#: Longest prediction id the log holds (ids are 32 hex digits, a dash and the record's index).
ID_LENGTH = 64
#: Most rows written in one transaction.
WRITE_BATCH_ROWS = 5_000
#: Most parameters in one SQL statement (SQLite's limit since 3.32).
MAX_PARAMETERS = 32_766
#: Most rows in one multi-row INSERT (see ``_DriverInsert._rows_in_next``).
MAX_ROWS_PER_STATEMENT = 512
#: How long the writer lets requests gather after the first before it writes them: the rows
#: reach the log this much later, and the database sees one transaction, not one per request.
GATHER_SECONDS = 0.2
#: A write the database refuses (not one it cannot take now) is tried this many times, with
#: growing pauses, before its rows are dropped.
WRITE_ATTEMPTS = 3
#: How long feedback waits for this worker's queued predictions to be written.
FLUSH_FOR_FEEDBACK_SECONDS = 2.0
#: Longest pause between two tries while the database is out of reach.
MAX_RETRY_SECONDS = 5.0
#: Seconds to reach PostgreSQL before giving up for now (the default is to wait for ever).
CONNECT_TIMEOUT_SECONDS = 5
#: Errors that mean the database cannot be used now but may be later: down, unreachable,
#: locked, its disk full. Anything else refuses the rows themselves.
OUT_OF_REACH = (OperationalError, InterfaceError, OSError)
#: What a request that needs the log is told while its database is out of reach (503).
UNAVAILABLE_MESSAGE = (
    "The prediction log's database is out of reach; predictions are served meanwhile and their "
    "rows written once it is back (/metrics: prediction_log_up)."
)
#: Feedback for an id not in the log yet, issued this recently, is kept aside rather than
#: refused: the prediction's row may still wait in another worker's queue. It joins the
#: feedback once the row is written; kept aside longer than ORPHAN_AFTER, it is dropped.
PENDING_WINDOW = timedelta(minutes=5)
ORPHAN_AFTER = timedelta(hours=1)
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
#: Feedback that arrived before its prediction's row was written (see PENDING_WINDOW).
pending_feedback = Table(
    "prediction_feedback_pending",
    schema,
    Column("prediction_id", String(ID_LENGTH), primary_key=True),
    Column("actual", JSON, nullable=False),
    Column("received_at", UTCDateTime, nullable=False, index=True),
)
feedback = Table(
    "prediction_feedback",
    schema,
    Column("prediction_id", String(ID_LENGTH), ForeignKey(predictions.c.id), primary_key=True),
    Column("actual", JSON, nullable=False),
    Column("received_at", UTCDateTime, nullable=False, index=True),
)


_PREDICTION_ID = re.compile(r"([0-9a-f]{12})[0-9a-f]{20}-[0-9]{1,9}")


def new_id_prefix() -> str:
    """The prefix of one request's prediction ids (each adds ``-<index>``): 32 hex digits,
    the time in milliseconds then 80 random bits, so that an id tells when it was issued."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def issued_at(prediction_id: str) -> datetime | None:
    """When this service issued ``prediction_id``; None if it is not one of its ids."""
    match = _PREDICTION_ID.fullmatch(prediction_id)
    if match is None:
        return None
    return datetime.fromtimestamp(int(match[1], 16) / 1000, UTC)


@dataclass(frozen=True)
class ScoredBatch:
    """One request's predictions as queued: the writer makes its rows, off the request path."""

    created_at: datetime
    model_name: str
    model_version: int
    request_id: str
    latency_ms: float
    instances: Sequence[Mapping[str, Any]]
    #: Each with its ``id``, as the API answered it.
    predictions: Sequence[Mapping[str, Any]]

    def __len__(self) -> int:
        return len(self.predictions)

    def rows(self) -> list[dict[str, Any]]:
        """A row of the prediction log per record."""
        return [
            {
                "id": prediction["id"],
                "created_at": self.created_at,
                "model_name": self.model_name,
                "model_version": self.model_version,
                "request_id": self.request_id,
                "inputs": dict(instance),
                "output": {k: v for k, v in prediction.items() if k != "id"},
                "latency_ms": self.latency_ms,
            }
            for instance, prediction in zip(self.instances, self.predictions, strict=True)
        ]


#: What a request queues: its batch, or rows made already (tests, tools).
Queued = ScoredBatch | list[dict[str, Any]]


class _DriverInsert:
    """A table's INSERT as the database driver takes it, rows converted by each column's own
    SQLAlchemy type, the conversions looked up once: SQLAlchemy's executemany spends more per
    row than SQLite does (measured: 28 against 17 microseconds a row). A value shared by the
    rows of a batch (its time) is converted once.

    SQLite gets many rows per statement: its driver lets go of the GIL at each statement it
    runs, and under load each time costs a wait for a request's thread to give it back (one
    statement per row halved the throughput of 100-record requests)."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.dialect = dialect
        compiled = insert(table).compile(dialect=dialect)
        self.statement = str(compiled)
        #: The driver's parameters: a tuple in this order, or a dict when None.
        self.order = list(compiled.positiontup or []) if compiled.positional else None
        self.converters = {
            column.name: column.type.dialect_impl(dialect).bind_processor(dialect)
            for column in table.columns
        }
        # "?" parameters can be repeated for more rows; numbered or named ones cannot.
        head, values, self._group = self.statement.partition(" VALUES ")
        self._head = head + values
        self.rows_per_statement = 1
        width = len(self.order or [])
        if dialect.paramstyle == "qmark" and values and self._group.count("?") == width:
            fits = MAX_PARAMETERS // max(1, width)
            self.rows_per_statement = min(MAX_ROWS_PER_STATEMENT, fits)
        self._sql: dict[int, str] = {}  # the statement for each row count in use

    def statements(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, Any]]:
        """The statements, each with its parameters, that insert ``rows``."""
        columns = self._converted(rows)
        if self.order is None:
            names = list(columns)
            records = [
                dict(zip(names, values, strict=True))
                for values in zip(*columns.values(), strict=True)
            ]
            return [(self.statement, records)]
        tuples = list(zip(*(columns[name] for name in self.order), strict=True))
        if self.rows_per_statement == 1:
            return [(self.statement, tuples)]
        statements = []
        start = 0
        while start < len(tuples):
            count = self._rows_in_next(len(tuples) - start)
            chunk = tuples[start : start + count]
            statements.append(
                (self._sql_for(count), tuple(value for row in chunk for value in row))
            )
            start += count
        return statements

    def _rows_in_next(self, left: int) -> int:
        """As many rows as a statement takes, else the largest power of two of those left.

        The driver keeps each distinct statement it ran, prepared, in a cache of 128 per
        connection, and a statement of thousands of rows is large: one per batch size, as
        before, held about 70 MiB of the tree's PSS after 8 s of 100-record requests. The
        full size and powers of two below it make at most 10 statements, each prepared once."""
        if left >= self.rows_per_statement:
            return self.rows_per_statement
        return 1 << (left.bit_length() - 1)

    def _sql_for(self, rows: int) -> str:
        sql = self._sql.get(rows)
        if sql is None:
            sql = self._sql[rows] = self._head + ", ".join([self._group] * rows)
        return sql

    def _converted(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
        converted: dict[str, list[Any]] = {}
        for name, convert in self.converters.items():
            values = [row[name] for row in rows]
            if convert is not None:
                last: Any = object()
                done: Any = None
                for index, value in enumerate(values):
                    if value is not last:
                        last, done = value, convert(value)
                    values[index] = done
            converted[name] = values
        return converted


class PredictionLogUnavailableError(Exception):
    """The prediction log's database cannot be used now; ``problem`` says why."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def describe_problem(error: BaseException) -> str:
    """One line on why the database cannot be used, without the SQL or the driver's name."""
    cause = getattr(error, "orig", None) or error
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    text = str(cause).strip().splitlines()
    return (text[0] if text else type(cause).__name__)[:300]


def _may_still_be_queued(prediction_id: str, now: datetime) -> bool:
    issued = issued_at(prediction_id)
    return issued is not None and now - PENDING_WINDOW <= issued <= now + timedelta(seconds=5)


def _tune_sqlite(connection: Any, _record: Any) -> None:
    # WAL lets readers (feedback, drift) work while a worker writes; NORMAL sync is safe in WAL
    # and avoids an fsync per transaction.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (it connects when first used); SQLite gets WAL and a shared busy
    timeout, PostgreSQL a connect timeout."""
    parsed = make_url(url)
    # Every row holds two JSON columns: their encoding is most of a row's cost.
    fast_json = {"json_serializer": json_text.dumps}
    if parsed.get_backend_name() == "postgresql":
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **fast_json)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **fast_json)
    connect_args = {"timeout": 30, "check_same_thread": False}
    engine = create_engine(url, connect_args=connect_args, **fast_json)
    event.listen(engine, "connect", _tune_sqlite)
    return engine


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite ``url``; None for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def _create_private_file(path: str) -> None:
    """Create the SQLite file readable by its owner only, or take others' read access away
    from an existing one: it holds every input the service was sent. SQLite gives its -wal
    and -shm files the same permissions."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        mode = os.fstat(descriptor).st_mode
        if mode & 0o007:
            os.fchmod(descriptor, mode & 0o770)
    finally:
        os.close(descriptor)


def safe_url(url: str) -> str:
    """``url`` with its password hidden, for logs and the operator's reports."""
    return make_url(url).render_as_string(hide_password=True)


def public_url(url: str, store: Path) -> str:
    """``url`` as the HTTP API shows it: a SQLite file relative to the model store (or by its
    name alone), another database without its user and password."""
    path = sqlite_file(url)
    if path is None:
        return make_url(url).set(username=None, password=None).render_as_string()
    file = Path(path).absolute()
    if file.is_relative_to(store):
        return f"sqlite: {file.relative_to(store).as_posix()} in the model store"
    return f"sqlite: {file.name}"


class PredictionLog:
    """Writes predictions (queued) and feedback (at once); reads them back for monitoring."""

    def __init__(self, url: str, *, queue_size: int = 10_000) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._engine_pid = os.getpid()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._writer_pid: int | None = None
        #: None until the database was tried; then whether it took the last thing asked of it.
        self.up: bool | None = None
        #: Why the database could not be used, while it cannot.
        self.problem: str | None = None
        self._schema_ready = False
        #: The rows the writer is trying to write, None between batches.
        self._batch: list[dict[str, Any]] | None = None
        self._stopping = threading.Event()
        #: Set to end the writer's gathering pause early (someone waits for the rows).
        self._hurry = threading.Event()
        self._insert: _DriverInsert | None = None

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

    def state(self) -> dict[str, Any]:
        """Whether the database takes writes, why not, and how many requests' rows wait."""
        return {"up": self.up, "problem": self.problem, "queued_requests": self._queue.qsize()}

    def create_schema(self) -> bool:
        """Create the tables unless they exist; False if the database is out of reach (the
        problem is logged, and the writer tries again before it writes)."""
        try:
            path = sqlite_file(self.url)
            if path is not None:
                _create_private_file(path)
            try:
                schema.create_all(self.engine)
            except SQLAlchemyError:  # workers starting together race to create the tables
                time.sleep(0.5)
                schema.create_all(self.engine)
        except (SQLAlchemyError, OSError) as error:  # not needed to predict: serve on
            self._went_down(error)
            return False
        self._schema_ready = True
        self._came_up()
        return True

    def _went_down(self, error: BaseException) -> None:
        problem = describe_problem(error)
        if self.up is not False:
            logger.warning(
                "prediction log: its database is out of reach; predictions go on, their rows "
                "wait in the queue and are written once it is back",
                extra={"problem": problem, "database": safe_url(self.url)},
            )
        self.up, self.problem = False, problem
        PREDICTION_LOG_UP.set(0)

    def _came_up(self) -> None:
        if self.up is False:
            database = safe_url(self.url)
            logger.info("prediction log: its database is back", extra={"database": database})
        self.up, self.problem = True, None
        PREDICTION_LOG_UP.set(1)

    @contextmanager
    def _database(self) -> Iterator[None]:
        """Work done for a request: PredictionLogUnavailableError while the database is out of
        reach, so the request answers 503 rather than 500."""
        if not self._schema_ready and not self.create_schema():
            raise PredictionLogUnavailableError(self.problem or "out of reach")
        try:
            yield
        except OUT_OF_REACH as error:
            self._went_down(error)
            raise PredictionLogUnavailableError(self.problem or "out of reach") from None
        self._came_up()

    # Writing predictions, off the request path.

    def record(self, rows: Queued) -> None:
        """Queue one request's predictions; never blocks, never raises."""
        self._ensure_writer()
        try:
            self._queue.put_nowait(rows)
        except queue.Full:
            PREDICTION_LOG_DROPPED.labels("queue_full").inc(len(rows))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until what this process queued so far is written; False on timeout."""
        if self._writer_pid != os.getpid() or self._stopping.is_set():
            return self._queue.empty()
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        self._hurry.set()
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, waiting at most ``timeout``; count what is left as dropped
        (reason ``shutdown``), then release the database connections. Once only."""
        if self._stopping.is_set():
            return
        if not self.flush(timeout):
            self._stopping.set()
            left = self._take_unwritten()
            PREDICTION_LOG_DROPPED.labels("shutdown").inc(left)
            logger.error(
                "prediction log: rows still queued at shutdown were not written",
                extra={"rows": left, "problem": self.problem, "database": safe_url(self.url)},
            )
        self._stopping.set()
        self.engine.dispose()

    def _take_unwritten(self) -> int:
        """Empty the queue and the writer's batch; how many rows they held."""
        with self._lock:
            left = len(self._batch or [])
            self._batch = None
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return left
            if isinstance(item, threading.Event):
                item.set()
            else:
                left += len(item)

    def _ensure_writer(self) -> None:
        if self._writer_pid == os.getpid():
            return
        with self._lock:
            if self._writer_pid == os.getpid():
                return
            threading.Thread(target=self._write_forever, name="prediction-log", daemon=True).start()
            self._writer_pid = os.getpid()

    def _write_forever(self) -> None:
        behind = False  # the last batch was full: more is waiting, write it at once
        while not self._stopping.is_set():
            rows: list[dict[str, Any]] = []
            waiting: list[threading.Event] = []
            item = self._queue.get()
            if not isinstance(item, threading.Event) and not behind:
                # Let more requests gather: they queue without waking this thread. Not when
                # behind: a pause per full batch capped the writer at WRITE_BATCH_ROWS per
                # GATHER_SECONDS, less than 100-record requests bring (the queue, and the
                # memory it holds, then grew until it was full and rows were dropped).
                self._hurry.wait(GATHER_SECONDS)
            self._hurry.clear()
            with turns.turn():  # making the rows is work under the GIL too
                while True:
                    if isinstance(item, threading.Event):
                        waiting.append(item)
                        break  # write now: someone waits for everything queued before it
                    rows.extend(item.rows() if isinstance(item, ScoredBatch) else item)
                    if len(rows) >= WRITE_BATCH_ROWS:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
            behind = len(rows) >= WRITE_BATCH_ROWS
            if rows:
                with self._lock:
                    self._batch = rows
                self._write(rows)
            for event_ in waiting:
                event_.set()

    def _write(self, rows: list[dict[str, Any]]) -> None:
        """Write one batch: until the database takes it while it is out of reach, a few times
        if it refuses the rows themselves (then they are dropped, counted)."""
        refusals = 0
        pause = 0.5
        while not self._stopping.is_set():
            try:
                if not self._schema_ready and not self.create_schema():
                    raise PredictionLogUnavailableError(self.problem or "out of reach")
                # A turn per attempt: the pauses between attempts hold up no request.
                with turns.turn(), self.engine.begin() as connection:
                    self._insert_rows(connection, rows)
            except (PredictionLogUnavailableError, *OUT_OF_REACH) as error:
                if not isinstance(error, PredictionLogUnavailableError):
                    self._went_down(error)
            except Exception as error:  # the writer must outlive anything the rows cause
                refusals += 1
                if refusals == WRITE_ATTEMPTS:
                    self._finish_batch(rows, written=False)
                    logger.error(
                        "prediction log: the database refused these rows; dropped",
                        extra={
                            "rows": len(rows),
                            "problem": describe_problem(error),
                            "database": safe_url(self.url),
                        },
                    )
                    return
            else:
                self._came_up()
                self._finish_batch(rows, written=True)
                return
            self._stopping.wait(pause)
            pause = min(pause * 2, MAX_RETRY_SECONDS)

    def _insert_rows(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        if self._insert is None or self._insert.dialect is not connection.dialect:
            self._insert = _DriverInsert(predictions, connection.dialect)
        for statement, parameters in self._insert.statements(rows):
            connection.exec_driver_sql(statement, parameters)

    def _finish_batch(self, rows: list[dict[str, Any]], *, written: bool) -> None:
        with self._lock:
            if self._batch is not rows:
                return  # close() took the batch and counted it as dropped
            self._batch = None
        if written:
            PREDICTION_LOG_WRITTEN.inc(len(rows))
        else:
            PREDICTION_LOG_DROPPED.labels("write_failed").inc(len(rows))

    # Feedback, written at once: the client is told what was stored.

    def add_feedback(self, items: Sequence[tuple[str, Any]]) -> dict[int, str]:
        """Store ``(prediction id, actual outcome)`` pairs; the problem of each refused one.

        Unknown ids and predictions that already have feedback are refused by index; the
        others are stored. Feedback may follow its prediction at once: a prediction this
        process has queued is written first, and feedback for an id issued in the last
        PENDING_WINDOW but not written yet (by another worker) is kept aside until it is.
        """
        ids = [prediction_id for prediction_id, _ in items]
        known, labelled = self._known_and_labelled(ids)
        if len(known) < len(set(ids)) and self.flush(timeout=FLUSH_FOR_FEEDBACK_SECONDS):
            known, labelled = self._known_and_labelled(ids)
        now = datetime.now(UTC)
        problems: dict[int, str] = {}
        accepted: dict[str, int] = {}
        waiting: dict[str, int] = {}
        for index, prediction_id in enumerate(ids):
            if prediction_id in labelled or prediction_id in accepted or prediction_id in waiting:
                problems[index] = ALREADY_LABELLED
            elif prediction_id in known:
                accepted[prediction_id] = index
            elif _may_still_be_queued(prediction_id, now):
                waiting[prediction_id] = index
            else:
                problems[index] = UNKNOWN_ID
        rows = [
            (table, {"prediction_id": prediction_id, "actual": items[index][1], "received_at": now})
            for table, chosen in ((feedback, accepted), (pending_feedback, waiting))
            for prediction_id, index in chosen.items()
        ]
        try:
            with self._database(), self.engine.begin() as connection:
                for table, row in rows:
                    connection.execute(insert(table), [row])
        except IntegrityError:
            # Feedback for one of these ids arrived meanwhile through another worker: store
            # them one by one, and refuse the ones already taken.
            for table, row in rows:
                try:
                    with self._database(), self.engine.begin() as connection:
                        connection.execute(insert(table), [row])
                except IntegrityError:
                    index = {**accepted, **waiting}[row["prediction_id"]]
                    problems[index] = ALREADY_LABELLED
        return dict(sorted(problems.items()))

    def resolve_pending_feedback(self, now: datetime | None = None) -> int:
        """Move feedback kept aside into the feedback once its prediction's row is written;
        drop what waited longer than ORPHAN_AFTER. How many were moved."""
        now = now or datetime.now(UTC)
        arrived = select(pending_feedback).join(
            predictions, predictions.c.id == pending_feedback.c.prediction_id
        )
        try:
            with self._database(), self.engine.begin() as connection:
                rows = [dict(row._mapping) for row in connection.execute(arrived)]
                done = [row["prediction_id"] for row in rows]
                given = connection.execute(
                    select(feedback.c.prediction_id).where(feedback.c.prediction_id.in_(done))
                )
                first = set(given.scalars())  # feedback given later, directly, is not repeated
                moved = [row for row in rows if row["prediction_id"] not in first]
                if moved:
                    connection.execute(insert(feedback), moved)
                expired = pending_feedback.c.received_at < now - ORPHAN_AFTER
                connection.execute(
                    pending_feedback.delete().where(
                        pending_feedback.c.prediction_id.in_(done) | expired
                    )
                )
        except IntegrityError:
            return 0  # another worker moved them at the same moment
        return len(moved)

    def _known_and_labelled(self, ids: Iterable[str]) -> tuple[set[str], set[str]]:
        """The ids in the log, and those with feedback already (or kept aside)."""
        wanted = sorted({prediction_id for prediction_id in ids if len(prediction_id) <= ID_LENGTH})
        if not wanted:
            return set(), set()
        with self._database(), self.engine.connect() as connection:
            known = connection.execute(select(predictions.c.id).where(predictions.c.id.in_(wanted)))
            labelled = set()
            for table in (feedback, pending_feedback):
                found = select(table.c.prediction_id).where(table.c.prediction_id.in_(wanted))
                labelled |= set(connection.execute(found).scalars())
            return set(known.scalars()), labelled

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
        with self._database(), self.engine.connect() as connection:
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
        with self._database(), self.engine.connect() as connection:
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
        with self._database(), self.engine.connect() as connection:
            return {version: count for version, count in connection.execute(query)}
