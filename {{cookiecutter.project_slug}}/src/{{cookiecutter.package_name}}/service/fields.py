"""The field classes requests are validated with: each feature type's, and their limits.

marshmallow's own fields accept what JSON does not mean (``"1"`` for a number, ``1`` for a
boolean); these take the JSON type alone, refuse what the service cannot score (NaN, huge
numbers, long strings), and state every limit in /openapi.json.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, utils
from marshmallow.types import ErrorMessages

from .errors import MAX_REPORTED_FIELDS, flatten_messages
from .feature_values import (
    MAX_CATEGORY_LENGTH,
    MAX_MAGNITUDE,
    MAX_WHOLE_MAGNITUDE,
    beyond_magnitude,
)

# Numbers beyond MAX_MAGNITUDE are refused: far past any real feature, and small enough that
# scaling or a dot product cannot overflow to infinity. Tighten a feature's range with
# ``validate=validate.Range(...)`` on its field.


def _documented(limits: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` whose metadata states ``limits`` in /openapi.json (apispec copies OpenAPI
    keywords from a field's metadata): the document shows every limit the service enforces."""
    return {**kwargs, "metadata": {**limits, **kwargs.get("metadata", {})}}


class JSONNumber(fields.Float):
    """A finite JSON number: strings such as "5.1", booleans, null, NaN and infinities fail."""

    default_error_messages: ErrorMessages = {
        "not_number": "Must be a JSON number.",
        "out_of_range": f"Must be between -{MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}.",
    }

    def __init__(self, **kwargs: Any) -> None:
        limits = {"minimum": -MAX_MAGNITUDE, "maximum": MAX_MAGNITUDE}
        super().__init__(**_documented(limits, kwargs))

    def _validated(self, value: Any) -> float:
        # marshmallow's Float also accepts numeric strings; the API takes numbers only.
        if type(value) not in (int, float):
            raise self.make_error("not_number")
        if type(value) is int and beyond_magnitude(value):  # before Float rounds it
            raise self.make_error("out_of_range")
        number = super()._validated(value)
        if beyond_magnitude(number):
            raise self.make_error("out_of_range")
        return number


class WholeNumber(JSONNumber):
    """A whole JSON number (``3``, or ``3.0``); ``3.5`` fails."""

    default_error_messages: ErrorMessages = {"not_whole": "Must be a whole number."}

    def __init__(self, **kwargs: Any) -> None:
        # Whole bounds, exact: a client that checks "maximum: 1e+100" in floats cannot tell
        # 10**100 + 1 from it.
        limits = {"minimum": -MAX_WHOLE_MAGNITUDE, "maximum": MAX_WHOLE_MAGNITUDE}
        super().__init__(**_documented(limits, kwargs))

    def _validated(self, value: Any) -> int:
        number = super()._validated(value)  # a JSON integer's bound is checked there, exactly
        if type(value) is int:
            return value  # as sent: through a float, 2**53 + 1 would become 2**53
        if abs(number) > MAX_WHOLE_MAGNITUDE:  # compared exactly: the float 1e100 is over it
            raise self.make_error("out_of_range")
        if not number.is_integer():
            raise self.make_error("not_whole")
        return int(number)


class JSONBoolean(fields.Field):
    """``true`` or ``false``: strings such as "true", numbers and null fail."""

    default_error_messages: ErrorMessages = {"not_boolean": "Must be true or false."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("not_boolean")
        return value


class CategoryValue(fields.String):
    """A category's value: a non-empty JSON string (numbers fail), at most 200 characters."""

    default_error_messages: ErrorMessages = {
        "invalid": "Must be a string: one of the category's values.",
        "length": f"Must be 1 to {MAX_CATEGORY_LENGTH} characters.",
    }

    def __init__(self, **kwargs: Any) -> None:
        limits = {"minLength": 1, "maxLength": MAX_CATEGORY_LENGTH}
        super().__init__(**_documented(limits, kwargs))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not 1 <= len(text) <= MAX_CATEGORY_LENGTH:
            raise self.make_error("length")
        return text


class RecordSchema(Schema):
    """A JSON object of named fields. One with far more keys than it has fields is refused as
    a whole: listing each unknown key of a body that is nothing but keys would cost more than
    the answer can show (it lists MAX_REPORTED_FIELDS problems)."""

    @pre_load
    def refuse_crowded_object(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, dict) and len(data) > len(self.fields) + MAX_REPORTED_FIELDS:
            names = ", ".join(field.data_key or name for name, field in self.fields.items())
            raise ValidationError(f"Has {len(data)} fields; send only these: {names}.")
        return data


class CheckedList(fields.List):
    """A list whose items are checked in order until MAX_REPORTED_FIELDS problems are found.

    The answer lists no more problems than that, so checking on would only cost time: a body
    of a thousand bad records costs what one of a few does.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        if not utils.is_collection(value):
            raise self.make_error("invalid")
        value = value if isinstance(value, Sized) else list(value)  # a JSON array is a list
        result = []
        errors: dict[Any, Any] = {}
        problems = 0
        for index, item in enumerate(value):
            try:
                result.append(self.inner.deserialize(item, **kwargs))
            except ValidationError as error:
                errors[index] = error.messages
                problems += len(flatten_messages(error.messages))
                if problems >= MAX_REPORTED_FIELDS and index + 1 < len(value):
                    stopped = (
                        f"Checked items 0 to {index} of {len(value)}, then stopped: they hold "
                        f"{problems} problems already."
                    )
                    errors = {"_schema": [stopped], **errors}
                    break
        if errors:
            raise ValidationError(errors)
        return result
