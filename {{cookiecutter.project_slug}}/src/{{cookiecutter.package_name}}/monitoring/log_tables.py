"""The prediction log's tables: a row per request, feedback, and the per-record tables of
logs written by earlier versions (read once, by the migration)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table
from sqlalchemy.types import TypeDecorator

from .prediction_ids import ID_LENGTH


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


def records_in(rows: Iterable[Mapping[str, Any]]) -> int:
    """How many records request rows hold."""
    return sum(row["records"] for row in rows)


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
