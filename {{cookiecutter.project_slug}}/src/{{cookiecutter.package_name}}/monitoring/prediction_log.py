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
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError

from ..server.turns import turns
from ..service import json_text
from .http_metrics import PREDICTION_LOG_DROPPED, PREDICTION_LOG_UP, PREDICTION_LOG_WRITTEN
from .log_database import (
    create_private_file,
    describe_problem,
    make_engine,
    safe_url,
    sqlite_file,
)
from .log_inserts import DriverInsert
from .log_migration import migrate_per_record_rows, per_record_tables
from .log_tables import feedback, pending_feedback, records_in, requests, schema
from .prediction_ids import PREFIX_LENGTH, issued_at, split_id

logger = logging.getLogger(__name__)

#: Most records (over all the requests' rows) written in one transaction.
WRITE_BATCH_RECORDS = 5_000
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


class PredictionLogUnavailableError(Exception):
    """The prediction log's database cannot be used now; ``problem`` says why."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _may_still_be_queued(prediction_id: str, now: datetime) -> bool:
    issued = issued_at(prediction_id)
    return issued is not None and now - PENDING_WINDOW <= issued <= now + timedelta(seconds=5)


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
        self._insert: DriverInsert | None = None

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
                create_private_file(path)
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
            old = per_record_tables(connection)
            schema.create_all(connection)
            if old:
                migrate_per_record_rows(connection, *old)

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
            left = records_in(self._batch or [])
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
            self._insert = DriverInsert(requests, dialect, encoded=("inputs", "outputs"))
        return self._insert.statements(rows)

    def _refused(self, rows: list[dict[str, Any]], error: Exception) -> None:
        self._finish_batch(rows, written=False)
        logger.error(
            "prediction log: the database refused these rows; dropped",
            extra={
                "records": records_in(rows),
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
            PREDICTION_LOG_WRITTEN.inc(records_in(rows))
        else:
            PREDICTION_LOG_DROPPED.labels("write_failed").inc(records_in(rows))

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
