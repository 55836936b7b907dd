"""Properties of the request-schema layer, over inputs hypothesis makes up: every valid record
is accepted as sent, every wrong value is a 422 naming its path, and no body at all (any JSON,
any bytes) gets a 5xx or an answer larger than the cap."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.model.features import FEATURE_TYPES, FEATURES
from {{ cookiecutter.package_name }}.service.feature_values import (
    MAX_CATEGORY_LENGTH,
    MAX_MAGNITUDE,
)
from {{ cookiecutter.package_name }}.service.schemas import PredictRequestSchema
from {{ cookiecutter.package_name }}.store.registry import ModelStore

#: An error answer is at most this large, whatever the body (50 problems and a message).
MAX_ANSWER_BYTES = 16 * 1024
# One app for every example: hypothesis runs a test many times, a fixture's app once.
EXAMPLES = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

NUMBERS = st.floats(-MAX_MAGNITUDE, MAX_MAGNITUDE, allow_nan=False, allow_infinity=False)
WHOLE = st.integers(-(2**63), 2**63)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | NUMBERS | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


def valid_values(categories: dict[str, list[str]]) -> dict[str, st.SearchStrategy[Any]]:
    """A strategy of valid values for each feature, by its type."""
    by_type = {"float": NUMBERS | WHOLE, "int": WHOLE, "bool": st.booleans()}
    return {
        name: st.sampled_from(categories[name]) if kind == "category" else by_type[kind]
        for name, kind in FEATURE_TYPES.items()
    }


def wrong_value(kind: str) -> st.SearchStrategy[Any]:
    """Values no feature of this type takes."""
    strings = st.text(max_size=10)
    if kind == "category":  # a non-string, or a string too long to be any category
        return st.integers() | st.booleans() | st.none() | st.text(min_size=MAX_CATEGORY_LENGTH + 1)
    if kind == "bool":
        return strings | st.integers() | st.none()
    wrong = strings | st.booleans() | st.none() | st.lists(NUMBERS, max_size=2)
    if kind == "int":
        wrong |= st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x))
    return wrong


@pytest.fixture(scope="module")
def schema() -> PredictRequestSchema:
    return PredictRequestSchema(max_batch_size=1000)


@pytest.fixture
def categories(store: ModelStore) -> dict[str, list[str]]:
    reference = store.metadata(1)["reference"]
    return {
        name: sorted(reference[name]["values"]) for name in FEATURES if "values" in reference[name]
    }


@pytest.fixture
def records(categories: dict[str, list[str]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(valid_values(categories))


def test_every_valid_record_is_accepted_as_sent(
    schema: PredictRequestSchema, records: st.SearchStrategy[dict[str, Any]]
) -> None:
    @EXAMPLES
    @given(st.lists(records, min_size=1, max_size=5))
    def check(batch: list[dict[str, Any]]) -> None:
        loaded = schema.load({"instances": batch})["instances"]
        # A float feature takes a JSON integer too, as the float it is to the model.
        as_typed = [
            {name: float(v) if FEATURE_TYPES[name] == "float" else v for name, v in record.items()}
            for record in batch
        ]
        assert loaded == as_typed

    check()


def test_every_wrong_value_is_a_422_naming_its_path(
    client: FlaskClient, records: st.SearchStrategy[dict[str, Any]]
) -> None:
    @EXAMPLES
    @given(records, st.sampled_from(FEATURES), st.data())
    def check(record: dict[str, Any], name: str, data: st.DataObject) -> None:
        record = {**record, name: data.draw(wrong_value(FEATURE_TYPES[name]))}
        response = client.post("/v1/predict", json={"instances": [record]})
        assert response.status_code == 422, response.get_data(as_text=True)
        assert list(response.get_json()["error"]["fields"]) == [f"instances.0.{name}"]

    check()


def test_no_json_body_gets_a_5xx_or_a_large_answer(client: FlaskClient) -> None:
    @EXAMPLES
    @given(JSON_VALUES | st.fixed_dictionaries({"instances": st.lists(JSON_VALUES, max_size=5)}))
    def check(body: Any) -> None:
        response = client.post(
            "/v1/predict", data=json.dumps(body), content_type="application/json"
        )
        assert response.status_code in (200, 400, 422), response.get_data(as_text=True)
        assert len(response.data) < MAX_ANSWER_BYTES or response.status_code == 200
        if response.status_code != 200:
            assert set(response.get_json()) == {"error", "request_id"}

    check()


def test_no_bytes_get_a_5xx(app: Flask) -> None:
    client = app.test_client()

    @EXAMPLES
    @given(st.binary(max_size=200))
    def check(body: bytes) -> None:
        for path in ("/v1/predict", "/v1/feedback"):
            response = client.post(path, data=body, content_type="application/json")
            assert response.status_code in (400, 422), (path, body, response.get_data(as_text=True))
            assert response.get_json()["error"]["code"]

    check()
