{%- set types = (cookiecutter.features | feature_types).values() | list -%}
"""Bad input: every case is a 422 naming the field and the problem, never a 500."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }} import runtime
from {{ cookiecutter.package_name }}.model.features import FEATURE_TYPES, FEATURES
{%- if "category" in types %}
from {{ cookiecutter.package_name }}.store.registry import ModelStore
{%- endif %}

FIRST = FEATURES[0]
# A value of the wrong type for each type of feature, and the problem reported.
WRONG = {
    "float": ("oops", "Must be a JSON number."),
    "int": ("oops", "Must be a JSON number."),
    "bool": ("oops", "Must be true or false."),
    "category": (5, "Must be a string: one of the category's values."),
}


def body_with(value_text: str, record: dict[str, Any], name: str = FIRST) -> str:
    """A request body whose feature ``name`` is the raw JSON text ``value_text``."""
    fields = [f'"{name}": {value_text}'] + [
        f'"{other}": {json.dumps(value)}' for other, value in record.items() if other != name
    ]
    return '{"instances": [{' + ", ".join(fields) + "}]}"
{%- if "float" in types %}


NUMBER = next(name for name, kind in FEATURE_TYPES.items() if kind == "float")
# (raw JSON text of a float feature's value, the problem reported)
BAD_VALUES = [
    ('"5.1"', "Must be a JSON number."),
    ('""', "Must be a JSON number."),
    ("true", "Must be a JSON number."),
    ("null", "Field may not be null."),
    ("NaN", "Special numeric values (nan or infinity) are not permitted."),
    ("Infinity", "Special numeric values (nan or infinity) are not permitted."),
    ("-Infinity", "Special numeric values (nan or infinity) are not permitted."),
    ("1e400", "Special numeric values (nan or infinity) are not permitted."),
    ("1" + "0" * 400, "Must be between -1e+100 and 1e+100."),
    ("1" + "0" * 99 + "1", "Must be between -1e+100 and 1e+100."),  # 10**100 + 1, exactly
    ("1e101", "Must be between -1e+100 and 1e+100."),
    ("-1.7e308", "Must be between -1e+100 and 1e+100."),
    ("[1]", "Must be a JSON number."),
    ('{"value": 1}', "Must be a JSON number."),
]


def post(client: FlaskClient, data: str | bytes) -> Any:
    return client.post("/v1/predict", data=data, content_type="application/json")


def assert_invalid(response: Any, field: str, problem: str) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert problem in error["fields"][field]
    assert field in error["message"]


@pytest.mark.parametrize(("value_text", "problem"), BAD_VALUES)
def test_bad_number_names_the_field(
    client: FlaskClient, instance: dict[str, Any], value_text: str, problem: str
) -> None:
    response = post(client, body_with(value_text, instance, NUMBER))
    assert_invalid(response, f"instances.0.{NUMBER}", problem)


def test_the_largest_allowed_magnitude_is_scored_or_said_unscorable(
    client: FlaskClient, instance: dict[str, Any]
) -> None:
    response = post(client, body_with("-1e100", instance, NUMBER))
    if not runtime.COMPUTES_IN_FLOAT32:
        assert response.status_code == 200, response.get_data(as_text=True)
        return
    # Valid JSON within the API's bound, but infinite in the network's float32.
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "unscorable_input"
    assert list(response.get_json()["error"]["fields"]) == ["instances.0"]
{%- endif %}
{%- if "int" in types or "bool" in types %}


# (the type, raw JSON text of a feature of that type, the status it gets)
TYPED_VALUES = [
{%- if "int" in types %}
    ("int", "3", 200),
    ("int", "3.0", 200),
    ("int", "2.5", 422),
    ("int", '"3"', 422),
    ("int", "true", 422),
    # Just over the bounds, exactly as the OpenAPI document states them (±10**100).
    ("int", "1" + "0" * 99 + "1", 422),
    ("int", "1e100", 422),  # the float nearest 1e100 is just over 10**100
{%- endif %}
{%- if "bool" in types %}
    ("bool", "true", 200),
    ("bool", "false", 200),
    ("bool", "1", 422),
    ("bool", '"true"', 422),
    ("bool", "null", 422),
{%- endif %}
]


@pytest.mark.parametrize(("kind", "value_text", "status"), TYPED_VALUES)
def test_whole_numbers_and_flags_take_their_json_type_only(
    client: FlaskClient, instance: dict[str, Any], kind: str, value_text: str, status: int
) -> None:
    name = next(name for name, feature_type in FEATURE_TYPES.items() if feature_type == kind)
    response = post(client, body_with(value_text, instance, name))
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 422:
        assert list(response.get_json()["error"]["fields"]) == [f"instances.0.{name}"]
{%- endif %}
{%- if "int" in types %}


@pytest.mark.parametrize("value_text", ["9" * 100, "1" + "0" * 100, "-" + "1" + "0" * 100])
def test_a_whole_number_at_the_bounds_is_valid(
    client: FlaskClient, instance: dict[str, Any], value_text: str
) -> None:
    name = next(name for name, feature_type in FEATURE_TYPES.items() if feature_type == "int")
    response = post(client, body_with(value_text, instance, name))
    # Valid; a float32 network may still find it too large to score (unscorable_input).
    answered = response.status_code == 200
    assert answered or response.get_json()["error"]["code"] == "unscorable_input", response.data
{%- endif %}
{%- if "category" in types %}


def test_a_category_value_outside_the_training_data_lists_the_allowed_ones(
    client: FlaskClient, instance: dict[str, Any], store: ModelStore
) -> None:
    name = next(name for name, kind in FEATURE_TYPES.items() if kind == "category")
    allowed = sorted(store.metadata(1)["reference"][name]["values"])
    records = [instance, {**instance, name: "nowhere"}]
    response = post(client, json.dumps({"instances": records}))
    assert_invalid(
        response,
        f"instances.1.{name}",
        f"Must be one of the values in the training data: {', '.join(map(json.dumps, allowed))}.",
    )
    assert (
        post(client, json.dumps({"instances": [{**instance, name: allowed[-1]}]})).status_code
        == 200
    )


@pytest.mark.parametrize(("value_text", "problem"), [("5", "Must be a string"), ('""', "1 to 200")])
def test_a_category_value_is_a_short_string(
    client: FlaskClient, instance: dict[str, Any], value_text: str, problem: str
) -> None:
    name = next(name for name, kind in FEATURE_TYPES.items() if kind == "category")
    response = post(client, body_with(value_text, instance, name))
    assert response.status_code == 422
    assert problem in response.get_json()["error"]["fields"][f"instances.0.{name}"][0]
{%- endif %}


def test_a_repeated_key_is_refused(client: FlaskClient, instance: dict[str, Any]) -> None:
    body = body_with(f'"x", "{FIRST}": 1.0', instance)
    response = post(client, body)
    assert response.status_code == 400
    assert f"the key '{FIRST}' appears twice" in response.get_json()["error"]["message"]


def test_missing_feature(client: FlaskClient, instance: dict[str, Any]) -> None:
    record = {name: value for name, value in instance.items() if name != FIRST}
    response = post(client, json.dumps({"instances": [record]}))
    assert_invalid(response, f"instances.0.{FIRST}", "Missing data for required field.")


def test_unknown_feature_lists_the_real_ones(client: FlaskClient, instance: dict[str, Any]) -> None:
    response = post(client, json.dumps({"instances": [{**instance, "colour": 1.0}]}))
    assert_invalid(
        response, "instances.0.colour", f"Unknown field; the features are: {', '.join(FEATURES)}."
    )


def test_one_bad_record_fails_the_whole_batch(
    client: FlaskClient, instance: dict[str, Any]
) -> None:
    wrong, problem = WRONG[FEATURE_TYPES[FIRST]]
    records = [instance, instance, instance, {**instance, FIRST: wrong}, instance]
    response = post(client, json.dumps({"instances": records}))
    assert_invalid(response, f"instances.3.{FIRST}", problem)
    assert "predictions" not in response.get_json()


def test_every_bad_field_is_reported(client: FlaskClient, instance: dict[str, Any]) -> None:
    records = [{**instance, FIRST: [1]}, instance, {name: [2] for name in FEATURES}]
    fields = post(client, json.dumps({"instances": records})).get_json()["error"]["fields"]
    assert set(fields) == {f"instances.0.{FIRST}"} | {f"instances.2.{name}" for name in FEATURES}


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ("{}", "instances", "Missing data for required field."),
        ('{"instances": []}', "instances", "Send at least one instance."),
        ('{"instances": "all"}', "instances", "Not a valid list."),
        ('{"instances": {}}', "instances", "Not a valid list."),
        ('{"instances": [5]}', "instances.0", "Must be a JSON object of feature values."),
        ('{"instances": [[1, 2]]}', "instances.0", "Must be a JSON object of feature values."),
        ('{"instances": [null]}', "instances.0", "Field may not be null."),
        ("[]", "body", "Must be a JSON object with an 'instances' array."),
        ('"instances"', "body", "Must be a JSON object with an 'instances' array."),
        ("42", "body", "Must be a JSON object with an 'instances' array."),
        ("null", "body", "Must be a JSON object with an 'instances' array."),
    ],
)
def test_malformed_body_shape(client: FlaskClient, body: str, field: str, problem: str) -> None:
    assert_invalid(post(client, body), field, problem)


def test_unknown_top_level_key(client: FlaskClient, instance: dict[str, Any]) -> None:
    response = post(client, json.dumps({"instances": [instance], "model": "other"}))
    assert_invalid(response, "model", "Unknown field.")


def test_batch_over_the_limit_is_refused_before_validation(
    make_app: Callable[..., Flask], instance: dict[str, Any]
) -> None:
    client = make_app(MAX_BATCH_SIZE="3").test_client()
    # The records are invalid too: the size check comes first and alone.
    response = post(client, json.dumps({"instances": [{"x": 1}] * 4}))
    assert_invalid(
        response, "instances", "Send at most 3 instances per request (MAX_BATCH_SIZE); got 4."
    )
    assert list(response.get_json()["error"]["fields"]) == ["instances"]
    assert post(client, json.dumps({"instances": [instance] * 3})).status_code == 200
