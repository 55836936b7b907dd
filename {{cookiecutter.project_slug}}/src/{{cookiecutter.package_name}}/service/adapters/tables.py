"""Records from the shapes of table the standard protocols send.

Rows as objects (records), rows as arrays in feature order, columns by name, and CSV text.

Each returns records (dicts of feature -> value) to be validated like ``/v1/predict``'s
``instances``, or raises an ApiError (400) naming what is wrong with the shape. Values are
not checked here: validation does it, and names each bad one by row and feature.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from ...model.features import FEATURES
from ..errors import ApiError, echoed
from ..feature_values import from_text

Record = dict[str, Any]


def invalid(message: str) -> ApiError:
    """A request whose shape is wrong (400, whatever the dialect)."""
    return ApiError(400, "invalid_request", message)


def _features_in_order() -> str:
    return f"the {len(FEATURES)} features, in this order: {', '.join(FEATURES)}"


def instances(body: Any, *, extra: tuple[str, ...] = ()) -> list[Any]:
    """The records of a ``{"instances": [...]}`` body (KServe V1, Vertex AI, TF Serving), or of
    ``{"inputs": ...}``, rows or columns; ``extra`` keys are allowed beside and ignored."""
    if not isinstance(body, Mapping):
        raise invalid("The body must be a JSON object with 'instances'.")
    unknown = [key for key in body if key not in ("instances", "inputs", *extra)]
    if unknown or ("instances" in body) == ("inputs" in body):
        allowed = ", ".join(repr(key) for key in ("instances", "inputs", *extra))
        raise invalid(
            f"The body must hold exactly one of 'instances' and 'inputs' (keys allowed: "
            f"{allowed}); it holds {', '.join(repr(echoed(str(key))) for key in body) or 'nothing'}."
        )
    if "instances" in body:
        return records_from_rows(body["instances"], "instances")
    if isinstance(body["inputs"], Mapping):
        return records_from_columns(body["inputs"], "inputs")
    return records_from_rows(body["inputs"], "inputs")


def records_from_rows(rows: Any, where: str) -> list[Any]:
    """Rows as records: each an object of feature values (kept as it is, for validation to
    judge), or an array of them in feature order; with one feature, a value alone (as
    TF Serving's row format sends a one-column table)."""
    if not isinstance(rows, list):
        raise invalid(f"'{where}' must be an array of rows.")
    records: list[Any] = []
    for index, row in enumerate(rows):
        if isinstance(row, list):
            if len(row) != len(FEATURES):
                raise invalid(
                    f"'{where}' row {index} has {len(row)} values; a row as an array holds "
                    f"{_features_in_order()}."
                )
            records.append(dict(zip(FEATURES, row, strict=True)))
        elif len(FEATURES) == 1 and not isinstance(row, dict):
            records.append({FEATURES[0]: row})
        else:
            records.append(row)  # an object, or something validation will refuse by its row
    return records


def records_from_columns(columns: Any, where: str) -> list[Record]:
    """Columns by name (``{"sepal_length": [5.1, 4.9], ...}``) as records."""
    if not isinstance(columns, Mapping) or not columns:
        raise invalid(f"'{where}' must be an object of columns, a feature's values each.")
    lengths = set()
    for name, values in columns.items():
        if not isinstance(values, list):
            raise invalid(f"'{where}' column {echoed(str(name))!r} must be an array of values.")
        lengths.add(len(values))
    if len(lengths) != 1:
        raise invalid(f"'{where}' columns must all have the same number of values.")
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def records_from_split(split: Any, where: str) -> list[Record]:
    """pandas' ``orient="split"`` (``{"columns": [...], "data": [[...], ...]}``, an ``index``
    ignored) as records."""
    if not isinstance(split, Mapping) or set(split) - {"columns", "data", "index"}:
        raise invalid(f"'{where}' must be an object with 'columns' and 'data' (and an 'index').")
    columns, data = split.get("columns"), split.get("data")
    if not isinstance(columns, list) or not all(isinstance(name, str) for name in columns):
        raise invalid(f"'{where}.columns' must be an array of column names.")
    if len(set(columns)) != len(columns):
        raise invalid(f"'{where}.columns' names a column twice.")
    if not isinstance(data, list):
        raise invalid(f"'{where}.data' must be an array of rows.")
    records = []
    for index, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise invalid(f"'{where}.data' row {index} must be an array of {len(columns)} values.")
        records.append(dict(zip(columns, row, strict=True)))
    return records


def records_from_csv(text: str) -> list[Record]:
    """CSV lines as records: with a first line of feature names (any order), or without one,
    each line's cells in feature order (as SageMaker batch transform sends them). Each cell is
    read by its feature's type, as ``predict FILE`` reads a CSV."""
    rows = list(csv.reader(io.StringIO(text)))
    rows = [row for row in rows if row]  # a final newline, blank lines
    if not rows:
        raise invalid("The CSV body holds no rows.")
    header = rows[0]
    has_header = set(FEATURES) <= set(header)
    if has_header:
        if len(set(header)) != len(header):
            raise invalid("The CSV header names a column twice.")
        unknown = [name for name in header if name not in FEATURES]
        if unknown:
            raise invalid(
                f"The CSV header names columns that are not features: "
                f"{', '.join(echoed(name) for name in unknown[:5])}; the features are "
                f"{', '.join(FEATURES)}."
            )
        names, rows = header, rows[1:]
        if not rows:
            raise invalid("The CSV body has a header but no rows.")
    else:
        names = list(FEATURES)
    expected = (
        f"{len(names)}, as its header"
        if has_header
        else f"{_features_in_order()} (or send a header line of feature names)"
    )
    records = []
    for index, row in enumerate(rows):
        if len(row) != len(names):
            raise invalid(f"CSV row {index} has {len(row)} cells; each row holds {expected}.")
        records.append(
            {name: typed_cell(index, name, cell) for name, cell in zip(names, row, strict=True)}
        )
    return records


def typed_cell(index: int, name: str, text: str) -> Any:
    """Row ``index``'s cell of feature ``name``, read by the feature's type: a 422 naming the
    row and feature if it is not one of its values."""
    try:
        return from_text(name, text)
    except ValueError as error:
        raise ApiError(
            422,
            "validation_error",
            f"Invalid input: instances.{index}.{name}: {error}.",
            {f"instances.{index}.{name}": [f"{echoed(text)!r} {error}."]},
        ) from None
