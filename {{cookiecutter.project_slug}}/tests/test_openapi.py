"""/openapi.json is built from the schemas that validate; /docs shows it."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.model.features import (
    CATEGORICAL,
    FEATURE_TYPES,
    FEATURES,
)
from {{ cookiecutter.package_name }}.model.schemas import InstanceSchema
from {{ cookiecutter.package_name }}.service import dialects
from {{ cookiecutter.package_name }}.store.registry import ModelStore


def test_document_lists_every_endpoint(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/v1/predict",
        "/v1/feedback",
        "/v1/model",
        "/v1/monitoring",
        "/livez",
        "/readyz",
        "/metrics",
    }
    responses = document["paths"]["/v1/predict"]["post"]["responses"]
    assert {"200", "400", "413", "415", "422", "503"} <= set(responses)


def test_every_route_is_in_the_document_from_its_own_declaration(client: FlaskClient) -> None:
    """A route added without ``@operation`` under it is missing from /openapi.json: caught here.

    The standard protocols' routes are specified by their standards, not by this document."""
    document = client.get("/openapi.json").get_json()
    pages = {"/docs", "/openapi.json"}  # the document and its viewer are not the API
    registered = dialects.of_app(client.application)
    routes = {
        (rule.rule, method.lower())
        for rule in client.application.url_map.iter_rules()
        if rule.rule not in pages
        and not rule.rule.startswith("/static")
        and registered.of_request(rule.endpoint.rpartition(".")[0] or None, rule.rule)
        is dialects.NATIVE
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path.replace("{", "<").replace("}", ">"), method)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert documented == routes


def test_the_document_states_every_limit(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    for name, kind in FEATURE_TYPES.items():
        field = schemas["Instance"]["properties"][name]
        if kind == "float":
            assert (field["minimum"], field["maximum"]) == (-1e100, 1e100)
        if kind == "int":  # exact, as whole numbers
            assert (field["minimum"], field["maximum"]) == (-(10**100), 10**100)
        if kind == "category":
            assert (field["minLength"], field["maxLength"]) == (1, 200)
    assert schemas["Instance"]["additionalProperties"] is False
    assert schemas["PredictRequest"]["properties"]["instances"]["maxItems"] == 1000
    assert schemas["FeedbackItem"]["properties"]["id"]["maxLength"] == 200
    body = document["paths"]["/v1/predict"]["post"]["requestBody"]
    assert "at most 1048576 bytes" in body["description"]


def test_instance_schema_is_the_feature_list(client: FlaskClient, store: ModelStore) -> None:
    instance = client.get("/openapi.json").get_json()["components"]["schemas"]["Instance"]
    assert list(instance["properties"]) == list(FEATURES)
    assert sorted(instance["required"]) == sorted(FEATURES)
    assert tuple(InstanceSchema().fields) == FEATURES
    # Each category's values are the served version's: its training data's.
    for name in CATEGORICAL:
        values = store.metadata(1)["reference"][name]["values"]
        assert instance["properties"][name]["enum"] == sorted(values)
    types = {"float": "number", "int": "integer", "bool": "boolean", "category": "string"}
    assert {name: prop.get("type") for name, prop in instance["properties"].items()} == {
        name: types[kind] for name, kind in FEATURE_TYPES.items()
    }


def test_batch_limit_comes_from_the_setting(make_app: Callable[..., Flask]) -> None:
    document = make_app(MAX_BATCH_SIZE="7").test_client().get("/openapi.json").get_json()
    instances = document["components"]["schemas"]["PredictRequest"]["properties"]["instances"]
    assert (instances["minItems"], instances["maxItems"]) == (1, 7)
    feedback = document["components"]["schemas"]["FeedbackRequest"]["properties"]["feedback"]
    assert (feedback["minItems"], feedback["maxItems"]) == (1, 7)


def test_docs_page(client: FlaskClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert 'url: "openapi.json"' in response.get_data(as_text=True)
