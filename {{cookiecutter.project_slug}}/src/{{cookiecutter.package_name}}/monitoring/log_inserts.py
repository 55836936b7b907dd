"""Rows inserted as the database driver takes them, many rows per statement where it can."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect

#: Most parameters in one SQL statement (SQLite's limit since 3.32).
MAX_PARAMETERS = 32_766
#: Most rows in one multi-row INSERT (see ``DriverInsert._rows_in_next``).
MAX_ROWS_PER_STATEMENT = 512


class DriverInsert:
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
