"""Records from files: a CSV with a header of feature names, or JSON in the request's shape."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .features import FEATURES


class RecordsError(Exception):
    """A file cannot be read as records; the message names the line and column."""


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV file, cells as text."""
    try:
        # utf-8-sig: spreadsheets often start a CSV with a byte-order mark.
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            rows = list(reader)
            header = list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RecordsError(f"cannot read {path} as CSV: {error}") from None
    if not header:
        raise RecordsError(f"{path} is empty: it needs a header line of feature names")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise RecordsError(f"{path} names column {', '.join(repeated)} more than once")
    for line, row in enumerate(rows, start=2):
        if None in row:  # DictReader's key for cells beyond the header
            raise RecordsError(f"{path}, line {line}: more cells than the header has columns")
    missing = [name for name in FEATURES if name not in header]
    if missing:
        raise RecordsError(
            f"{path} has no column {', '.join(missing)}; the header must name every feature: "
            f"{', '.join(FEATURES)}"
        )
    return header, rows


def numeric_rows(path: Path, rows: Sequence[dict[str, str]]) -> list[dict[str, float]]:
    """The feature cells of each row as finite numbers."""
    records = []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        record = {}
        for name in FEATURES:
            cell = row.get(name)
            try:
                value = float(cell)
            except (TypeError, ValueError):
                raise RecordsError(
                    f"{path}, line {line}, column {name}: {cell!r} is not a number"
                ) from None
            if not math.isfinite(value):
                raise RecordsError(f"{path}, line {line}, column {name}: {cell!r} is not finite")
            record[name] = value
        records.append(record)
    return records


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object a file holds."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise RecordsError(f"cannot read {path} as JSON: {error}") from None
    if not isinstance(data, dict):
        raise RecordsError(f"{path} must hold a JSON object")
    return data


def read_instances(path: Path) -> list[Any]:
    """The records to score in ``path``: a CSV of exactly the features, or request-shaped JSON.

    JSON records are returned as found, to be validated like a request's.
    """
    if path.suffix.lower() == ".json":
        data = read_json_object(path)
        if not isinstance(data.get("instances"), list):
            raise RecordsError(f"{path} must hold a JSON object with an 'instances' array")
        return data["instances"]
    if path.suffix.lower() == ".csv":
        header, rows = read_csv(path)
        unknown = [name for name in header if name not in FEATURES]
        if unknown:
            raise RecordsError(
                f"{path} has columns that are not features: {', '.join(unknown)}; "
                f"the features are: {', '.join(FEATURES)}"
            )
        return numeric_rows(path, rows)
    raise RecordsError(f"{path} must be a .csv or a .json file")


def read_reference_data(path: Path, target: str | None) -> tuple[np.ndarray, list[str] | None]:
    """The features of a CSV (other columns ignored) and, if named, its target column as text."""
    header, rows = read_csv(path)
    if not rows:
        raise RecordsError(f"{path} has a header but no rows")
    if target is not None and target not in header:
        raise RecordsError(f"{path} has no target column {target!r}")
    records = numeric_rows(path, rows)
    features = np.array([[record[name] for name in FEATURES] for record in records])
    targets = [row[target] for row in rows] if target is not None else None
    return features, targets
