"""One feature's value read by its type, from a CSV cell or a Python or NumPy value.

A DataFrame's cells are Python or NumPy values; requests are validated by
schemas.InstanceSchema instead.

Each reader returns the value as the API would pass it on (float, int, bool or str) or raises
ValueError with what is wrong, for the caller to place (file, line, column).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from ..model.features import FEATURE_TYPES, FeatureType

#: Numbers beyond this magnitude are refused, in requests too (schemas.JSONNumber).
MAX_MAGNITUDE = 1e100
#: The same bound for whole numbers, exact: 10**100 + 1 is beyond it, though it is 1e100 as a
#: float (the OpenAPI document's ``maximum`` is read exactly).
MAX_WHOLE_MAGNITUDE = 10**100
#: The longest category value accepted, in requests too (schemas.CategoryValue).
MAX_CATEGORY_LENGTH = 200
TRUE_TEXTS = frozenset({"true", "1", "yes"})
FALSE_TEXTS = frozenset({"false", "0", "no"})


def beyond_magnitude(number: float) -> bool:
    """Whether a number is beyond ±MAX_MAGNITUDE; a whole number is compared as it is, not
    rounded to a float first."""
    if isinstance(number, int):
        return abs(number) > MAX_WHOLE_MAGNITUDE
    return abs(number) > MAX_MAGNITUDE


def _finite(number: float) -> float:
    if not math.isfinite(number):
        raise ValueError("is not finite")
    if abs(number) > MAX_MAGNITUDE:
        raise ValueError(f"is beyond ±{MAX_MAGNITUDE:g}")
    return number


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError("is not a number")
    return _finite(float(value))


def _int(value: Any) -> int:
    number = _float(value)
    if not number.is_integer():
        raise ValueError("is not a whole number")
    return int(number)


def _bool(value: Any) -> bool:
    # NumPy's bool is no subclass of bool; a DataFrame's bool column holds it. 0 and 1 are
    # flags too (pandas reads a CSV's 0/1 column as integers), as in a CSV cell.
    if type(value).__name__ in ("bool", "bool_"):
        return bool(value)
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    raise ValueError("is not true or false")


def _category(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"is {type(value).__name__}, not a string: category values are text "
            "(convert the column with .astype(str) before fitting, or give the feature another type)"
        )
    if not value:
        raise ValueError("is empty")
    if len(value) > MAX_CATEGORY_LENGTH:
        raise ValueError(f"is longer than {MAX_CATEGORY_LENGTH} characters")
    return value


def _bool_text(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE_TEXTS:
        return True
    if lowered in FALSE_TEXTS:
        return False
    raise ValueError("is not true or false")


def _number_text(text: str) -> float:
    # float() also reads "1_000": a CSV cell with an underscore is a typo, not a number.
    try:
        if "_" in text:
            raise ValueError
        return float(text)
    except ValueError:
        raise ValueError("is not a number") from None


FROM_PYTHON: dict[FeatureType, Callable[[Any], Any]] = {
    "float": _float,
    "int": _int,
    "bool": _bool,
    "category": _category,
}
FROM_TEXT: dict[FeatureType, Callable[[str], Any]] = {
    "float": lambda text: _float(_number_text(text)),
    "int": lambda text: _int(_number_text(text)),
    "bool": _bool_text,
    "category": _category,
}


def _missing(value: Any) -> bool:
    # None, NaN, and pandas' own markers of a missing value (pd.NA, pd.NaT).
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, float) and math.isnan(value)


def from_python(name: str, value: Any) -> Any:
    """Feature ``name``'s value from a Python or NumPy value; ValueError if it has no such value."""
    if _missing(value):
        raise ValueError("is missing (the service takes no missing values: fill or drop them)")
    return FROM_PYTHON[FEATURE_TYPES[name]](value)


def from_text(name: str, text: str | None) -> Any:
    """Feature ``name``'s value from a CSV cell; ValueError if the cell holds no such value."""
    if text is None or text == "":
        raise ValueError("is empty")
    return FROM_TEXT[FEATURE_TYPES[name]](text)
