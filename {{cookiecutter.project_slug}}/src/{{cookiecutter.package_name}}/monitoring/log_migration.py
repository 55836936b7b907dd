"""Logs written before a request became one row: their rows moved into a row per request."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Connection, Table, func, insert, inspect, select

from .log_tables import feedback, per_record_feedback, per_record_predictions, records_in, requests
from .prediction_ids import ISSUED_ID, PREFIX_LENGTH

logger = logging.getLogger(__name__)

#: Rows moved at a time.
MIGRATE_ROWS_AT_ONCE = 5_000


def per_record_tables(connection: Connection) -> tuple[Table, Table | None] | None:
    """The per-record log's tables this database has (its feedback may be missing), or None."""
    names = set(inspect(connection).get_table_names())
    if per_record_predictions.name not in names:
        return None
    has_feedback = per_record_feedback.name in names
    return per_record_predictions, per_record_feedback if has_feedback else None


def migrate_per_record_rows(
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
        if ISSUED_ID.fullmatch(old.id) is None:
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
    count = records_in(rows)
    rows.clear()
    return count
