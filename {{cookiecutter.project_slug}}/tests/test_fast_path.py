"""The fast path of request validation gives exactly what marshmallow gives: the same records
for a valid batch, and marshmallow's own messages for anything else (it steps aside)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, fields, validate, validates_schema

from {{ cookiecutter.package_name }}.model.features import FEATURE_TYPES, FEATURES
from {{ cookiecutter.package_name }}.model.schemas import InstanceSchema
from {{ cookiecutter.package_name }}.service.fast_path import BatchLoader, record_checks
from {{ cookiecutter.package_name }}.service.feature_values import (
    MAX_MAGNITUDE,
    MAX_WHOLE_MAGNITUDE,
)
from {{ cookiecutter.package_name }}.service.fields import JSONNumber
from {{ cookiecutter.package_name }}.service.schemas import PredictRequestSchema

SCHEMA = PredictRequestSchema(max_batch_size=20)
LOADER = BatchLoader(SCHEMA)
#: Values at and around every bound the fields have, and of every JSON type.
EDGES = [
    0, -0.0, 1, 1.5, 3.0, True, False, None, "", "a", "x" * 200, "x" * 201, [], {},
    MAX_MAGNITUDE, -MAX_MAGNITUDE, MAX_WHOLE_MAGNITUDE, MAX_WHOLE_MAGNITUDE + 1,
    -MAX_WHOLE_MAGNITUDE - 1, 2**53 + 1, 2**64, 1e308, float("nan"), float("inf"),
]  # fmt: skip
VALUES = st.sampled_from(EDGES) | st.floats() | st.integers() | st.text(max_size=5) | st.booleans()


def outcome(load: Any, body: Any) -> tuple[str, Any]:
    try:
        return "loaded", load(body)
    except ValidationError as error:
        return "refused", error.messages


def same(body: Any) -> None:
    fast, slow = outcome(LOADER.load, body), outcome(SCHEMA.load, body)
    assert fast == slow
    if fast[0] == "loaded":  # the same values, of the same types (3 is not 3.0)
        assert [[type(v) for v in r.values()] for r in fast[1]["instances"]] == [
            [type(v) for v in r.values()] for r in slow[1]["instances"]
        ]


def test_the_fast_path_checks_this_bakes_schema() -> None:
    assert record_checks(InstanceSchema()) is not None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({name: VALUES for name in FEATURES}), min_size=1, max_size=4))
def test_any_batch_of_records_loads_as_marshmallow_loads_it(records: list[dict]) -> None:
    same({"instances": records})


@pytest.mark.parametrize(
    "body",
    [
        {"instances": []},
        {"instances": [{}] * 21},
        {"instances": {}},
        {"instances": [dict.fromkeys(FEATURES, 1.0)], "extra": 1},
        {"instances": [{**dict.fromkeys(FEATURES, 1.0), "extra": 1}]},
        {"instances": [dict.fromkeys(FEATURES[1:], 1.0)]},
        {"instances": [[1.0] * len(FEATURES)]},
        [],
        None,
    ],
)
def test_bodies_of_the_wrong_shape_get_marshmallows_messages(body: Any) -> None:
    same(body)


def test_a_validator_of_yours_still_applies() -> None:
    numbers = [name for name, kind in FEATURE_TYPES.items() if kind == "float"]
    if not numbers:
        pytest.skip("no float feature to bound")
    name = numbers[0]

    class Bounded(InstanceSchema):
        pass

    Bounded._declared_fields[name] = JSONNumber(required=True, validate=validate.Range(0, 1))

    class Request(PredictRequestSchema):
        instances = type(PredictRequestSchema._declared_fields["instances"])(
            fields.Nested(Bounded), required=True
        )

    schema = Request(max_batch_size=5)
    loader = BatchLoader(schema)
    typical = {"float": 0.5, "int": 1, "bool": True, "category": "v"}
    record = {key: typical[kind] for key, kind in FEATURE_TYPES.items()}
    assert loader._fast({"instances": [record]}) == {"instances": [record]}
    refused = outcome(loader.load, {"instances": [record | {name: 2.0}]})
    assert refused == outcome(schema.load, {"instances": [record | {name: 2.0}]})
    assert refused[0] == "refused"


def test_a_schema_hook_of_yours_makes_the_fast_path_step_aside() -> None:
    class Checked(InstanceSchema):
        @validates_schema
        def never(self, data: dict, **_kwargs: Any) -> None:
            raise ValidationError("refused by a hook")

    assert record_checks(Checked()) is None
