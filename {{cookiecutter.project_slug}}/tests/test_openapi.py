"""/openapi.json is built from the schemas that validate; /docs shows it with Swagger UI's
files served from here, so it works offline."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.model.features import (
    CATEGORICAL,
    FEATURE_TYPES,
    FEATURES,
)
from {{ cookiecutter.package_name }}.model.schemas import InstanceSchema
from {{ cookiecutter.package_name }}.service import dialects
from {{ cookiecutter.package_name }}.service.api import docs
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
    # The document and its viewer (the page and its files) are not the API.
    pages = {"/docs", "/docs/<name>", "/openapi.json"}
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


def test_the_record_s_example_is_one_the_served_version_scores(client: FlaskClient) -> None:
    """Swagger UI's "Try it out" body is built from it: it must be a valid record, not the
    fields' limits (a feature of 1e+100)."""
    instance = client.get("/openapi.json").get_json()["components"]["schemas"]["Instance"]
    example = instance["example"]
    assert list(example) == list(FEATURES)
    assert InstanceSchema().validate(example) == {}
    answer = client.post("/v1/predict", json={"instances": [example]})
    assert answer.status_code == 200, answer.get_json()


def test_batch_limit_comes_from_the_setting(make_app: Callable[..., Flask]) -> None:
    document = make_app(MAX_BATCH_SIZE="7").test_client().get("/openapi.json").get_json()
    instances = document["components"]["schemas"]["PredictRequest"]["properties"]["instances"]
    assert (instances["minItems"], instances["maxItems"]) == (1, 7)
    feedback = document["components"]["schemas"]["FeedbackRequest"]["properties"]["feedback"]
    assert (feedback["minItems"], feedback["maxItems"]) == (1, 7)


#: Every address the page refers to (stylesheet, icons, scripts, links).
REFERENCE = re.compile(r'(?:src|href)="([^"]*)"')
CONTENT_TYPES = {".css": "text/css", ".js": "text/javascript", ".png": "image/png"}


def page_references(client: FlaskClient) -> list[str]:
    """The paths the /docs page loads or links, resolved as a browser does."""
    page = client.get("/docs").get_data(as_text=True)
    return [urlsplit(urljoin("http://localhost/docs", ref)).path for ref in REFERENCE.findall(page)]


def test_docs_page(client: FlaskClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'url: "openapi.json"' in page
    assert "<title>__TITLE__" not in page


def test_the_docs_page_refers_only_to_this_service(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)
    assert "://" not in page  # no other origin, not even in a comment
    refs = REFERENCE.findall(page)
    assert refs
    for ref in refs:  # relative: the page works under any prefix a proxy serves it at
        assert (urlsplit(ref).scheme, urlsplit(ref).netloc) == ("", ""), ref
        assert not ref.startswith("/"), ref
    # Swagger UI's files, and the document (linked where it needs no key).
    loaded = set(page_references(client)) - {"/openapi.json"}
    assert loaded == {f"/docs/{name}" for name in docs.ASSETS}


@pytest.mark.parametrize("name", sorted(docs.ASSETS))
def test_each_docs_file_is_served_with_its_type_and_kept_a_day(
    client: FlaskClient, name: str
) -> None:
    response = client.get(f"/docs/{name}")
    assert response.status_code == 200
    assert response.mimetype == CONTENT_TYPES[name[name.rindex(".") :]]
    assert len(response.get_data()) > 100
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.cache_control.public
    assert response.cache_control.max_age == 86400
    etag = response.headers["ETag"]
    again = client.get(f"/docs/{name}", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_the_page_loads_swagger_ui_from_here(client: FlaskClient) -> None:
    bundle = client.get("/docs/swagger-ui-bundle.js").get_data(as_text=True)
    assert "SwaggerUIBundle" in bundle


@pytest.mark.parametrize(
    "path",
    [
        "/docs/",
        "/docs/index.html",
        "/docs/swagger-ui.js",  # in the folder, but not loaded by the page
        "/docs/oauth2-redirect.html",
        "/docs/LICENSE",
    ],
)
def test_any_other_docs_file_is_a_404_in_the_error_shape(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"]["code"] == "not_found"
    assert body["request_id"] == response.headers["X-Request-ID"]
