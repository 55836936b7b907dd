"""Bad input: every case is a 422 naming the field and the problem, never a 500."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.features import FEATURES

FIRST = FEATURES[0]


def body_with(value_text: str, record: dict[str, float]) -> str:
    """A request body whose first feature is the raw JSON text ``value_text``."""
    fields = [f'"{FIRST}": {value_text}'] + [
        f'"{name}": {json.dumps(value)}' for name, value in record.items() if name != FIRST
    ]
    return '{"instances": [{' + ", ".join(fields) + "}]}"


# (raw JSON text of the first feature's value, the problem reported)
BAD_VALUES = [
    ('"5.1"', "Must be a JSON number."),
    ('""', "Must be a JSON number."),
    ("true", "Must be a JSON number."),
    ("null", "Field may not be null."),
    ("NaN", "Special numeric values (nan or infinity) are not permitted."),
    ("Infinity", "Special numeric values (nan or infinity) are not permitted."),
    ("-Infinity", "Special numeric values (nan or infinity) are not permitted."),
    ("1e400", "Special numeric values (nan or infinity) are not permitted."),
    ("1" + "0" * 400, "Number too large."),
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
def test_bad_feature_value_names_the_field(
    client: FlaskClient, instance: dict[str, float], value_text: str, problem: str
) -> None:
    assert_invalid(post(client, body_with(value_text, instance)), f"instances.0.{FIRST}", problem)


{% if cookiecutter.framework == "sklearn" -%}
def test_the_largest_allowed_magnitude_is_scored(
    client: FlaskClient, instance: dict[str, float]
) -> None:
    response = post(client, body_with("-1e100", instance))
    assert response.status_code == 200, response.get_data(as_text=True)
{%- else -%}
def test_a_magnitude_beyond_float32_is_unscorable_not_an_error(
    client: FlaskClient, instance: dict[str, float]
) -> None:
    # Valid JSON within the API's bound, but infinite in the network's float32.
    response = post(client, body_with("-1e100", instance))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "unscorable_input"
    assert list(response.get_json()["error"]["fields"]) == ["instances.0"]
{%- endif %}


def test_a_repeated_key_is_refused(client: FlaskClient, instance: dict[str, float]) -> None:
    body = body_with(f'"x", "{FIRST}": 1.0', instance)
    response = post(client, body)
    assert response.status_code == 400
    assert f"the key '{FIRST}' appears twice" in response.get_json()["error"]["message"]


def test_missing_feature(client: FlaskClient, instance: dict[str, float]) -> None:
    record = {name: value for name, value in instance.items() if name != FIRST}
    response = post(client, json.dumps({"instances": [record]}))
    assert_invalid(response, f"instances.0.{FIRST}", "Missing data for required field.")


def test_unknown_feature_lists_the_real_ones(
    client: FlaskClient, instance: dict[str, float]
) -> None:
    response = post(client, json.dumps({"instances": [{**instance, "colour": 1.0}]}))
    assert_invalid(
        response, "instances.0.colour", f"Unknown field; the features are: {', '.join(FEATURES)}."
    )


def test_one_bad_record_fails_the_whole_batch(
    client: FlaskClient, instance: dict[str, float]
) -> None:
    records = [instance, instance, instance, {**instance, FIRST: "oops"}, instance]
    response = post(client, json.dumps({"instances": records}))
    assert_invalid(response, f"instances.3.{FIRST}", "Must be a JSON number.")
    assert "predictions" not in response.get_json()


def test_every_bad_field_is_reported(client: FlaskClient, instance: dict[str, float]) -> None:
    records = [{**instance, FIRST: "x"}, instance, {name: "y" for name in FEATURES}]
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


def test_unknown_top_level_key(client: FlaskClient, instance: dict[str, float]) -> None:
    response = post(client, json.dumps({"instances": [instance], "model": "other"}))
    assert_invalid(response, "model", "Unknown field.")


def test_batch_over_the_limit_is_refused_before_validation(
    make_app: Callable[..., Flask], instance: dict[str, float]
) -> None:
    client = make_app(MAX_BATCH_SIZE="3").test_client()
    # The records are invalid too: the size check comes first and alone.
    response = post(client, json.dumps({"instances": [{"x": 1}] * 4}))
    assert_invalid(
        response, "instances", "Send at most 3 instances per request (MAX_BATCH_SIZE); got 4."
    )
    assert list(response.get_json()["error"]["fields"]) == ["instances"]
    assert post(client, json.dumps({"instances": [instance] * 3})).status_code == 200
