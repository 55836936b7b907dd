"""Records from data: a CSV with a feature-name header, request-shaped JSON, or a DataFrame.

Each feature's values are read by its type (``features.FEATURE_TYPES``).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ..model.features import FEATURES
from ..monitoring.evaluation import target_from_python, target_from_text
from .errors import echoed
from .feature_values import from_python, from_text

Record = dict[str, Any]


class RecordsError(Exception):
    """Data cannot be read as records; the message names the line (or row) and column."""


@dataclass(frozen=True)
class Table:
    """Records, the true outcome of each if a target column was named, and where they came from."""

    records: list[Record]
    targets: list[Any] | None
    source: str

    def __len__(self) -> int:
        return len(self.records)


#: A CSV row: the line it ends on in the file (as editors number them), and its cells as text.
Row = tuple[int, dict[str, str]]


def read_csv(path: Path) -> tuple[list[str], list[Row]]:
    """The header and the rows of a CSV file, each row with its line number."""
    rows = []
    try:
        # utf-8-sig: spreadsheets often start a CSV with a byte-order mark.
        with open(path, newline="", encoding="utf-8-sig") as file:
            # A short row's missing cells read as None (restval); a present cell is a string.
            reader = csv.DictReader(file, restval=None)
            for row in reader:
                rows.append((reader.line_num, row))  # blank and multi-line cells counted
            header = list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RecordsError(f"cannot read {path} as CSV: {error}") from None
    if not header:
        raise RecordsError(f"{path} is empty: it needs a header line of feature names")
    _check_unique(str(path), header)
    for line, row in rows:
        if None in row:  # DictReader's key for cells beyond the header
            raise RecordsError(f"{path}, line {line}: more cells than the header has columns")
        if None in row.values():
            raise RecordsError(f"{path}, line {line}: fewer cells than the header has columns")
    _check_columns(str(path), header)
    return header, rows


def _check_unique(source: str, columns: Sequence[str]) -> None:
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise RecordsError(f"{source} names column {', '.join(repeated)} more than once")


def _check_columns(source: str, columns: Sequence[str]) -> None:
    missing = [name for name in FEATURES if name not in columns]
    if missing:
        raise RecordsError(
            f"{source} has no column {', '.join(missing)}; it needs every feature: "
            f"{', '.join(FEATURES)}"
        )


def _read_cell(where: str, name: str, value: Any, read: Callable[[Any], Any]) -> Any:
    try:
        return read(value)
    except ValueError as error:
        raise RecordsError(f"{where}, column {name}: {value!r} {error}") from None


def typed_rows(path: Path, rows: Sequence[Row]) -> list[Record]:
    """The feature cells of each CSV row, each read by its feature's type."""
    return [
        {
            name: _read_cell(f"{path}, line {line}", name, row.get(name), partial(from_text, name))
            for name in FEATURES
        }
        for line, row in rows
    ]


def refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's pairs as a dict, refusing a key that appears twice (``object_pairs_hook``).

    json.loads keeps the last of repeated keys; which value counts must not be a guess.
    """
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:  # one pass: a body of many keys costs linear time
            if key in seen:
                raise ValueError(f"the key {echoed(key)!r} appears twice in one object")
            seen.add(key)
    return record


# Where a JSON text may spell a UTF-16 surrogate; only then are its strings looked at.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse_json(data: bytes | str) -> Any:
    """JSON text as Python values; ValueError (RecursionError when nested too deep) unless it
    is valid JSON in UTF-8 with no key repeated in one object and no lone surrogate.

    json.loads takes a lone surrogate (``"\\ud800"``): a string no UTF-8 text, log line or
    database column can hold, so it would fail far from here.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    value = json.loads(text, object_pairs_hook=refuse_repeated_keys)
    if _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(value)
    return value


def _refuse_lone_surrogates(value: Any) -> None:
    pending = [value]
    while pending:  # a loop, not recursion: the depth is the client's
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    "a string holds a lone UTF-16 surrogate, which is not text"
                ) from None


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object a file holds, read as ``parse_json`` reads a request body."""
    try:
        data = parse_json(path.read_bytes())
    except (OSError, ValueError, RecursionError) as error:
        raise RecordsError(f"cannot read {path} as JSON: {error}") from None
    if not isinstance(data, dict):
        raise RecordsError(f"{path} must hold a JSON object")
    return data


def read_instances(path: Path) -> tuple[list[Any], list[str]]:
    """The records to score in ``path`` and the CSV columns left out because they are not
    features (a target, an id). JSON records are returned as found, to be validated like a
    request's."""
    if path.suffix.lower() == ".json":
        data = read_json_object(path)
        if not isinstance(data.get("instances"), list):
            raise RecordsError(f"{path} must hold a JSON object with an 'instances' array")
        if not data["instances"]:
            raise RecordsError(f"{path} holds no records: its 'instances' array is empty")
        return data["instances"], []
    if path.suffix.lower() == ".csv":
        header, rows = read_csv(path)
        if not rows:
            raise RecordsError(f"{path} has a header but no rows")
        return typed_rows(path, rows), [name for name in header if name not in FEATURES]
    raise RecordsError(f"{path} must be a .csv or a .json file")


def read_table(data: Any, target: str | None = None) -> Table:
    """Records and, if ``target`` names a column, its outcomes: from a pandas DataFrame, or
    from a CSV file (a path). Columns that are not features or the target are ignored."""
    if isinstance(data, str | Path):
        return _csv_table(Path(data), target)
    if hasattr(data, "columns") and hasattr(data, "index"):
        return _frame_table(data, target)
    raise RecordsError(
        f"cannot read records from a {type(data).__name__}: give a pandas DataFrame or the "
        "path of a CSV file"
    )


def _csv_table(path: Path, target: str | None) -> Table:
    header, rows = read_csv(path)
    if not rows:
        raise RecordsError(f"{path} has a header but no rows")
    if target is not None and target not in header:
        raise RecordsError(f"{path} has no target column {target!r}")
    targets = None
    if target is not None:
        targets = [
            _read_cell(f"{path}, line {line}", target, row[target], target_from_text)
            for line, row in rows
        ]
    return Table(typed_rows(path, rows), targets, f"{path.name}, {len(rows)} records")


def _frame_table(frame: Any, target: str | None) -> Table:
    columns = [str(column) for column in frame.columns]
    _check_unique("the DataFrame", columns)
    _check_columns("the DataFrame", columns)
    if len(frame) == 0:
        raise RecordsError("the DataFrame has no rows")
    if target is not None and target not in columns:
        raise RecordsError(f"the DataFrame has no target column {target!r}")
    labels = frame.index.tolist()

    def column(name: str, read: Callable[[Any], Any]) -> list[Any]:
        # tolist() gives Python values (int, float, bool, str) for NumPy's.
        return [
            _read_cell(f"the DataFrame, row {label!r}", name, value, read)
            for label, value in zip(labels, frame[name].tolist(), strict=True)
        ]

    values = {name: column(name, partial(from_python, name)) for name in FEATURES}
    records = [dict(zip(FEATURES, row, strict=True)) for row in zip(*values.values(), strict=True)]
    targets = column(target, target_from_python) if target is not None else None
    return Table(records, targets, f"a DataFrame of {len(records)} records")
