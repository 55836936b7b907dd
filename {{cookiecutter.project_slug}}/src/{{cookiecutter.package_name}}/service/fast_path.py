"""Batches of valid records checked without marshmallow; anything else goes to marshmallow.

marshmallow spends about 20 microseconds on each record, most of it its own machinery, which
makes it the largest cost of a big batch. A batch of valid records needs none of its messages,
so ``BatchLoader`` checks each record with plain code that accepts exactly what the schema's
fields accept and gives the same values; at the first value it is unsure of, it hands the
whole body to marshmallow, which gives the answer it always gave (the value, or every message).

Only the field classes of ``schemas`` are checked here, with their validators (a
``validate=...`` on a field still applies). A schema with anything else (another field class, a
field with a default, a hook or a field validator of yours) is loaded by marshmallow alone:
edit ``schemas.py`` freely, the fast path steps aside.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing

from .feature_values import MAX_CATEGORY_LENGTH, MAX_MAGNITUDE, MAX_WHOLE_MAGNITUDE
from .fields import CategoryValue, CheckedList, JSONBoolean, JSONNumber, RecordSchema, WholeNumber
from .schemas import BatchRequestSchema

#: Sentinel: the value is not certainly valid (marshmallow decides).
UNSURE = object()

Check = Callable[[Any], Any]


def _number(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        # NaN and the infinities fail the comparison too.
        return value if -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE else UNSURE
    if kind is int and -MAX_WHOLE_MAGNITUDE <= value <= MAX_WHOLE_MAGNITUDE:
        number = float(value)
        return number if -MAX_MAGNITUDE <= number <= MAX_MAGNITUDE else UNSURE
    return UNSURE


def _whole(value: Any) -> Any:
    kind = type(value)
    if kind is int:
        return value if -MAX_WHOLE_MAGNITUDE <= value <= MAX_WHOLE_MAGNITUDE else UNSURE
    # Compared with the exact bound: the float 1e100 is over 10**100, and refused.
    if (
        kind is float
        and -MAX_WHOLE_MAGNITUDE <= value <= MAX_WHOLE_MAGNITUDE
        and value.is_integer()
    ):
        return int(value)
    return UNSURE


def _boolean(value: Any) -> Any:
    return value if type(value) is bool else UNSURE


def _category(value: Any) -> Any:
    return value if type(value) is str and 1 <= len(value) <= MAX_CATEGORY_LENGTH else UNSURE


#: The plain check of each field class, by exact class: a subclass may accept other values.
CHECKS: dict[type[fields.Field], Check] = {
    JSONNumber: _number,
    WholeNumber: _whole,
    JSONBoolean: _boolean,
    CategoryValue: _category,
}
#: The hooks of ``schemas``' own classes, which valid records pass.
KNOWN_HOOKS = {"refuse_crowded_object", "refuse_oversized_batch"}


def _with_validators(check: Check, validators: list[Callable[[Any], Any]]) -> Check:
    """``check``, then the field's validators, as marshmallow runs them: unsure if one fails."""

    def checked(value: Any) -> Any:
        result = check(value)
        if result is UNSURE:
            return UNSURE
        for validator in validators:
            try:
                if validator(result) is False:
                    return UNSURE
            except ValidationError:
                return UNSURE
        return result

    return checked


def _only_known_hooks(schema: Schema) -> bool:
    hooks = {name for entries in schema._hooks.values() for name, *_ in entries}
    return hooks <= KNOWN_HOOKS


def record_checks(schema: RecordSchema) -> list[tuple[str, str, Check]] | None:
    """Per field: the JSON key, the loaded key and the check; None if the schema is not one
    this module can check exactly."""
    if schema.opts.unknown != RAISE or not _only_known_hooks(schema):
        return None
    checks = []
    for name, field in schema.load_fields.items():
        check = CHECKS.get(type(field))
        plain = (
            field.required
            and not field.allow_none
            and field.load_default is missing
            and getattr(field, "allow_nan", False) is False
        )
        if check is None or not plain:
            return None
        if field.validators:
            check = _with_validators(check, list(field.validators))
        checks.append((field.data_key or name, field.attribute or name, check))
    return checks


class BatchLoader:
    """``schema.load``, faster for a batch of valid records: the same result, always."""

    def __init__(self, schema: BatchRequestSchema) -> None:
        self.schema = schema
        self._checks = None
        self._keys: frozenset[str] = frozenset()
        self._list_validators: list[Callable[[Any], Any]] = []
        items = schema.fields.get(schema.items_field)
        plain_list = (
            type(items) is CheckedList
            and type(items.inner) is fields.Nested
            and items.inner.only is None
            and not items.inner.exclude
            and len(schema.load_fields) == 1
            and schema.opts.unknown == RAISE
            and _only_known_hooks(schema)
            and (items.data_key or schema.items_field) == schema.items_field
        )
        if plain_list:
            # What plain_list checked, said to the type checker.
            assert isinstance(items, CheckedList)
            assert isinstance(items.inner, fields.Nested)
            inner = items.inner.schema
            if isinstance(inner, RecordSchema) and not items.inner.many:
                self._checks = record_checks(inner)
                self._list_validators = list(items.validators)
                self._keys = frozenset(key for key, _, _ in self._checks or [])

    def load(self, data: Any) -> dict[str, Any]:
        """What ``schema.load(data)`` returns; its ValidationError when the body is invalid."""
        loaded = self._fast(data)
        return self.schema.load(data) if loaded is None else loaded

    def _fast(self, data: Any) -> dict[str, Any] | None:
        checks, field = self._checks, self.schema.items_field
        if checks is None or type(data) is not dict or len(data) != 1:
            return None
        items = data.get(field)
        if type(items) is not list or not 1 <= len(items) <= self.schema.max_batch_size:
            return None
        keys = self._keys
        loaded = []
        for item in items:
            if type(item) is not dict or item.keys() != keys:
                return None
            record = {}
            for key, attribute, check in checks:
                value = check(item[key])
                if value is UNSURE:
                    return None
                record[attribute] = value
            loaded.append(record)
        for validator in self._list_validators:
            try:
                if validator(loaded) is False:
                    return None
            except ValidationError:
                return None
        return {field: loaded}
