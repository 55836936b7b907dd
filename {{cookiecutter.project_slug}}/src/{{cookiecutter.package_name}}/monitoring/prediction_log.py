"""The prediction log: every prediction and every feedback, through SQLAlchemy.

SQLite (in WAL mode, so workers read while one writes) by default, in the model store;
PostgreSQL or another database when DATABASE_URL names one: the same code for both. The schema
is created at start-up.

Predictions are written off the request path: a request puts its batch on a bounded queue, and
a thread of each worker turns what gathered over GATHER_SECONDS into rows and writes them in one
transaction (a transaction per request would cost more than the request itself). A request is
one row, its records' inputs and outputs held as JSON arrays in the order of their ids. A full
queue (the database is slower than the traffic) drops the rows and counts them in
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
    inspect,
    select,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from ..server.turns import turns
from ..service import json_text
from .http_metrics import PREDICTION_LOG_DROPPED, PREDICTION_LOG_UP, PREDICTION_LOG_WRITTEN

logger = logging.getLogger(__name__)

#: Longest prediction id the log holds (ids are 32 hex digits, a dash and the record's index).
ID_LENGTH = 64
#: Most records (over all the requests' rows) written in one transaction.
WRITE_BATCH_RECORDS = 5_000
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
#: Rows fetched at a time when reading back inputs: each holds a whole request's records.
READ_ROWS_AT_ONCE = 64
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
#: A row per request, not per record: SQLite spent about 7 of the 11 microseconds a logged record
#: cost on a row's three B-tree inserts (the rowid, the id, the time), and 100-record requests
#: ran at 0.72x of the service without the log. Record ``i`` of a request has the prediction id
#: ``<id>-<i>``, and its input and output at index ``i`` of the arrays.
requests = Table(
    "prediction_requests",
    schema,
    #: The prefix of its prediction ids.
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("model_name", String(128), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("records", Integer, nullable=False),
    Column("inputs", JSON, nullable=False),
    #: Each record's prediction as the API answered it, without its id.
    Column("outputs", JSON, nullable=False),
    #: The whole request's time in the service.
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
#: Feedback holds its prediction's version and output, copied from the request's row when it is
#: stored: accuracy reads this table alone, not a request's whole arrays per label.
feedback = Table(
    "prediction_outcomes",
    schema,
    Column("prediction_id", String(ID_LENGTH), primary_key=True),
    Column("request", String(ID_LENGTH), ForeignKey(requests.c.id), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("output", JSON, nullable=False),
    Column("actual", JSON, nullable=False),
    Column("received_at", UTCDateTime, nullable=False, index=True),
)

#: A record's index as ids write it: no sign, no leading zero (``-07`` would name ``-7`` again).
_INDEX = r"(?:0|[1-9][0-9]{0,8})"
_PREDICTION_ID = re.compile(r"([0-9a-f]{12})[0-9a-f]{20}-" + _INDEX)
_ANY_PREDICTION_ID = re.compile(r"(.+)-(" + _INDEX + ")")
#: The length of the prefix of the ids this service issues.
PREFIX_LENGTH = 32


def new_id_prefix() -> str:
    """The prefix of one request's prediction ids (each adds ``-<index>``): 32 hex digits,
    the time in milliseconds then 80 random bits, so that an id tells when it was issued."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def split_id(prediction_id: str) -> tuple[str, int] | None:
    """The request (its id prefix) and the record's index a prediction id names; None if it
    is not a prediction id."""
    match = _ANY_PREDICTION_ID.fullmatch(prediction_id)
    if match is None or len(prediction_id) > ID_LENGTH:
        return None
    return match[1], int(match[2])


def issued_at(prediction_id: str) -> datetime | None:
    """When this service issued ``prediction_id``; None if it is not one of its ids."""
    match = _PREDICTION_ID.fullmatch(prediction_id)
    if match is None:
        return None
    return datetime.fromtimestamp(int(match[1], 16) / 1000, UTC)


@dataclass(frozen=True)
class ScoredBatch:
    """One request's predictions as queued, its records already JSON text (``encode``).

    Queued as lists of dicts, a batch's records outlived the collector's young generations
    while they waited to be written, and its full collections then cost 0.2 to 0.3 ms per
    100-record request (measured in one process, with gc.callbacks). Text is not tracked by
    the collector, and orjson encodes 100 records in tens of microseconds.
    """

    #: The prefix of the request's prediction ids: record ``i`` has the id ``<prefix>-<i>``.
    id_prefix: str
    created_at: datetime
    model_name: str
    model_version: int
    request_id: str
    latency_ms: float
    records: int
    #: A JSON array of the validated records.
    inputs: str
    #: A JSON array of each record's prediction without its id, in the order of the records.
    outputs: str

    @classmethod
    def encode(
        cls,
        *,
        id_prefix: str,
        created_at: datetime,
        model_name: str,
        model_version: int,
        request_id: str,
        latency_ms: float,
        instances: Sequence[Mapping[str, Any]],
        outputs: Sequence[Mapping[str, Any]],
    ) -> ScoredBatch:
        """A batch of ``instances`` and their ``outputs`` (plain JSON data, one per record)."""
        if len(instances) != len(outputs):
            raise ValueError("a batch has one output per record")
        return cls(
            id_prefix=id_prefix,
            created_at=created_at,
            model_name=model_name,
            model_version=model_version,
            request_id=request_id,
            latency_ms=latency_ms,
            records=len(outputs),
            inputs=json_text.dumps(list(instances)),
            outputs=json_text.dumps(list(outputs)),
        )

    def __len__(self) -> int:
        return self.records

    def row(self) -> dict[str, Any]:
        """The request's row of the prediction log (its JSON columns as text)."""
        return {
            "id": self.id_prefix,
            "created_at": self.created_at,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "request_id": self.request_id,
            "records": self.records,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "latency_ms": self.latency_ms,
        }


def _records(rows: Iterable[Mapping[str, Any]]) -> int:
    return sum(row["records"] for row in rows)


class _DriverInsert:
    """A table's INSERT as the database driver takes it, rows converted by each column's own
    SQLAlchemy type, the conversions looked up once: SQLAlchemy's executemany spends more per
    row than SQLite does (measured: 28 against 17 microseconds a row). A value shared by the
    rows of a batch (its time) is converted once.

    SQLite gets many rows per statement: its driver lets go of the GIL at each statement it
    runs, and under load each time costs a wait for a request's thread to give it back (one
    statement per row halved the throughput of 100-record requests)."""

    def __init__(self, table: Table, dialect: Dialect, encoded: Iterable[str] = ()) -> None:
        """``encoded`` names JSON columns whose values come as JSON text already."""
        self.dialect = dialect
        compiled = insert(table).compile(dialect=dialect)
        self.statement = str(compiled)
        #: The driver's parameters: a tuple in this order, or a dict when None.
        self.order = list(compiled.positiontup or []) if compiled.positional else None
        self.converters = {
            column.name: None
            if column.name in encoded
            else column.type.dialect_impl(dialect).bind_processor(dialect)
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
        #: The rows (one per request) the writer is trying to write, None between batches.
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
                self._create_tables()
            except SQLAlchemyError:  # workers starting together race to create the tables
                time.sleep(0.5)
                self._create_tables()
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

    def _create_tables(self) -> None:
        with self.engine.begin() as connection:
            old = _per_record_tables(connection)
            schema.create_all(connection)
            if old:
                _migrate_per_record_rows(connection, *old)

    # Writing predictions, off the request path.

    def record(self, batch: ScoredBatch) -> None:
        """Queue one request's predictions; never blocks, never raises."""
        self._ensure_writer()
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            PREDICTION_LOG_DROPPED.labels("queue_full").inc(len(batch))

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
                "prediction log: records still queued at shutdown were not written",
                extra={"records": left, "problem": self.problem, "database": safe_url(self.url)},
            )
        self._stopping.set()
        self.engine.dispose()

    def _take_unwritten(self) -> int:
        """Empty the queue and the writer's batch; how many records they held."""
        with self._lock:
            left = _records(self._batch or [])
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
                # behind: a pause per full batch capped the writer at WRITE_BATCH_RECORDS per
                # GATHER_SECONDS, less than 100-record requests bring (the queue, and the
                # memory it holds, then grew until it was full and rows were dropped).
                self._hurry.wait(GATHER_SECONDS)
            self._hurry.clear()
            records = 0
            with turns.turn():  # making the rows is work under the GIL too
                while True:
                    if isinstance(item, threading.Event):
                        waiting.append(item)
                        break  # write now: someone waits for everything queued before it
                    rows.append(item.row())
                    records += len(item)
                    if records >= WRITE_BATCH_RECORDS:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
            behind = records >= WRITE_BATCH_RECORDS
            if rows:
                with self._lock:
                    self._batch = rows
                self._write(rows)
            for event_ in waiting:
                event_.set()

    def _write(self, rows: list[dict[str, Any]]) -> None:
        """Write one batch: until the database takes it while it is out of reach, a few times
        if it refuses the rows themselves (then they are dropped, counted)."""
        try:
            # Encoding the rows is Python's work: a turn. The database's own work lets the GIL
            # go, so it runs beside the requests (in a turn, the requests waited for it: the
            # 100-record p99 was 39 ms against 25.5 ms, benchmarks/compare.py, one run).
            with turns.turn():
                statements = self._statements(rows)
        except Exception as error:  # a value the database's types cannot take
            self._refused(rows, error)
            return
        refusals = 0
        pause = 0.5
        while not self._stopping.is_set():
            try:
                if not self._schema_ready and not self.create_schema():
                    raise PredictionLogUnavailableError(self.problem or "out of reach")
                with self.engine.begin() as connection:
                    for statement, parameters in statements:
                        connection.exec_driver_sql(statement, parameters)
            except (PredictionLogUnavailableError, *OUT_OF_REACH) as error:
                if not isinstance(error, PredictionLogUnavailableError):
                    self._went_down(error)
            except Exception as error:  # the writer must outlive anything the rows cause
                refusals += 1
                if refusals == WRITE_ATTEMPTS:
                    self._refused(rows, error)
                    return
            else:
                self._came_up()
                self._finish_batch(rows, written=True)
                return
            self._stopping.wait(pause)
            pause = min(pause * 2, MAX_RETRY_SECONDS)

    def _statements(self, rows: list[dict[str, Any]]) -> list[tuple[str, Any]]:
        dialect = self.engine.dialect
        if self._insert is None or self._insert.dialect is not dialect:
            self._insert = _DriverInsert(requests, dialect, encoded=("inputs", "outputs"))
        return self._insert.statements(rows)

    def _refused(self, rows: list[dict[str, Any]], error: Exception) -> None:
        self._finish_batch(rows, written=False)
        logger.error(
            "prediction log: the database refused these rows; dropped",
            extra={
                "records": _records(rows),
                "problem": describe_problem(error),
                "database": safe_url(self.url),
            },
        )

    def _finish_batch(self, rows: list[dict[str, Any]], *, written: bool) -> None:
        with self._lock:
            if self._batch is not rows:
                return  # close() took the batch and counted it as dropped
            self._batch = None
        if written:
            PREDICTION_LOG_WRITTEN.inc(_records(rows))
        else:
            PREDICTION_LOG_DROPPED.labels("write_failed").inc(_records(rows))

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
            (feedback, {**known[prediction_id], "actual": items[index][1], "received_at": now})
            for prediction_id, index in accepted.items()
        ] + [
            (
                pending_feedback,
                {"prediction_id": prediction_id, "actual": items[index][1], "received_at": now},
            )
            for prediction_id, index in waiting.items()
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
        # Only ids this service issues are kept aside: their request is their first 32 digits.
        request = func.substr(pending_feedback.c.prediction_id, 1, PREFIX_LENGTH)
        arrived = select(pending_feedback, requests.c.model_version, requests.c.outputs).join(
            requests, requests.c.id == request
        )
        try:
            with self._database(), self.engine.begin() as connection:
                rows = [dict(row._mapping) for row in connection.execute(arrived)]
                done = [row["prediction_id"] for row in rows]
                given = connection.execute(
                    select(feedback.c.prediction_id).where(feedback.c.prediction_id.in_(done))
                )
                first = set(given.scalars())  # feedback given later, directly, is not repeated
                moved = []
                for row in rows:
                    labelled = _labelled_record(row["prediction_id"], row)
                    if labelled is not None and row["prediction_id"] not in first:
                        moved.append(
                            {**labelled, "actual": row["actual"], "received_at": row["received_at"]}
                        )
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

    def _known_and_labelled(self, ids: Iterable[str]) -> tuple[dict[str, dict[str, Any]], set[str]]:
        """The ids in the log (each with the feedback columns its request gives), and those
        with feedback already (or kept aside)."""
        wanted = {}
        for prediction_id in set(ids):
            named = split_id(prediction_id)
            if named is not None:
                wanted[prediction_id] = named
        if not wanted:
            return {}, set()
        names = sorted(wanted)
        prefixes = sorted({prefix for prefix, _ in wanted.values()})
        found = select(requests.c.id, requests.c.model_version, requests.c.outputs)
        with self._database(), self.engine.connect() as connection:
            chosen = found.where(requests.c.id.in_(prefixes))
            written = {row.id: row._mapping for row in connection.execute(chosen)}
            labelled = set()
            for table in (feedback, pending_feedback):
                given = select(table.c.prediction_id).where(table.c.prediction_id.in_(names))
                labelled |= set(connection.execute(given).scalars())
        known = {}
        for prediction_id, (prefix, _) in wanted.items():
            row = written.get(prefix)
            record = None if row is None else _labelled_record(prediction_id, row)
            if record is not None:
                known[prediction_id] = record
        return known, labelled

    # Reading back, for drift and accuracy.

    def recent_inputs(
        self, version: int, since: datetime, until: datetime | None = None, limit: int = 10_000
    ) -> list[Mapping[str, float]]:
        """The inputs ``version`` scored from ``since`` (to ``until``), newest first; at most
        ``limit`` records."""
        query = (
            select(requests.c.inputs)
            .where(requests.c.model_version == version, requests.c.created_at >= since)
            .order_by(requests.c.created_at.desc())
        )
        if until is not None:
            query = query.where(requests.c.created_at < until)
        inputs: list[Mapping[str, float]] = []
        with self._database(), self.engine.connect() as connection:
            # Streamed, a few requests at a time: the rows hold whole batches.
            result = connection.execute(query.execution_options(yield_per=READ_ROWS_AT_ONCE))
            for batch in result.scalars():
                inputs.extend(batch[: limit - len(inputs)])
                if len(inputs) >= limit:
                    break
            result.close()
        return inputs

    def labelled(
        self, since: datetime, until: datetime | None = None, limit: int = 100_000
    ) -> list[tuple[int, dict[str, Any], Any]]:
        """``(version, prediction, actual)`` for feedback received from ``since`` (to ``until``)."""
        query = (
            select(feedback.c.model_version, feedback.c.output, feedback.c.actual)
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
            select(requests.c.model_version, func.sum(requests.c.records))
            .where(requests.c.created_at >= since)
            .group_by(requests.c.model_version)
        )
        if until is not None:
            query = query.where(requests.c.created_at < until)
        with self._database(), self.engine.connect() as connection:
            return {version: int(count) for version, count in connection.execute(query)}


def _labelled_record(prediction_id: str, request: Mapping[Any, Any]) -> dict[str, Any] | None:
    """The feedback row's columns for ``prediction_id`` from its request's row (``id``,
    ``model_version``, ``outputs``); None if the request has no such record."""
    named = split_id(prediction_id)
    if named is None:
        return None
    prefix, index = named
    outputs = request["outputs"]
    if index >= len(outputs):
        return None
    return {
        "prediction_id": prediction_id,
        "request": prefix,
        "model_version": request["model_version"],
        "output": outputs[index],
    }


# Logs written before a request became one row (a row per record, feedback pointing at them).

#: A per-record log's tables, as earlier versions created them: not in ``schema``, since a new
#: log has none.
per_record_schema = MetaData()
per_record_predictions = Table(
    "prediction_log",
    per_record_schema,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("model_name", String(128), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("output", JSON, nullable=False),
    Column("latency_ms", Float, nullable=False),
)
per_record_feedback = Table(
    "prediction_feedback",
    per_record_schema,
    Column(
        "prediction_id",
        String(ID_LENGTH),
        ForeignKey(per_record_predictions.c.id),
        primary_key=True,
    ),
    Column("actual", JSON, nullable=False),
    Column("received_at", UTCDateTime, nullable=False, index=True),
)
#: Rows moved at a time.
MIGRATE_ROWS_AT_ONCE = 5_000


def _per_record_tables(connection: Connection) -> tuple[Table, Table | None] | None:
    """The per-record log's tables this database has (its feedback may be missing), or None."""
    names = set(inspect(connection).get_table_names())
    if per_record_predictions.name not in names:
        return None
    has_feedback = per_record_feedback.name in names
    return per_record_predictions, per_record_feedback if has_feedback else None


def _migrate_per_record_rows(
    connection: Connection, predictions: Table, labels: Table | None
) -> None:
    """Move a per-record log's rows into a row per request, in the transaction that created
    the new tables, then drop the old ones. Only ids this service issued name their request
    (32 hex digits, then the index): rows with other ids (tools, tests) are dropped, counted
    in the log line."""
    started = time.monotonic()
    moved = dropped = 0
    # Ordered by id, a request's records come together: its ids share their 32-digit prefix.
    # Streamed (a statement's option: the connection's would stream the inserts too).
    by_id = select(predictions).order_by(predictions.c.id)
    result = connection.execute(by_id.execution_options(yield_per=MIGRATE_ROWS_AT_ONCE))
    rows: list[dict[str, Any]] = []
    prefix: str | None = None
    records: list[Any] = []  # the request's rows of the old table
    for old in result:
        if _PREDICTION_ID.fullmatch(old.id) is None:
            dropped += 1
            continue
        if old.id[:PREFIX_LENGTH] != prefix:
            dropped += _add_request_row(rows, prefix, records)
            prefix, records = old.id[:PREFIX_LENGTH], []
        records.append(old)
        if len(rows) >= MIGRATE_ROWS_AT_ONCE:
            moved += _insert_moved(connection, rows)
    dropped += _add_request_row(rows, prefix, records)
    moved += _insert_moved(connection, rows)
    labelled = 0
    if labels is not None:
        joined = (
            select(
                labels.c.prediction_id,
                labels.c.actual,
                labels.c.received_at,
                predictions.c.model_version,
                predictions.c.output,
            )
            .join(predictions, predictions.c.id == labels.c.prediction_id)
            .join(requests, requests.c.id == func.substr(labels.c.prediction_id, 1, PREFIX_LENGTH))
        )
        result = connection.execute(joined.execution_options(yield_per=MIGRATE_ROWS_AT_ONCE))
        for chunk in result.partitions():
            connection.execute(
                insert(feedback),
                [
                    {
                        "prediction_id": old.prediction_id,
                        "request": old.prediction_id[:PREFIX_LENGTH],
                        "model_version": old.model_version,
                        "output": old.output,
                        "actual": old.actual,
                        "received_at": old.received_at,
                    }
                    for old in chunk
                ],
            )
            labelled += len(chunk)
        labels.drop(connection)
    predictions.drop(connection)
    logger.info(
        "prediction log: its rows per record were moved to rows per request",
        extra={
            "records": moved,
            "feedback": labelled,
            "dropped": dropped,
            "seconds": round(time.monotonic() - started, 3),
        },
    )


def _add_request_row(rows: list[dict[str, Any]], prefix: str | None, records: list[Any]) -> int:
    """Add the row of the request whose records are ``records``; how many were dropped
    instead (all of them, if their indices are not 0 to n - 1: the arrays would misplace
    them)."""
    if prefix is None or not records:
        return 0
    by_index = sorted((int(record.id[PREFIX_LENGTH + 1 :]), record) for record in records)
    if [index for index, _ in by_index] != list(range(len(by_index))):
        return len(records)
    indexed = [record for _, record in by_index]
    first = indexed[0]
    rows.append(
        {
            "id": prefix,
            "created_at": first.created_at,
            "model_name": first.model_name,
            "model_version": first.model_version,
            "request_id": first.request_id,
            "records": len(indexed),
            "inputs": [record.inputs for record in indexed],
            "outputs": [record.output for record in indexed],
            "latency_ms": first.latency_ms,
        }
    )
    return 0


def _insert_moved(connection: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert ``rows`` and empty the list; how many records they held."""
    if not rows:
        return 0
    connection.execute(insert(requests), rows)
    count = _records(rows)
    rows.clear()
    return count
